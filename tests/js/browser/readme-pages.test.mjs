// The WASM README's browser pages run as written, in headless Chromium, against the emulator.
// Its two ```html blocks (start.html, callback.html) are served unchanged from a loopback
// server together with the built package (/node_modules/@hoopauth/wasm/ → bindings-wasm/pkg,
// as the pages' import map expects) and the config.json they read (the README's example, with
// the emulator's values); the rest of the origin is the README's edge-worker block (its
// `fetch` handler in Node, configured by the documented HOOPAUTH_* variables with the redirect
// URI of callback.html), which answers the pages' POST /oauth/exchange and GET /contacts.
// Walked through as a user would: start page → "Connect" → the emulator's authorization page →
// callback page (state checked, code posted, tokens exchanged, one API call) → the text the
// page shows. Then a refused authorization and a forged state, each shown on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PKG } from './server.mjs';
import { launch, newPage } from './chromium.mjs';
import { codeBlocks } from './readme.mjs';

process.env.HOOPAUTH_JS_IMPL ||= 'bindings-wasm/pkg-node';
const { startEmulator } = await import('../helpers.mjs');

const README = 'bindings-wasm/README.md';
const html = codeBlocks(README, ['html']);
const pages = Object.fromEntries(html.filter((b) => !b.nocheck).map((b) => [/<!--\s*([\w-]+\.html)/.exec(b.code)?.[1], b]));
const [configBlock] = codeBlocks(README, ['json']);
const worker = codeBlocks(README, ['js']).find((b) => !b.nocheck && /^export default \{/m.test(b.code));

const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain' };
let emu; let browser; let server; let base; let project; let handler; let env; let config;
const log = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(PKG, 'index.mjs')), 'bindings-wasm/pkg is not built (bindings-wasm/build.sh)');
  emu = await startEmulator();
  // The worker block in a scratch project that has the package as a dependency.
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-pages-'));
  fs.writeFileSync(path.join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
  fs.mkdirSync(path.join(project, 'node_modules', '@hoopauth'), { recursive: true });
  fs.symlinkSync(PKG, path.join(project, 'node_modules', '@hoopauth', 'wasm'));
  fs.writeFileSync(path.join(project, 'worker.mjs'), worker.code);
  handler = (await import(pathToFileURL(path.join(project, 'worker.mjs')).href)).default;

  server = http.createServer(async (req, res) => {
    const url = new URL(req.url, base);
    const send = (status, type, body) => { res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body); };
    try {
      if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
      const page = pages[url.pathname.slice(1)];
      if (page) return send(200, 'text/html; charset=utf-8', page.code);
      if (url.pathname === '/config.json') return send(200, TYPES['.json'], JSON.stringify(config));
      const prefix = '/node_modules/@hoopauth/wasm/';
      if (url.pathname.startsWith(prefix)) {
        const file = path.resolve(PKG, decodeURIComponent(url.pathname.slice(prefix.length)));
        if (!file.startsWith(PKG + path.sep) || !fs.existsSync(file)) return send(404, 'text/plain', 'not found');
        return send(200, TYPES[path.extname(file)] ?? 'application/octet-stream', fs.readFileSync(file));
      }
      // Everything else: the README's worker, as the app's server.
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks);
      const r = await handler.fetch(new Request(url, { method: req.method, headers: req.headers, body }), env);
      res.writeHead(r.status, Object.fromEntries(r.headers));
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch (e) {
      log.push(`server: ${e.stack}`);
      send(500, 'text/plain', String(e));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  const redirectUri = `${base}/callback.html`;
  env = {
    HOOPAUTH_CLIENT_ID: emu.info.client_id,
    HOOPAUTH_CLIENT_SECRET: emu.info.client_secret,
    HOOPAUTH_REDIRECT_URI: redirectUri,
    HOOPAUTH_MARKETPLACE: emu.baseUrl,
    HOOPAUTH_API_BASE: emu.baseUrl,
  };
  // config.json: the README's example with this deployment's values (the same keys, no secret).
  const example = JSON.parse(configBlock.code);
  config = { clientId: emu.info.client_id, redirectUri, marketplace: emu.baseUrl };
  assert.deepEqual(Object.keys(config).sort(), Object.keys(example).sort(), 'config.json has the keys of the README example');
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await new Promise((r) => server.close(r));
  emu?.stop();
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

/** Open the start page and press "Connect" once it is ready (or fail with what the page says). */
async function connect(page) {
  await page.goto(`${base}/start.html`);
  await page.waitForFunction(() => !document.getElementById('connect').disabled || document.getElementById('status').textContent,
    null, { timeout: 15000 });
  const said = await page.evaluate(() => document.getElementById('status').textContent);
  assert.equal(said, '', `the start page did not get ready: ${said}\n${log.join('\n')}`);
  await page.click('#connect');
}

/** What the page says once it has finished (its #status text). */
async function outcome(page) {
  await page.waitForFunction(() => /^(Connected|Not connected)/.test(document.getElementById('status')?.textContent ?? ''),
    null, { timeout: 20000 });
  return page.evaluate(() => document.getElementById('status').textContent);
}

test('the README has the two browser pages, a config.json example and the worker they call', () => {
  assert.deepEqual(Object.keys(pages).sort(), ['callback.html', 'start.html'], `html blocks of ${README}`);
  for (const b of html.filter((x) => !x.nocheck)) assert.match(b.code, /^<!doctype html>/i, `${README}:${b.line} is a whole page`);
  assert.ok(configBlock, `no json block (config.json) in ${README}`);
  assert.ok(worker, `no worker block in ${README}`);
  for (const b of Object.values(pages)) {
    assert.doesNotMatch(b.code, /65f1c0ffee|myapp\.com|clientSecret/, `${README}:${b.line} hard-codes a setting or names the secret`);
  }
  assert.match(pages['start.html'].code, /fetch\('config\.json'\)/, 'the start page reads config.json');
});

test('start page → authorization → callback page → exchange → one API call, in Chromium', async () => {
  await emu.reset();
  const page = await newPage(browser, log);
  try {
    await connect(page);                         // "Connect" is enabled once init() and config.json are done
    const text = await outcome(page);
    const stats = await emu.stats();
    const n = (await (await handler.fetch(new Request(`${base}/contacts?location=loc_1`), env)).json()).contacts.length;
    assert.equal(text, `Connected loc_1: ${n} contacts`, `${text}\n${log.join('\n')}`);
    const u = new URL(page.url());
    assert.deepEqual([u.pathname, u.search], ['/callback.html', ''], 'the code left the address bar');
    assert.equal(stats.resources.loc_1.token_exchanges, 1);
    assert.deepEqual([stats.resources.loc_1.requests, stats.resources.loc_1.ok], [1, 1], 'one API call, answered 200');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hoopauth.state')), null, 'the state is used once');
    assert.deepEqual(log.filter((l) => !l.startsWith('console.warning')), [], log.join('\n'));
  } finally {
    await page.close();
  }
});

test('a refused authorization and a forged state: shown on the callback page, no exchange', async () => {
  await emu.reset();
  const page = await newPage(browser, log);
  try {
    await emu.control({ deny: true });
    await connect(page);
    assert.equal(await outcome(page), 'Not connected: authorization_denied', log.join('\n'));
    await emu.control({ deny: false });

    // An answer this tab did not ask for (a code injected with someone else's state).
    await page.evaluate(() => sessionStorage.setItem('hoopauth.state', 'the-state-this-tab-sent'));
    await page.goto(`${base}/callback.html?code=stolen&state=attacker-state`);
    assert.equal(await outcome(page), 'Not connected: state_mismatch');

    // A code the platform never issued, with the right state: the worker's kind is shown.
    await page.evaluate(() => sessionStorage.setItem('hoopauth.state', 'right-state'));
    await page.goto(`${base}/callback.html?code=never-issued&state=right-state`);
    assert.equal(await outcome(page), 'Not connected: invalid_grant');
    const stats = await emu.stats();
    assert.equal(stats.totals.token_exchanges, 0);
  } finally {
    await page.close();
  }
});
