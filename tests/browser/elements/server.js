// Builds the Ory Elements app (app.jsx) with esbuild from node_modules and
// serves it the way Ory's Next.js integration runs Elements: the app's own
// origin answers its pages and forwards every other path (`/self-service/...`,
// `/sessions/...`) to the identity server, so the browser sees one origin,
// cookies are first-party and no CORS is involved. Bia's
// `serve.public.base_url` is this origin, as behind any reverse proxy.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support.js';

/** The pages the app renders; every other path belongs to the API. */
export const PAGES = ['/login', '/registration', '/settings', '/recovery', '/error', '/welcome'];

/** Bundles app.jsx into a fresh folder; resolves to its `{ js, css }` texts. */
export async function buildApp() {
  const outdir = mkdtempSync(join(tmpdir(), 'bia-elements-'));
  await build({
    entryPoints: [join(import.meta.dirname, 'app.jsx')],
    bundle: true,
    outdir,
    entryNames: 'app',
    format: 'esm',
    jsx: 'automatic',
    minify: true,
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'error',
  });
  return {
    js: readFileSync(join(outdir, 'app.js')),
    css: readFileSync(join(outdir, 'app.css')),
  };
}

const shell = [
  '<!doctype html>',
  '<html lang="en"><head><meta charset="utf-8">',
  '<meta name="viewport" content="width=device-width, initial-scale=1">',
  '<title>Account</title><link rel="stylesheet" href="/app.css"></head>',
  '<body><div id="root"></div><script type="module" src="/app.js"></script></body></html>',
].join('');

/** Forwards a request to `api` as it came, and its answer back as it came. */
function forward(api, req, res) {
  const { hostname, port, host } = new URL(api);
  const upstream = request(
    { hostname, port, path: req.url, method: req.method, headers: { ...req.headers, host } },
    (answer) => {
      res.writeHead(answer.statusCode, answer.rawHeaders);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`upstream: ${error.message}`);
  });
  req.pipe(upstream);
}

/**
 * Serves the built app on a free loopback port. Resolves to `{ origin, proxyTo,
 * close }`; call `proxyTo(url)` with Bia's public URL once it runs (Bia's
 * config needs this origin first).
 */
export async function serveApp({ js, css }) {
  let api;
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://app').pathname;
    if (path === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=600' });
      res.end(js);
    } else if (path === '/app.css') {
      res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'max-age=600' });
      res.end(css);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (PAGES.includes(path)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(shell);
    } else if (api) {
      forward(api, req, res);
    } else {
      res.writeHead(503).end();
    }
  });
  const port = await freePort();
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  return {
    origin: `http://127.0.0.1:${port}`,
    proxyTo: (url) => { api = url; },
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
  };
}
