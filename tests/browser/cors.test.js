// Real cross-origin fetches from pages served on other loopback ports: Chromium
// lets a page read Bia's answers only when `serve.public.cors` allows its origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startBia, launchChromium, freePort } from './support.js';

let bia;
let browser;
const pages = [];

/** Serves an empty page on a fresh port; resolves to its origin. */
async function pageOrigin() {
  const port = await freePort();
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title>');
  });
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  pages.push(server);
  return `http://127.0.0.1:${port}`;
}

let allowed;
let refused;

before(async () => {
  allowed = await pageOrigin();
  refused = await pageOrigin();
  bia = await startBia([
    '    cors:',
    '      enabled: true',
    `      allowed_origins: ["${allowed}"]`,
  ]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  bia?.stop();
  for (const server of pages) server.close();
});

/** Runs fetch in a page of `origin` and reports what the page could see. */
async function fetchFrom(origin, url, init) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(origin);
  const seen = await page.evaluate(async ([url, init]) => {
    try {
      const res = await fetch(url, init);
      return { status: res.status, body: await res.json() };
    } catch (error) {
      return { error: String(error) };
    }
  }, [url, init]);
  await context.close();
  return seen;
}

test('an allowed origin reads answers, with credentials and a preflighted header', async () => {
  const simple = await fetchFrom(allowed, `${bia.base}/sessions/whoami`, { credentials: 'include' });
  assert.equal(simple.status, 401, JSON.stringify(simple));
  assert.equal(simple.body.error.id, 'session_inactive');

  const preflighted = await fetchFrom(allowed, `${bia.base}/sessions/whoami`, {
    headers: { 'X-Session-Token': 'ory_st_not_a_real_token' },
  });
  assert.equal(preflighted.status, 401, JSON.stringify(preflighted));

  const flow = await fetchFrom(allowed, `${bia.base}/self-service/login/browser`, {
    credentials: 'include',
    headers: { Accept: 'application/json' },
  });
  assert.equal(flow.status, 200, JSON.stringify(flow));
  assert.equal(flow.body.type, 'browser');
});

test('another origin cannot read the answers', async () => {
  const simple = await fetchFrom(refused, `${bia.base}/sessions/whoami`, { credentials: 'include' });
  assert.match(simple.error ?? '', /Failed to fetch/, JSON.stringify(simple));
  const preflighted = await fetchFrom(refused, `${bia.base}/sessions/whoami`, {
    headers: { 'X-Session-Token': 'ory_st_not_a_real_token' },
  });
  assert.match(preflighted.error ?? '', /Failed to fetch/, JSON.stringify(preflighted));
});
