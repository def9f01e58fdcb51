// Headless Chromium signs up and in through a real OpenID Connect provider
// (npm oidc-provider, tests/oidc-provider/provider.mjs, which signs in the
// account the test chose) on the built-in account UI of `bia serve --dev`,
// and a password user links the provider in settings and then signs in
// either way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { startBia, launchChromium, freePort } from './support.js';

const providerScript = resolve(import.meta.dirname, '..', 'oidc-provider', 'provider.mjs');
const clientSecret = 'bia-browser-client-secret-0123456789';
const mapper = `local claims = std.extVar('claims');
{ identity: { traits: { email: claims.email } } }`;

let server;
let browser;
let idp;
let issuer;

/** Starts the provider on `port`, redirecting to `callback`; resolves to its issuer. */
function startProvider(port, callback) {
  const options = {
    port,
    clients: [{ client_id: 'bia', client_secret: clientSecret, redirect_uris: [callback] }],
  };
  idp = spawn('node', [providerScript, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    idp.once('exit', (code) => fail(new Error(`the provider exited with ${code}`)));
    createInterface({ input: idp.stdout }).once('line', (line) => done(JSON.parse(line).issuer));
  });
}

before(async () => {
  const providerPort = await freePort();
  const expectedIssuer = `http://127.0.0.1:${providerPort}`;
  server = await startBia([
    'secrets: {cipher: ["browser-suite-cipher-secret-0123"]}',
    'selfservice:',
    '  methods:',
    '    oidc:',
    '      enabled: true',
    '      config:',
    '        providers:',
    '          - id: idp',
    '            provider: generic',
    '            label: Test Provider',
    '            client_id: bia',
    `            client_secret: ${clientSecret}`,
    `            issuer_url: ${expectedIssuer}`,
    `            mapper_url: base64://${Buffer.from(mapper).toString('base64')}`,
    '            scope: [email, profile]',
  ]);
  issuer = await startProvider(providerPort, `${server.base}/self-service/methods/oidc/callback/idp`);
  assert.equal(issuer, expectedIssuer);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.stop();
  idp?.kill();
});

/** The account the provider signs in next. */
async function chooseAccount(sub, email) {
  const res = await fetch(`${issuer}/_test/next-account`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, claims: { email, email_verified: true } }),
  });
  assert.equal(res.status, 204);
}

/** Waits for the built-in page `pattern` matches; says where the browser is otherwise. */
async function landOn(page, pattern) {
  try {
    await page.waitForURL(pattern, { timeout: 15000 });
  } catch (error) {
    throw new Error(`expected ${pattern}, the browser is at ${page.url()}: ${(await page.textContent('body')).slice(0, 500)}`);
  }
}

async function click(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function whoami(page) {
  const res = await page.request.get(`${server.base}/sessions/whoami`);
  return res.status() === 200 ? res.json() : null;
}

async function signOut(page) {
  await page.goto(`${server.base}/ui/welcome`);
  await click(page, '#logout');
  assert.equal(await whoami(page), null);
}

async function signInWithProvider(page) {
  await page.goto(`${server.base}/ui/login`);
  await click(page, 'button[name="provider"][value="idp"]');
  await landOn(page, /\/ui\/welcome$/);
  return whoami(page);
}

test('a new user signs up through the provider, signs out and in again', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `social-${Date.now()}@example.test`;
  await chooseAccount(`sub-${Date.now()}`, email);

  await page.goto(`${server.base}/ui/registration`);
  assert.ok(await page.isVisible('button[name="provider"][value="idp"]'), 'the provider button is shown');
  await click(page, 'button[name="provider"][value="idp"]');
  await landOn(page, /\/ui\/welcome$/);
  const first = await whoami(page);
  assert.equal(first.identity.traits.email, email);
  assert.deepEqual(first.authentication_methods.map((m) => m.method), ['oidc']);

  await signOut(page);
  const again = await signInWithProvider(page);
  assert.equal(again.identity.id, first.identity.id);
  assert.notEqual(again.id, first.id);
  await context.close();
});

test('a password user links the provider in settings and signs in either way', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `linker-${Date.now()}@example.test`;
  const password = 'a long enough passphrase';

  await page.goto(`${server.base}/ui/registration`);
  await page.fill('input[name="traits.email"]', email);
  await page.fill('input[name="password"]', password);
  await click(page, 'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  const owner = (await whoami(page)).identity.id;

  // The provider account carries another address: linking is explicit.
  await chooseAccount(`linked-${Date.now()}`, `elsewhere-${Date.now()}@example.test`);
  await page.goto(`${server.base}/ui/settings`);
  assert.equal(await page.isVisible('button[name="unlink"][value="idp"]'), false);
  await click(page, 'button[name="link"][value="idp"]');
  await landOn(page, /\/ui\/settings\?flow=/);
  assert.ok(await page.isVisible('[data-message-id="1050001"]'), 'the saved message is shown');
  assert.ok(await page.isVisible('button[name="unlink"][value="idp"]'), 'the unlink button is shown');

  await signOut(page);
  assert.equal((await signInWithProvider(page)).identity.id, owner);

  await signOut(page);
  await page.goto(`${server.base}/ui/login`);
  await page.fill('input[name="identifier"]', email);
  await page.fill('input[name="password"]', password);
  await click(page, 'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.equal((await whoami(page)).identity.id, owner);
  await context.close();
});
