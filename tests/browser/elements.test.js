// Ory's own clients against a real `bia serve --dev`: headless Chromium signs
// up, in, through settings and out, and recovers an account by code, on pages
// built from Ory Elements React (`@ory/elements-react` with
// `@ory/client-fetch`), and the axios-based
// `@ory/client` SDK works with a base URL that ends in a slash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Configuration, FrontendApi } from '@ory/client';
import { startBia, launchChromium } from './support.js';
import { buildApp, serveApp } from './elements/server.js';

let app;
let bia;
let browser;

before(async () => {
  app = await serveApp(await buildApp());
  const ui = app.origin;
  bia = await startBia(
    [
      'selfservice:',
      `  default_browser_return_url: "${ui}/welcome"`,
      `  allowed_return_urls: ["${ui}/"]`,
      '  flows:',
      `    login: {ui_url: "${ui}/login"}`,
      `    registration: {ui_url: "${ui}/registration"}`,
      `    settings: {ui_url: "${ui}/settings"}`,
      `    recovery: {enabled: true, ui_url: "${ui}/recovery"}`,
      `    error: {ui_url: "${ui}/error"}`,
    ],
    { publicBaseUrl: ui },
  );
  app.proxyTo(bia.base);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  bia?.stop();
  await app?.close();
});

/**
 * Runs `body` on a page of a fresh browser context. A failure lists the
 * answers of 400 and above and the page errors seen on the way.
 */
async function inPage(body) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const seen = [];
  page.on('response', (res) => {
    if (res.status() >= 400) seen.push(`${res.request().method()} ${res.url()} -> ${res.status()}`);
  });
  page.on('pageerror', (error) => seen.push(`page error: ${error.message}`));
  try {
    await body(page);
  } catch (error) {
    error.message += `\nseen on the way:\n${seen.join('\n')}`;
    throw error;
  } finally {
    await context.close();
  }
}

async function fill(page, fields) {
  for (const [name, value] of Object.entries(fields)) {
    await page.locator(`input[name="${name}"]`).fill(value);
  }
}

test('Ory Elements signs up, in, through settings and out', () => inPage(async (page) => {
  const email = `grace-${Date.now()}@example.test`;
  const welcome = `${app.origin}/welcome`;

  await page.goto(`${app.origin}/registration`);
  await page.waitForURL(/\/registration\?flow=/);
  await fill(page, { 'traits.email': email, password: 'a long enough passphrase' });
  await page.locator('button[type="submit"][value="password"]').click();
  await page.waitForURL(welcome);
  await page.locator('#signed-in').getByText(email).waitFor();

  await page.goto(`${app.origin}/settings`);
  await page.waitForURL(/\/settings\?flow=/);
  const password = page.locator('form').filter({ has: page.locator('input[name="password"]') });
  await password.locator('input[name="password"]').fill('a brand new passphrase');
  await password.locator('button[type="submit"]').click();
  const saved = page.getByTestId('ory/message/1050001');
  await saved.waitFor();
  assert.match(await saved.textContent(), /Your changes have been saved!/);

  await page.getByTitle('User Menu').first().click();
  await page.getByRole('menuitem', { name: 'Logout' }).click();
  await page.waitForURL(welcome);
  await page.locator('#signed-out').waitFor();
  assert.equal((await page.request.get(`${app.origin}/sessions/whoami`)).status(), 401);

  await page.goto(`${app.origin}/login`);
  await page.waitForURL(/\/login\?flow=/);
  await fill(page, { identifier: email, password: 'a long enough passphrase' });
  await page.locator('button[type="submit"][value="password"]').click();
  await page.getByTestId('ory/message/4000006').waitFor();
  await fill(page, { password: 'a brand new passphrase' });
  await page.locator('button[type="submit"][value="password"]').click();
  await page.waitForURL(welcome);
  await page.locator('#signed-in').getByText(email).waitFor();
}));

// Labels and redirects as Kratos sends them: Elements renders trait labels
// from the label's context, and follows `continue_with` after a JSON answer.

