// Headless Chromium signs up, checks its session, changes its password,
// signs out and signs in again through the built-in account UI of a real
// `bia serve --dev` on SQLite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBia, launchChromium } from './support.js';

let server;
let browser;
let base;

before(async () => {
  server = await startBia();
  base = server.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function submitForm(page, fields, method) {
  for (const [name, value] of Object.entries(fields)) {
    await page.fill(`input[name="${name}"]`, value);
  }
  await Promise.all([
    page.waitForNavigation(),
    page.click(`button[name="method"][value="${method}"]`),
  ]);
}

test('sign up, see the session, change the password, sign out and in again', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `ada-${Date.now()}@example.test`;

  await page.goto(`${base}/ui/registration`);
  assert.match(page.url(), /\/ui\/registration\?flow=/);
  await submitForm(page, { 'traits.email': email, password: 'a long enough passphrase' }, 'password');
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.match(await page.textContent('#traits'), new RegExp(email));

  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'ory_kratos_session');
  assert.ok(session, 'the session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.ok(!session.value.includes('ory_st_'), 'the cookie holds no clear token');
  const whoami = await page.request.get(`${base}/sessions/whoami`);
  assert.equal(whoami.status(), 200);
  assert.equal((await whoami.json()).identity.traits.email, email);

  await page.goto(`${base}/ui/settings`);
  assert.match(page.url(), /\/ui\/settings\?flow=/);
  await page.fill('input[name="password"]', 'short');
  await Promise.all([page.waitForNavigation(), page.click('button[name="method"][value="password"]')]);
  assert.match(page.url(), /\/ui\/settings\?flow=/);
  assert.ok(await page.isVisible('[data-message-id="4000032"]'), 'the policy message is shown');
  await submitForm(page, { password: 'a brand new passphrase' }, 'password');
  // As with Kratos, the browser stays on the settings page, which says so.
  assert.match(page.url(), /\/ui\/settings\?flow=/);
  assert.ok(await page.isVisible('[data-message-id="1050001"]'), 'the saved message is shown');

  await page.goto(`${base}/ui/welcome`);
  await Promise.all([page.waitForNavigation(), page.click('#logout')]);
  assert.match(await page.textContent('body'), /not signed in/);
  assert.equal((await page.request.get(`${base}/sessions/whoami`)).status(), 401);

  await page.goto(`${base}/ui/login`);
  await submitForm(page, { identifier: email, password: 'a long enough passphrase' }, 'password');
  assert.match(page.url(), /\/ui\/login\?flow=/);
  assert.ok(await page.isVisible('[data-message-id="4000006"]'), 'the old password is refused');
  await submitForm(page, { identifier: email, password: 'a brand new passphrase' }, 'password');
  assert.match(page.url(), /\/ui\/welcome$/);
  assert.equal((await page.request.get(`${base}/sessions/whoami`)).status(), 200);
  await context.close();
});

test('a form posted from another browser is refused and shown on the error page', async () => {
  const first = await browser.newContext();
  const page = await first.newPage();
  await page.goto(`${base}/ui/registration`);
  const action = await page.getAttribute('form', 'action');
  const other = await browser.newContext();
  const response = await other.request.post(action, {
    form: { method: 'password', 'traits.email': 'mallory@example.test', password: 'a long enough passphrase' },
    maxRedirects: 0,
  });
  assert.equal(response.status(), 303);
  const errorPage = await other.newPage();
  await errorPage.goto(response.headers().location);
  assert.equal(await errorPage.getAttribute('[data-error-id]', 'data-error-id'), 'security_csrf_violation');
  await first.close();
  await other.close();
});

test('built-in pages carry security headers and still work under them', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto(`${base}/ui/login`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.match(headers['content-security-policy'], /default-src 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'same-origin');
  // The inline style applies: the body is centred with a maximum width.
  const maxWidth = await page.evaluate(() => getComputedStyle(document.body).maxWidth);
  assert.notEqual(maxWidth, 'none');
  assert.deepEqual(violations, []);
  await context.close();
});
