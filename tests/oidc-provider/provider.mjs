// A real OpenID Connect provider (npm oidc-provider) on loopback for tests.
//
//   node provider.mjs '{"clients": [{"client_id": ..., "client_secret": ..., "redirect_uris": [...]}]}'
//
// Listens on 127.0.0.1 on `options.port` (a free port when absent) and prints one JSON line,
// {"issuer": "http://127.0.0.1:<port>"}, once it serves. Sign-ins need no
// person: every interaction is accepted at once for the account a test chose
// with `POST /_test/next-account` ({"sub": ..., "claims": {...}}), and
// consent grants what the client asked for. `options.storeSize` raises the number of
// artifacts (sessions, interactions, grants, codes) the provider keeps in memory from
// oidc-provider's 1000, for benchmarks that prepare many codes before using them.
//
// `options.signed_secrets` ({client_id: {team_id, key_id, private_key, client_secret}})
// makes clients authenticate as Apple's do: the posted client_secret must be
// an ES256 JWT signed with that key (iss = team id, sub = client id,
// aud = https://appleid.apple.com, kid = key id), and stands for `client_secret`.

import http from 'node:http';
import { createPublicKey } from 'node:crypto';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import { jwtVerify } from 'jose';

const options = JSON.parse(process.argv[2] || '{}');
const accounts = new Map();
let nextAccount = null;

function readText(req) {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (chunk) => { text += chunk; });
    req.on('end', () => resolve(text));
  });
}

async function readJson(req) {
  return JSON.parse((await readText(req)) || '{}');
}

// Checks an Apple-style signed client secret; the token request goes on
// with the client's registered secret in its place, or is refused.
async function checkSignedSecret(req, res) {
  const params = Object.fromEntries(new URLSearchParams(await readText(req)));
  const signer = (options.signed_secrets || {})[params.client_id];
  if (signer) {
    try {
      const { protectedHeader } = await jwtVerify(params.client_secret || '', createPublicKey(signer.private_key), {
        algorithms: ['ES256'],
        issuer: signer.team_id,
        audience: 'https://appleid.apple.com',
        subject: params.client_id,
        maxTokenAge: '10m',
      });
      if (protectedHeader.kid !== signer.key_id) throw new Error('the kid is not the key id');
      params.client_secret = signer.client_secret;
    } catch (error) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client', error_description: String(error.message) }));
      return false;
    }
  }
  req.body = params;
  return true;
}

const server = http.createServer();
server.listen(options.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const store = options.storeSize ? new LRU({ maxSize: options.storeSize }) : undefined;
  const provider = new Provider(issuer, {
    ...(store ? { adapter: (model) => new MemoryAdapter(model, store) } : {}),
    clients: options.clients || [],
    // The tests' cookies travel over plain HTTP.
    cookies: { keys: ['bia-test-provider-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'groups'],
    },
    // Scope claims go into the ID token too (the mapper reads them there).
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
    },
    pkce: { required: () => false },
    async findAccount(ctx, id) {
      const claims = accounts.get(id);
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
  });
  provider.proxy = false;

  // Every interaction is accepted at once.
  provider.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (details.prompt.name === 'login') {
      if (!nextAccount) {
        result = { error: 'access_denied', error_description: 'no account chosen by the test' };
      } else {
        result = { login: { accountId: nextAccount } };
      }
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    }
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  });

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (req.method === 'POST' && req.url === '/_test/next-account') {
      const body = await readJson(req);
      accounts.set(body.sub, body.claims || {});
      nextAccount = body.sub || null;
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/token' && options.signed_secrets) {
      if (!(await checkSignedSecret(req, res))) return;
    }
    callback(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
