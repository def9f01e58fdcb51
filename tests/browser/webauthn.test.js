// Headless Chromium with a virtual authenticator (DevTools WebAuthn domain)
// through the built-in account UI of a real `bia serve --dev`: a security
// key added in settings steps a password session up to aal2; a passkey
// alone signs up and signs in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBia, launchChromium } from './support.js';

let server;
let browser;
let base;

before(async () => {
  server = await startBia([
    'selfservice:',
    '  methods:',
    '    webauthn: {enabled: true, config: {rp: {id: localhost, display_name: "Bia browser tests"}}}',
    '    passkey: {enabled: true, config: {rp: {id: localhost, display_name: "Bia browser tests"}}}',
  ], { host: 'localhost' });
  base = server.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** A page whose browser has a virtual authenticator of `options`. */
async function pageWithAuthenticator(options) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('dialog', (d) => { errors.push(new Error(d.message())); d.dismiss(); });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  return { context, page, cdp, authenticatorId, errors };
}

async function submit(page, fields, button) {
  for (const [name, value] of Object.entries(fields)) {
    await page.fill(`input[name="${name}"]`, value);
  }
  await Promise.all([page.waitForNavigation(), page.click(button)]);
}

test('a security key added in settings steps a password session up', async () => {
  const { context, page, cdp, authenticatorId, errors } = await pageWithAuthenticator({
    transport: 'usb',
    hasResidentKey: false,
  });
  const email = `key-${Date.now()}@example.test`;
  const password = 'a long enough passphrase';

  await page.goto(`${base}/ui/registration`);
  await submit(page, { 'traits.email': email, password }, 'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/welcome$/);

  await page.goto(`${base}/ui/settings`);
  await page.waitForFunction(() => typeof window.oryWebAuthnRegistration === 'function');
  await page.fill('input[name="webauthn_register_displayname"]', 'My key');
  await Promise.all([page.waitForNavigation(), page.click('button[name="webauthn_register_trigger"]')]);
  assert.deepEqual(errors, []);
  assert.ok(await page.isVisible('[data-message-id="1050001"]'), 'the key is saved');
  assert.match(await page.textContent('button[name="webauthn_remove"]'), /Remove security key "My key"/);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);

  await page.goto(`${base}/ui/welcome`);
  await Promise.all([page.waitForNavigation(), page.click('#logout')]);
  await page.goto(`${base}/ui/login`);
  await submit(page, { identifier: email, password }, 'button[name="method"][value="password"]');
  const whoami = await page.request.get(`${base}/sessions/whoami`);
  assert.equal(whoami.status(), 403);

  await Promise.all([page.waitForNavigation(), page.click('#step-up')]);
  assert.match(page.url(), /\/ui\/login\?flow=/);
  await page.waitForFunction(() => typeof window.oryWebAuthnLogin === 'function');
  await Promise.all([page.waitForNavigation(), page.click('button[name="webauthn_login_trigger"]')]);
  assert.deepEqual(errors, []);
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.match(await page.textContent('#aal'), /aal2/);
  const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  assert.ok(after[0].signCount >= 2, 'the key signed twice');
  await context.close();
});

test('a passkey alone signs up and signs in', async () => {
  const { context, page, cdp, authenticatorId, errors } = await pageWithAuthenticator({
    transport: 'internal',
    hasResidentKey: true,
  });
  const email = `passkey-${Date.now()}@example.test`;

  await page.goto(`${base}/ui/registration`);
  await page.waitForFunction(() => typeof window.oryPasskeyRegistration === 'function');
  await page.fill('input[name="traits.email"]', email);
  await Promise.all([page.waitForNavigation(), page.click('button[name="passkey_register_trigger"]')]);
  assert.deepEqual(errors, []);
  assert.match(page.url(), /\/ui\/welcome$/);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true);
  assert.equal(credentials[0].userName, email);

  // Autofill: the login page asks for a passkey with conditional mediation
  // as soon as it is shown; the browser's authenticator answers at once.
  await Promise.all([page.waitForNavigation(), page.click('#logout')]);
  await Promise.all([
    page.waitForURL(/\/ui\/welcome$/),
    page.goto(`${base}/ui/login`),
  ]);
  assert.deepEqual(errors, []);

  // The button: with the autofill request left waiting (no user presence),
  // a click asks for a passkey in a dialog instead.
  await Promise.all([page.waitForNavigation(), page.click('#logout')]);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.goto(`${base}/ui/login`);
  await page.waitForFunction(() => typeof window.oryPasskeyLogin === 'function');
  assert.equal(await page.getAttribute('input[name="identifier"]', 'autocomplete'), 'username webauthn');
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  await Promise.all([page.waitForURL(/\/ui\/welcome$/), page.click('button[name="passkey_login_trigger"]')]);
  assert.deepEqual(errors, []);
  const whoami = await page.request.get(`${base}/sessions/whoami`);
  assert.equal(whoami.status(), 200);
  const session = await whoami.json();
  assert.equal(session.identity.traits.email, email);
  assert.equal(session.authentication_methods[0].method, 'passkey');
  await context.close();
});