test('trait fields are labelled with their schema titles', () => inPage(async (page) => {
  await page.goto(`${app.origin}/registration`);
  await page.waitForURL(/\/registration\?flow=/);
  const label = (name) => page.getByTestId(`ory/form/node/input/label/${name}`).textContent();
  assert.equal(await label('traits.email'), 'E-Mail');
  assert.equal(await label('traits.name.first'), 'First name');
}));

test('a sign-up started with return_to ends there', () => inPage(async (page) => {
  const returnTo = `${app.origin}/settings`;
  await page.goto(`${app.origin}/self-service/registration/browser?return_to=${encodeURIComponent(returnTo)}`);
  await page.waitForURL(/\/registration\?flow=/);
  await fill(page, { 'traits.email': `ada-${Date.now()}@example.test`, password: 'a long enough passphrase' });
  await page.locator('button[type="submit"][value="password"]').click();
  await page.waitForURL(/\/(settings|welcome)/);
  assert.match(page.url(), /\/settings/);
}));

test('a refused request is shown on the Ory Elements error page', () => inPage(async (page) => {
  await page.goto(`${app.origin}/self-service/login/browser?return_to=https://elsewhere.example/`);
  await page.waitForURL(/\/error\?id=/);
  await page.getByTestId('ory/screen/error').waitFor();
  const reason = await page.getByTestId('ory/screen/error/message').textContent();
  assert.match(reason, /return_to/i);
}));

test('the JS SDK works with a base URL that ends in a slash', async () => {
  const frontend = new FrontendApi(new Configuration({ basePath: `${bia.base}/` }));
  const email = `alan-${Date.now()}@example.test`;
  /** The SDK asked for `//path`; the redirect it followed led to `/path`. */
  const redirected = (res, path) => {
    assert.equal(res.config.url.split('?')[0], `${bia.base}//${path}`);
    assert.equal(res.request.res.responseUrl.split('?')[0], `${bia.base}/${path}`);
  };

  const created = await frontend.createNativeRegistrationFlow();
  redirected(created, 'self-service/registration/api');
  assert.equal(created.data.type, 'api');

  const submitted = await frontend.updateRegistrationFlow({
    flow: created.data.id,
    updateRegistrationFlowBody: { method: 'password', password: 'a long enough passphrase', traits: { email } },
  });
  redirected(submitted, 'self-service/registration');
  assert.match(submitted.data.session_token, /^ory_st_/);

  const whoami = await frontend.toSession({ xSessionToken: submitted.data.session_token });
  redirected(whoami, 'sessions/whoami');
  assert.equal(whoami.data.identity.traits.email, email);
  assert.equal(whoami.data.active, true);
});

test('Ory Elements recovers an account by code and lands on settings', () => inPage(async (page) => {
  const email = `lovelace-${Date.now()}@example.test`;
  const created = await fetch(`${bia.admin}/admin/identities`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      schema_id: 'default',
      traits: { email },
      credentials: { password: { config: { password: 'the old long passphrase' } } },
    }),
  });
  assert.equal(created.status, 201);
  const { id } = await created.json();

  await page.goto(`${app.origin}/recovery`);
  await page.waitForURL(/\/recovery\?flow=/);
  await fill(page, { email });
  await page.locator('button[type="submit"][value="code"]').click();
  await page.locator('input[name="code"]').waitFor();

  let code;
  for (let i = 0; i < 100 && !code; i++) {
    const res = await fetch(`${bia.admin}/admin/courier/messages?recipient=${encodeURIComponent(email)}`);
    code = (await res.json()).find((m) => m.template_type === 'recovery_code_valid')?.body.match(/(?<!\d)\d{6}(?!\d)/)?.[0];
    if (!code) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(code, 'a recovery code was queued');
  await fill(page, { code });
  await page.locator('button[type="submit"][name="method"][value="code"]').click();
  await page.waitForURL(/\/settings\?flow=/);
  await page.getByText(/You successfully recovered your account/).waitFor();
  const whoami = await page.request.get(`${app.origin}/sessions/whoami`);
  assert.equal(whoami.status(), 200);
  assert.equal((await whoami.json()).identity.id, id);
}));
