// Headless Chromium recovers an account and verifies an address through the
// built-in account UI of a real `bia serve --dev` on SQLite: codes and links
// are read back from the courier admin API, as an operator would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBia, launchChromium, messages, codeFor } from './support.js';

const OLD_PASSWORD = 'the old long passphrase';
const NEW_PASSWORD = 'a brand new long passphrase';

let byCode;
let byLink;
let browser;

before(async () => {
  [byCode, byLink] = await Promise.all([
    startBia([
      'selfservice:',
      '  flows:',
      '    recovery: {enabled: true}',
      '    verification: {enabled: true}',
      '    registration:',
      '      after:',
      '        password:',
      '          hooks: [{hook: session}, {hook: show_verification_ui}]',
    ]),
    startBia([
      'selfservice:',
      '  flows:',
      '    recovery: {enabled: true, use: link}',
      '  methods:',
      '    link: {enabled: true}',
    ]),
  ]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  byCode?.stop();
  byLink?.stop();
});

async function createIdentity(server, email) {
  const res = await fetch(`${server.admin}/admin/identities`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      schema_id: 'default',
      traits: { email },
      credentials: { password: { config: { password: OLD_PASSWORD } } },
    }),
  });
  const body = await res.text();
  assert.equal(res.status, 201, body);
  return JSON.parse(body).id;
}

