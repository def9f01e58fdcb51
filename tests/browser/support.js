// Shared fixtures of the browser suite: free ports, a real `bia serve --dev`
// on SQLite with a config of the test's choosing, and headless Chromium.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const bin = process.env.BIA_BIN ?? join(target, 'debug', 'bia');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A TCP port on loopback that nothing listens on right now. */
export function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

async function waitReady(url, log) {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready at ${url}\n${log()}`);
}

/**
 * Starts `bia serve --dev` on SQLite in a temporary folder. `extra` holds more
 * YAML lines appended to the config, right after the `serve.public` keys: indent
 * them by four spaces to add public listener keys, or by none for top-level keys.
 * `publicBaseUrl` is the public URL browsers see when another server fronts
 * Bia (its own address by default); `host` is the host name browsers use for
 * Bia's own address (`localhost` for WebAuthn, which refuses IP addresses as
 * relying party ids). Resolves to `{ base, admin, stop }`, `base` being Bia's
 * own public address.
 */
export async function startBia(extra = [], { publicBaseUrl, host = '127.0.0.1' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bia-browser-'));
  copyFileSync(join(root, 'config', 'identity.schema.json'), join(dir, 'identity.schema.json'));
  const [publicPort, adminPort] = [await freePort(), await freePort()];
  const base = `http://${host}:${publicPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  writeFileSync(
    join(dir, 'bia.yaml'),
    [
      `dsn: sqlite://${join(dir, 'bia.sqlite')}?mode=rwc`,
      'identity:',
      '  default_schema_id: default',
      '  schemas:',
      `    - {id: default, url: "file://${join(dir, 'identity.schema.json')}"}`,
      'hashers: {algorithm: bcrypt, bcrypt: {cost: 4}}',
      'serve:',
      `  admin: {port: ${adminPort}, base_url: "${admin}/"}`,
      '  public:',
      `    port: ${publicPort}`,
      `    base_url: "${publicBaseUrl ?? base}/"`,
      ...extra,
      '',
    ].join('\n'),
  );
  let log = '';
  const server = spawn(bin, ['serve', '--dev', '-c', join(dir, 'bia.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { log += d; });
  server.stderr.on('data', (d) => { log += d; });
  await waitReady(`http://127.0.0.1:${publicPort}/health/ready`, () => log);
  return { base, admin, stop: () => server.kill('SIGTERM') };
}

/** Headless Chromium from Debian's package. */
export function launchChromium() {
  return chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
}

/** The messages of `template` to `recipient`, oldest first, once there are `count`. */
export async function messages(server, recipient, template, count = 1) {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${server.admin}/admin/courier/messages?recipient=${encodeURIComponent(recipient)}`);
    assert.equal(res.status, 200);
    const found = (await res.json()).filter((m) => m.template_type === template);
    if (found.length >= count) return found.sort((a, b) => a.created_at.localeCompare(b.created_at));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${count} ${template} messages to ${recipient}`);
}

/** The six-digit code in the newest of at least `count` such messages. */
export async function codeFor(server, recipient, template, count = 1) {
  const all = await messages(server, recipient, template, count);
  const code = all.at(-1).body.match(/(?<!\d)\d{6}(?!\d)/);
  assert.ok(code, `no code in ${all.at(-1).body}`);
  return code[0];
}
