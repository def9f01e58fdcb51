// A stand-in for the plain OAuth 2.0 providers Bia signs in with (GitHub,
// Discord, Slack, Facebook): their authorization, token and user API
// endpoints, each under its own prefix and with the paths the real
// provider has, answering in each provider's shape.
//
//   node standin.mjs '{"client_secret": "..."}'
//
// prints {"issuer": "http://127.0.0.1:<port>"}; a Bia provider points at it
// with `api_base_url: <issuer>/<github|discord|slack|facebook>`.
//
// The authorization endpoint sends the browser straight back with a code
// for the account a test chose with `POST /_test/next-account` ({"id",
// "login", "name", "email", "verified"}); `GET /_test/last-authorization`
// shows the query of the last authorization request.
//
// The client id chooses a behaviour:
//   honest          answers as the real provider does
//   token-error     the token endpoint answers 200 {"error": ...} (GitHub's way)
//   token-not-ok    Slack's token answer {"ok": false, ...}
//   scope-denied    the token grants only the first requested scope
//   api-500         the user API answers 500
//   api-not-json    the user API answers 200 with a body that is not JSON
//   api-slow        the user API answers after 15 seconds
//   api-huge        the user API answers 1 MiB of JSON
//   not-ok          Slack's users.identity answers {"ok": false, ...}
//   unverified      GitHub's primary address is not verified

import http from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';

const options = JSON.parse(process.argv[2] || '{}');
const secret = options.client_secret || '';
const codes = new Map();
const tokens = new Map();
let nextAccount = { id: 1, login: 'someone', name: 'Some One', email: 'someone@standin.example', verified: true };
let lastAuthorization = {};

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function body(req) {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => resolve(text));
  });
}

const AUTHORIZE = {
  '/github/login/oauth/authorize': 'github',
  '/discord/api/oauth2/authorize': 'discord',
  '/slack/oauth/authorize': 'slack',
  '/facebook/dialog/oauth': 'facebook',
};
const TOKEN = {
  '/github/login/oauth/access_token': 'github',
  '/discord/api/oauth2/token': 'discord',
  '/slack/api/oauth.access': 'slack',
  '/facebook/oauth/access_token': 'facebook',
};

function authorize(res, url, kind) {
  lastAuthorization = Object.fromEntries(url.searchParams);
  const back = new URL(url.searchParams.get('redirect_uri'));
  const code = randomUUID();
  const scopes = (url.searchParams.get('scope') || '').split(' ').filter(Boolean);
  codes.set(code, {
    kind, mode: url.searchParams.get('client_id'), scopes,
    redirect: url.searchParams.get('redirect_uri'), account: nextAccount,
  });
  back.searchParams.set('code', code);
  back.searchParams.set('state', url.searchParams.get('state'));
  res.writeHead(302, { location: back.toString() });
  res.end();
}

