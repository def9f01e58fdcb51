// A hostile OpenID Connect provider for tests: each client id chooses one way
// to misbehave. It serves discovery, keys, an authorization endpoint that
// sends the browser straight back with a code, and a token endpoint that
// answers what the mode says.
//
//   node hostile.mjs     prints {"issuer": "http://127.0.0.1:<port>"}
//
// Modes (the client_id): honest, wrong-aud, wrong-iss, wrong-nonce, expired,
// other-key (signed by a key not in the JWKS), alg-none, hs256 (signed with
// the client id as an HMAC secret), no-id-token, token-500,
// token-not-json, provider-error (the authorization answers `error`).
// A discovery document that is not JSON is served under /broken as issuer.
// Under /tenants, a multi-tenant issuer as Microsoft's: discovery names
// `<issuer>/tenants/{tenantid}/v2.0`; tokens carry a `tid` and, in mode
// tenant-honest, that tenant's issuer, in mode tenant-other another one's.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const { publicKey, privateKey } = await generateKeyPair('RS256');
const other = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const pending = new Map();
const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function unsigned(claims) {
  const part = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

async function idToken(issuer, mode, nonce, sub) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub,
    email: `${sub}@hostile.example`,
    email_verified: true,
    nonce: mode === 'wrong-nonce' ? 'not-the-nonce' : nonce,
  };
  let iss = mode === 'wrong-iss' ? 'https://someone-else.example' : issuer;
  if (mode.startsWith('tenant-')) {
    claims.tid = TENANT;
    iss = `${issuer}/tenants/${mode === 'tenant-other' ? 'f8cdef31-a31e-4b4a-93e4-5f571e91255a' : TENANT}/v2.0`;
  }
  if (mode === 'alg-none') return unsigned({ ...claims, iss: issuer, aud: mode, iat: now, exp: now + 300 });
  let key = privateKey;
  let header = { alg: 'RS256', kid: 'k1' };
  if (mode === 'other-key') key = other.privateKey;
  if (mode === 'hs256') {
    key = new TextEncoder().encode('hs256-hs256-hs256-hs256-hs256-hs256');
    header = { alg: 'HS256', kid: 'k1' };
  }
  return new SignJWT(claims)
    .setProtectedHeader(header)
    .setIssuer(iss)
    .setAudience(mode === 'wrong-aud' ? 'another-client' : mode)
    .setIssuedAt(mode === 'expired' ? now - 7200 : now)
    .setExpirationTime(mode === 'expired' ? now - 3600 : now + 300)
    .sign(key);
}

function form(req) {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => resolve(new URLSearchParams(text)));
  });
}

const server = http.createServer(async (req, res) => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const url = new URL(req.url, issuer);
  if (url.pathname === '/broken/.well-known/openid-configuration') {
    return send(res, 200, '{"issuer": ', 'application/json');
  }
  if (url.pathname === '/.well-known/openid-configuration' || url.pathname === '/tenants/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer: url.pathname.startsWith('/tenants/') ? `${issuer}/tenants/{tenantid}/v2.0` : issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      code_challenge_methods_supported: ['S256'],
    });
  }
  if (url.pathname === '/jwks') return send(res, 200, { keys: [jwk] });
  if (url.pathname === '/auth') {
    const mode = url.searchParams.get('client_id');
    const back = new URL(url.searchParams.get('redirect_uri'));
    back.searchParams.set('state', url.searchParams.get('state'));
    if (mode === 'provider-error') {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user said no.\r\nInjected: yes');
    } else {
      const code = randomUUID();
      pending.set(code, { mode, nonce: url.searchParams.get('nonce'), sub: url.searchParams.get('login_hint') || 'hostile-user' });
      back.searchParams.set('code', code);
    }
    res.writeHead(303, { location: back.toString() });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    const params = await form(req);
    const entry = pending.get(params.get('code'));
    pending.delete(params.get('code'));
    if (!entry) return send(res, 400, { error: 'invalid_grant' });
    if (entry.mode === 'token-500') return send(res, 500, { error: 'server_error' });
    if (entry.mode === 'token-not-json') return send(res, 200, '<html>not json</html>', 'text/html');
    const answer = { access_token: 'at', token_type: 'Bearer' };
    if (entry.mode !== 'no-id-token') answer.id_token = await idToken(issuer, entry.mode, entry.nonce, entry.sub);
    return send(res, 200, answer);
  }
  send(res, 404, { error: 'not_found' });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ issuer: `http://127.0.0.1:${port}` })}\n`);
});
