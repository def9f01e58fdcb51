// Headless Chromium signs up in two steps (`selfservice.flows.registration.style:
// profile_first`) through the built-in account UI of a real `bia serve --dev`
// on SQLite: the traits first, then the password, with a way back to the
// traits in between; the finished registration signs the browser in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBia, launchChromium } from './support.js';

let server;
let browser;
let base;

before(async () => {
  server = await startBia([
    'selfservice:',
    '  flows:',
    '    registration:',
    '      style: profile_first',
  ]);
  base = server.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Clicks the submit button `name`=`value` and waits for the next page. */
async function press(page, name, value) {
  await Promise.all([page.waitForNavigation(), page.click(`button[name="${name}"][value="${value}"]`)]);
}

test('traits first, back to them, then the password signs the browser in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `grace-${Date.now()}@example.test`;

  // Step one asks for the traits only.
  await page.goto(`${base}/ui/registration`);
  assert.match(page.url(), /\/ui\/registration\?flow=/);
  const flow = new URL(page.url()).searchParams.get('flow');
  assert.equal(await page.locator('input[name="password"]').count(), 0, 'no password yet');
  assert.equal(await page.getAttribute('input[name="traits.email"]', 'type'), 'email');

  // Traits that do not fit the schema keep the browser on step one, saying why
  // (the browser's own check of the email field is switched off to get there).
  await page.evaluate(() => document.querySelectorAll('form').forEach((f) => { f.noValidate = true; }));
  await page.fill('input[name="traits.email"]', 'not an address');
  await press(page, 'method', 'profile');
  assert.equal(new URL(page.url()).searchParams.get('flow'), flow);
  assert.equal(await page.locator('input[name="password"]').count(), 0);
  assert.ok(await page.locator('[data-message-id]').count() > 0, 'the problem is shown');

  // Step two: the traits travel hidden, the password is asked for.
  await page.fill('input[name="traits.email"]', email);
  await press(page, 'method', 'profile');
  assert.equal(new URL(page.url()).searchParams.get('flow'), flow);
  assert.equal(await page.getAttribute('input[name="traits.email"]', 'type'), 'hidden');
  assert.equal(await page.getAttribute('input[name="traits.email"]', 'value'), email);
  assert.ok(await page.isVisible('input[name="password"]'));

  // Back (`screen=previous`): step one again, the traits filled in.
  await press(page, 'screen', 'previous');
  assert.equal(await page.locator('input[name="password"]').count(), 0);
  assert.equal(await page.getAttribute('input[name="traits.email"]', 'type'), 'email');
  assert.equal(await page.inputValue('input[name="traits.email"]'), email);

  // Forward again; a hidden trait changed by hand does not replace the checked one.
  await press(page, 'method', 'profile');
  await page.evaluate(() => {
    document.querySelector('input[name="traits.email"]').value = 'mallory@example.test';
  });
  await page.fill('input[name="password"]', 'a long enough passphrase');
  await press(page, 'method', 'password');
  assert.match(page.url(), /\/ui\/welcome$/);
  const whoami = await page.request.get(`${base}/sessions/whoami`);
  assert.equal(whoami.status(), 200);
  assert.equal((await whoami.json()).identity.traits.email, email);
  const cookies = await context.cookies();
  assert.ok(cookies.some((c) => c.name === 'ory_kratos_session'), 'the browser is signed in');
  await context.close();
});