async function click(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function shown(page, id) {
  return page.isVisible(`[data-message-id="${id}"]`);
}

async function signIn(context, base, email, password) {
  const page = await context.newPage();
  await page.goto(`${base}/ui/login`);
  await page.fill('input[name="identifier"]', email);
  await page.fill('input[name="password"]', password);
  await click(page, 'button[name="method"][value="password"]');
  return page;
}

test('a person recovers by code from the login page, sets a new password and signs in with it', async () => {
  const { base } = byCode;
  const email = `forgot-${Date.now()}@example.test`;
  const id = await createIdentity(byCode, email);
  const context = await browser.newContext();
  const page = await context.newPage();

  await page.goto(`${base}/ui/login`);
  await click(page, 'text=Forgot your password?');
  assert.match(page.url(), /\/ui\/recovery\?flow=/);
  const recoveryUrl = page.url();
  await page.fill('input[name="email"]', email);
  await click(page, 'button[name="method"][value="code"]');
  assert.match(page.url(), /\/ui\/recovery\?flow=/);
  assert.ok(await shown(page, 1060003), 'the sent message is shown');
  assert.ok(await page.isVisible('input[name="code"]'), 'the code field is shown');

  const code = await codeFor(byCode, email, 'recovery_code_valid');
  await page.fill('input[name="code"]', code === '000000' ? '111111' : '000000');
  await click(page, 'button[name="method"][value="code"]');
  assert.match(page.url(), /\/ui\/recovery\?flow=/);
  assert.ok(await shown(page, 4060006), 'the wrong code is refused');
  assert.equal((await page.request.get(`${base}/sessions/whoami`)).status(), 401);

  // The form the person submits (kept to replay it later).
  const action = await page.getAttribute('form', 'action');
  const csrf = await page.getAttribute('input[name="csrf_token"]', 'value');
  await page.fill('input[name="code"]', code);
  await click(page, 'button[name="method"][value="code"]');
  assert.match(page.url(), /\/ui\/settings\?flow=/);
  assert.ok(await shown(page, 1060001), 'the recovered message is shown');
  const whoami = await (await page.request.get(`${base}/sessions/whoami`)).json();
  assert.equal(whoami.identity.id, id);
  assert.equal(whoami.authentication_methods[0].method, 'code_recovery');

  await page.fill('input[name="password"]', NEW_PASSWORD);
  await click(page, 'button[name="method"][value="password"]');
  assert.ok(await shown(page, 1050001), 'the saved message is shown');

  // Replayed, even from the same browser, the code completes nothing again.
  const replay = await page.request.post(action, {
    form: { csrf_token: csrf, method: 'code', code },
    maxRedirects: 0,
  });
  assert.equal(replay.status(), 303);
  const replayPage = await context.newPage();
  await replayPage.goto(replay.headers().location);
  assert.equal(replayPage.url(), recoveryUrl);
  assert.ok(await shown(replayPage, 4060001), 'the replay is refused');

  const fresh = await browser.newContext();
  const refused = await signIn(fresh, base, email, OLD_PASSWORD);
  assert.ok(await shown(refused, 4000006), 'the old password no longer works');
  const welcome = await signIn(fresh, base, email, NEW_PASSWORD);
  assert.match(welcome.url(), /\/ui\/welcome$/);
  await fresh.close();
  await context.close();
});

test('an unknown address looks like a known one, and CRLF in the address is refused', async () => {
  const { base } = byCode;
  const context = await browser.newContext();
  const page = await context.newPage();
  const ghost = `ghost-${Date.now()}@example.test`;
  await page.goto(`${base}/ui/recovery`);
  await page.fill('input[name="email"]', ghost);
  await click(page, 'button[name="method"][value="code"]');
  assert.ok(await shown(page, 1060003), 'the same sent message');
  assert.ok(await page.isVisible('input[name="code"]'));

  // A hand-made post with a header injection in the address.
  await page.goto(`${base}/ui/recovery`);
  const action = await page.getAttribute('form', 'action');
  const csrf = await page.getAttribute('input[name="csrf_token"]', 'value');
  const victim = `victim-${Date.now()}@example.test`;
  await createIdentity(byCode, victim);
  const res = await page.request.post(action, {
    form: { csrf_token: csrf, method: 'code', email: `${victim}\r\nBcc: all@example.test` },
    maxRedirects: 0,
  });
  assert.equal(res.status(), 303);
  await page.goto(res.headers().location);
  assert.ok(await shown(page, 4000001), 'the address is refused');
  await new Promise((r) => setTimeout(r, 300));
  for (const recipient of [ghost, victim, 'all@example.test']) {
    const listed = await fetch(`${byCode.admin}/admin/courier/messages?recipient=${encodeURIComponent(recipient)}`);
    assert.deepEqual(await listed.json(), [], `nothing queued for ${recipient}`);
  }
  await context.close();
});

test('a person registers, enters the verification code and continues', async () => {
  const { base } = byCode;
  const email = `new-${Date.now()}@example.test`;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/ui/registration`);
  await page.fill('input[name="traits.email"]', email);
  await page.fill('input[name="password"]', OLD_PASSWORD);
  await click(page, 'button[name="method"][value="password"]');
  assert.match(page.url(), /\/ui\/verification\?flow=/);
  assert.ok(await page.isVisible('input[name="code"]'), 'the code field is shown');

  const code = await codeFor(byCode, email, 'verification_code_valid');
  await page.fill('input[name="code"]', code === '000000' ? '111111' : '000000');
  await click(page, 'button[name="method"][value="code"]');
  assert.ok(await shown(page, 4070006), 'the wrong code is refused');

  await page.fill('input[name="code"]', code);
  await click(page, 'button[name="method"][value="code"]');
  assert.match(page.url(), /\/ui\/verification\?flow=/);
  assert.ok(await shown(page, 1080002), 'the success message is shown');
  const next = await page.getAttribute('a#continue', 'href');
  assert.ok(next, 'a Continue link is shown');
  assert.equal((await page.textContent('a#continue')).trim(), 'Continue');

  const whoami = await (await page.request.get(`${base}/sessions/whoami`)).json();
  const res = await fetch(`${byCode.admin}/admin/identities/${whoami.identity.id}`);
  const address = (await res.json()).verifiable_addresses[0];
  assert.equal(address.value, email);
  assert.equal(address.verified, true);
  assert.equal(address.status, 'completed');

  await click(page, 'a#continue');
  assert.equal(page.url(), next);
  await context.close();
});

test('a person recovers by a link opened in the browser', async () => {
  const { base } = byLink;
  const email = `linked-${Date.now()}@example.test`;
  const id = await createIdentity(byLink, email);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/ui/login`);
  await click(page, 'text=Forgot your password?');
  await page.fill('input[name="email"]', email);
  await click(page, 'button[name="method"][value="link"]');
  assert.match(page.url(), /\/ui\/recovery\?flow=/);
  assert.ok(await shown(page, 1060002), 'the link-sent message is shown');

  const [message] = await messages(byLink, email, 'recovery_valid');
  const link = message.body.match(/https?:\/\/\S*token=\S+/)?.[0];
  assert.ok(link, `no link in ${message.body}`);
  assert.ok(link.startsWith(`${base}/self-service/recovery?flow=`), link);

  // A tampered link recovers nothing.
  const other = await browser.newContext();
  const tampered = await other.newPage();
  await tampered.goto(`${link}x`);
  assert.match(tampered.url(), /\/ui\/recovery\?flow=/);
  assert.equal((await tampered.request.get(`${base}/sessions/whoami`)).status(), 401);
  await other.close();

  // Opened as from a mail client in the same browser: signed in, on settings.
  const mail = await context.newPage();
  await mail.goto(link);
  assert.match(mail.url(), /\/ui\/settings\?flow=/);
  assert.ok(await shown(mail, 1060001), 'the recovered message is shown');
  const whoami = await (await mail.request.get(`${base}/sessions/whoami`)).json();
  assert.equal(whoami.identity.id, id);
  assert.equal(whoami.authentication_methods[0].method, 'link_recovery');
  await mail.fill('input[name="password"]', NEW_PASSWORD);
  await click(mail, 'button[name="method"][value="password"]');
  assert.ok(await shown(mail, 1050001), 'the saved message is shown');

  // The link works once.
  const late = await browser.newContext();
  const again = await late.newPage();
  await again.goto(link);
  assert.doesNotMatch(again.url(), /\/ui\/settings/);
  assert.equal((await again.request.get(`${base}/sessions/whoami`)).status(), 401);
  await late.close();

  const fresh = await browser.newContext();
  const welcome = await signIn(fresh, base, email, NEW_PASSWORD);
  assert.match(welcome.url(), /\/ui\/welcome$/);
  await fresh.close();
  await context.close();
});