// The token answer as each provider gives it.
async function token(req, res, kind) {
  const params = new URLSearchParams(await body(req));
  const entry = codes.get(params.get('code'));
  codes.delete(params.get('code'));
  const clientOk = entry && params.get('client_id') === entry.mode && params.get('client_secret') === secret
    && params.get('redirect_uri') === entry.redirect;
  if (!clientOk) {
    if (kind === 'slack') return send(res, 200, { ok: false, error: 'invalid_code' });
    if (kind === 'github') return send(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
    return send(res, 400, { error: 'invalid_grant' });
  }
  if (entry.mode === 'token-error') return send(res, 200, { error: 'bad_verification_code' });
  if (entry.mode === 'token-not-ok') return send(res, 200, { ok: false, error: 'invalid_client_id' });
  const accessToken = randomUUID();
  tokens.set(accessToken, entry);
  const granted = entry.mode === 'scope-denied' ? entry.scopes.slice(0, 1) : entry.scopes;
  if (kind === 'github') {
    // GitHub answers a form unless asked for JSON.
    const answer = { access_token: accessToken, token_type: 'bearer', scope: granted.join(',') };
    if (!(req.headers.accept || '').includes('application/json')) {
      return send(res, 200, new URLSearchParams(answer).toString(), 'application/x-www-form-urlencoded');
    }
    return send(res, 200, answer);
  }
  if (kind === 'discord') {
    return send(res, 200, {
      access_token: accessToken, token_type: 'Bearer', expires_in: 604800,
      refresh_token: randomUUID(), scope: granted.join(' '),
    });
  }
  if (kind === 'slack') {
    return send(res, 200, { ok: true, access_token: accessToken, scope: granted.join(','), team_id: 'T0001' });
  }
  return send(res, 200, { access_token: accessToken, token_type: 'bearer', expires_in: 5183944 });
}

// The user API, in each provider's shape.
async function api(req, res, url) {
  const bearer = (req.headers.authorization || '').replace(/^Bearer /i, '');
  const entry = tokens.get(bearer);
  if (!entry) return send(res, 401, { message: 'Bad credentials' });
  const { kind, mode, account } = entry;
  if (mode === 'api-500') return send(res, 500, { message: 'Server Error' });
  if (mode === 'api-not-json') return send(res, 200, '{"id": 1, "login": ', 'application/json');
  if (mode === 'api-slow') await new Promise((r) => { setTimeout(r, 15000); });
  if (mode === 'api-huge') return send(res, 200, { id: account.id, padding: 'x'.repeat(1 << 20) });
  const path = url.pathname;
  if (kind === 'github' && path === '/github/user') {
    return send(res, 200, {
      login: account.login, id: account.id, node_id: 'MDQ6VXNlcjE=',
      avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
      html_url: `https://github.com/${account.login}`, name: account.name, blog: 'https://blog.example',
      email: null, updated_at: '2024-05-01T10:00:00Z',
    });
  }
  if (kind === 'github' && path === '/github/user/emails') {
    return send(res, 200, [
      { email: `old-${account.email}`, primary: false, verified: true, visibility: null },
      { email: account.email, primary: true, verified: mode !== 'unverified' && account.verified, visibility: 'private' },
    ]);
  }
  if (kind === 'discord' && path === '/discord/api/users/@me') {
    return send(res, 200, {
      id: String(account.id), username: account.login, discriminator: '0', global_name: account.name,
      avatar: 'a1b2c3', email: account.email, verified: account.verified, locale: 'en-US',
    });
  }
  if (kind === 'slack' && path === '/slack/api/users.identity') {
    if (mode === 'not-ok') return send(res, 200, { ok: false, error: 'invalid_auth' });
    return send(res, 200, {
      ok: true,
      user: { name: account.name, id: `U${account.id}`, email: account.email, image_512: 'https://slack.example/512.png' },
      team: { id: 'T0001' },
    });
  }
  if (kind === 'facebook' && path === '/facebook/me') {
    const proof = createHmac('sha256', secret).update(bearer).digest('hex');
    if (url.searchParams.get('appsecret_proof') !== proof) {
      return send(res, 400, { error: { message: 'Invalid appsecret_proof provided in the API argument', type: 'GraphMethodException', code: 100 } });
    }
    const [first, ...rest] = account.name.split(' ');
    return send(res, 200, {
      id: String(account.id), name: account.name, first_name: first, last_name: rest.join(' '),
      email: account.email, picture: { data: { url: 'https://facebook.example/pic.jpg' } },
    });
  }
  return send(res, 404, { message: 'Not Found' });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'POST' && url.pathname === '/_test/next-account') {
    nextAccount = JSON.parse((await body(req)) || '{}');
    return res.writeHead(204).end();
  }
  if (url.pathname === '/_test/last-authorization') return send(res, 200, lastAuthorization);
  if (req.method === 'GET' && AUTHORIZE[url.pathname]) return authorize(res, url, AUTHORIZE[url.pathname]);
  if (req.method === 'POST' && TOKEN[url.pathname]) return token(req, res, TOKEN[url.pathname]);
  if (req.method === 'GET') return api(req, res, url);
  return send(res, 405, { message: 'Method Not Allowed' });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ issuer: `http://127.0.0.1:${port}` })}\n`);
});
