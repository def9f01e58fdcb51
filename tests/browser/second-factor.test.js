// Headless Chromium sets up an authenticator app (TOTP) in the built-in
// account UI of a real `bia serve --dev`, signs out, signs in with the
// password (aal1) and steps the session up to aal2 with a code; on a server
// where codes are a second factor, a code mailed to the account's address
// steps a new account's session up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startBia, launchChromium, codeFor } from './support.js';

let server;
let byCode;
let browser;
let base;

before(async () => {
  [server, byCode] = await Promise.all([
    startBia([
      'secrets: {cipher: ["0123456789abcdef0123456789abcdef"]}',
      'selfservice: {methods: {totp: {enabled: true, config: {issuer: "Bia browser tests"}}}}',
    ]),
    startBia([
      'session: {whoami: {required_aal: highest_available}}',
      'selfservice: {methods: {code: {mfa_enabled: true}}}',
    ]),
  ]);
  base = server.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.stop();
  byCode?.stop();
});

/** Decodes RFC 4648 base32 without padding. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (SHA-1, six digits, 30 s) of `secret` at `seconds`. */
function totp(secret, seconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[19] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function submit(page, fields, button) {
  for (const [name, value] of Object.entries(fields)) {
    await page.fill(`input[name="${name}"]`, value);
  }
  await Promise.all([page.waitForNavigation(), page.click(button)]);
}

test('enrol an authenticator app, sign in with the password, step up with a code', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `totp-${Date.now()}@example.test`;
  const password = 'a long enough passphrase';

  await page.goto(`${base}/ui/registration`);
  await submit(page, { 'traits.email': email, password }, 'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.match(await page.textContent('#aal'), /aal1/);

  await page.goto(`${base}/ui/settings`);
  assert.match(page.url(), /\/ui\/settings\?flow=/);
  const loaded = await page.$eval('#totp_qr', (img) => img.complete && img.naturalWidth > 0);
  assert.ok(loaded, 'the QR code image is shown');
  const secret = (await page.textContent('#totp_secret_key')).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await submit(page, { totp_code: '000000' === totp(secret, Date.now() / 1000) ? '111111' : '000000' },
    'button[name="method"][value="totp"]');
  assert.ok(await page.isVisible('[data-message-id="4000008"]'), 'a wrong code is refused');
  await submit(page, { totp_code: totp(secret, Date.now() / 1000) }, 'button[name="method"][value="totp"]');
  assert.ok(await page.isVisible('button[name="totp_unlink"]'), 'the app is linked');

  await page.goto(`${base}/ui/welcome`);
  await Promise.all([page.waitForNavigation(), page.click('#logout')]);
  await page.goto(`${base}/ui/login`);
  await submit(page, { identifier: email, password }, 'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  const whoami = await page.request.get(`${base}/sessions/whoami`);
  assert.equal(whoami.status(), 403);
  assert.equal((await whoami.json()).error.id, 'session_aal2_required');

  await Promise.all([page.waitForNavigation(), page.click('#step-up')]);
  assert.match(page.url(), /\/ui\/login\?flow=/);
  assert.equal(await page.isVisible('input[name="password"]'), false, 'only the second factor is asked');
  await submit(page, { totp_code: totp(secret, Date.now() / 1000 + 30) }, 'button[name="method"][value="totp"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.match(await page.textContent('#aal'), /aal2/);
  const stepped = await page.request.get(`${base}/sessions/whoami`);
  assert.equal(stepped.status(), 200);
  assert.equal((await stepped.json()).authenticator_assurance_level, 'aal2');
  await context.close();
});

test('a code mailed to the account steps a new session up', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `code-mfa-${Date.now()}@example.test`;

  await page.goto(`${byCode.base}/ui/registration`);
  await submit(page, { 'traits.email': email, password: 'a long enough passphrase' },
    'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  const whoami = await page.request.get(`${byCode.base}/sessions/whoami`);
  assert.equal(whoami.status(), 403, 'an address to send codes to is a second factor');

  await Promise.all([page.waitForNavigation(), page.click('#step-up')]);
  assert.match(page.url(), /\/ui\/login\?flow=/);
  const button = `button[name="address"][value="${email}"]`;
  assert.ok(await page.isVisible(button), 'the address is offered');
  await Promise.all([page.waitForNavigation(), page.click(button)]);
  assert.ok(await page.isVisible('input[name="code"]'), 'the code is asked for');
  const code = await codeFor(byCode, email, 'login_code_valid');
  await submit(page, { code: code === '000000' ? '111111' : '000000' }, 'button[name="method"][value="code"]');
  assert.ok(await page.isVisible('[data-message-id="4010008"]'), 'a wrong code is refused');
  await submit(page, { code }, 'button[name="method"][value="code"]');
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.match(await page.textContent('#aal'), /aal2/);
  await context.close();
});
