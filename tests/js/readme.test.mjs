// The READMEs' JavaScript runs as written: every ```js block of the README of the package
// under test (bindings-node/README.md for the addon, bindings-wasm/README.md for WASM; the
// root README's js blocks with the addon) is written to a scratch project that has the package
// as a dependency (node_modules/@hoopauth/<name> → the built package) and run with `node`,
// configured only through the documented environment variables (HOOPAUTH_CLIENT_ID, _SECRET,
// _REDIRECT_URI, _MARKETPLACE, _API_BASE, _WEBHOOK_KEY) pointing at the emulator. Blocks that
// are not meant to run carry the info string `js nocheck`. (The WASM README's ```html pages run in
// headless Chromium: tests/js/browser/readme-pages.test.mjs.)
// The server quickstart (node:http) is started and walked through as a user would: install
// through the emulator's consent page (two locations picked there), the callback, contacts of
// the installed locations, an emulator-signed UNINSTALL webhook accepted, a forged one refused,
// contacts again (the uninstalled location gone). A worker-style block (`export default {
// fetch }`) is imported and walked through the same way with Requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, IMPL_DIR, startEmulator } from './helpers.mjs';
import { codeBlocks } from './browser/readme.mjs';

const WASM = path.relative(ROOT, IMPL_DIR).startsWith('bindings-wasm');
const PKG_NAME = WASM ? '@hoopauth/wasm' : '@hoopauth/node';
const PKG_DIR = path.join(ROOT, WASM ? 'bindings-wasm/pkg' : 'bindings-node');
const READMES = WASM ? ['bindings-wasm/README.md'] : ['bindings-node/README.md', 'README.md'];

/** The ```js blocks of a Markdown file: [{ info, code, line }] (all js-like, nocheck included). */
export const jsBlocks = (file) => codeBlocks(file, ['js', 'javascript', 'mjs', 'cjs']);

const blocks = READMES.flatMap(jsBlocks);
const runnable = blocks.filter((b) => !b.nocheck);
const isServer = (b) => /\bcreateServer\(/.test(b.code);
const isWorker = (b) => /^export default \{/m.test(b.code);

let emu;
let project;
before(async () => {
  emu = await startEmulator();
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-readme-'));
  fs.writeFileSync(path.join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
  fs.mkdirSync(path.join(project, 'node_modules', '@hoopauth'), { recursive: true });
  fs.symlinkSync(PKG_DIR, path.join(project, 'node_modules', PKG_NAME));
  // Third-party packages a block imports (the user installs them): those of the dev tree.
  const ioredis = path.join(ROOT, 'bindings-node', 'node_modules', 'ioredis');
  if (fs.existsSync(ioredis)) fs.symlinkSync(ioredis, path.join(project, 'node_modules', 'ioredis'));
  // The official npm SDK and axios (the axios adapter's section): those the bench installs.
  fs.mkdirSync(path.join(project, 'node_modules', '@gohighlevel'), { recursive: true });
  for (const dep of ['@gohighlevel/api-client', 'axios']) {
    const dir = path.join(ROOT, 'bench', 'node_modules', dep);
    if (fs.existsSync(dir)) fs.symlinkSync(dir, path.join(project, 'node_modules', dep));
  }
});
after(() => {
  emu?.stop();
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** The documented variables only (any other HOOPAUTH_* of the caller removed). */
function envFor(redirectUri) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOOPAUTH_')));
  return {
    ...env,
    HOOPAUTH_CLIENT_ID: emu.info.client_id,
    HOOPAUTH_CLIENT_SECRET: emu.info.client_secret,
    HOOPAUTH_REDIRECT_URI: redirectUri,
    HOOPAUTH_MARKETPLACE: emu.baseUrl,
    HOOPAUTH_API_BASE: emu.baseUrl,
    HOOPAUTH_WEBHOOK_KEY: emu.info.webhook_public_key,
  };
}

function writeBlock(b, i) {
  const file = path.join(project, `block_${i}.mjs`);
  fs.writeFileSync(file, b.code);
  return file;
}

/** Run a block in its own process group; after timeoutMs the whole group is killed. */
function run(file, env, timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* no one left */ }
      resolve({ code, signal, out: out + err, err });
    });
  });
}

test('the README has JS blocks, each runnable or marked nocheck', () => {
  assert.ok(runnable.length >= 1, `no runnable js block in ${READMES}`);
  if (!WASM) assert.equal(runnable.filter(isServer).length, 1, 'one node:http quickstart');
  for (const b of runnable) assert.match(b.code, new RegExp(PKG_NAME.replace('/', '\\/')), `${b.file}:${b.line} imports ${PKG_NAME}`);
});

test('the node:http quickstart runs as written: install, callback, contacts, webhooks', async (t) => {
  const server = runnable.find(isServer);
  if (!server) return t.skip(`no server quickstart in ${READMES}`);
  await emu.reset();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const file = writeBlock(server, 'server');
  const child = spawn(process.execPath, [file], { cwd: project, env: envFor(`${base}/oauth/callback`), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  try {
    for (let i = 0; ; i++) {
      try { await fetch(base + '/'); break; } catch {
        assert.equal(exited, null, `the server exited (${exited}): ${out}`);
        assert.ok(i < 200, `the server did not listen on ${port}: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    let callback;
    for (const loc of ['loc_2', 'loc_3']) {
      let r = await fetch(base + '/install', { redirect: 'manual' });
      assert.equal(r.status, 302, await r.text());
      const consent = r.headers.get('location');
      assert.ok(consent.startsWith(emu.baseUrl), consent);
      // The user picks a location on the platform's page (the emulator: location_id).
      r = await fetch(consent + '&location_id=' + loc, { redirect: 'manual' });
      assert.equal(r.status, 302);
      callback = r.headers.get('location');
      assert.ok(callback.startsWith(base + '/oauth/callback'), callback);
      r = await fetch(callback);
      assert.equal(r.status, 200, out);
      assert.deepEqual(await r.json(), { installed: loc });
    }
    // A replayed callback: its state is spent.
    assert.equal((await fetch(callback)).status, 400);

    let r = await fetch(base + '/contacts');
    assert.equal(r.status, 200, out);
    let body = await r.json();
    assert.deepEqual(Object.keys(body).sort(), ['loc_2', 'loc_3']);
    for (const v of Object.values(body)) assert.ok('contacts' in v, JSON.stringify(v));

    // A webhook the emulator signs with its key: accepted; a forged one: refused.
    const sent = await (await fetch(emu.baseUrl + '/_emulator/webhooks/send', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: base + '/webhooks', type: 'UNINSTALL', locationId: 'loc_2' }),
    })).json();
    assert.equal(sent.delivered_status, 200, JSON.stringify(sent));
    r = await fetch(base + '/webhooks', { method: 'POST', body: sent.body, headers: { 'x-ghl-signature': 'AAAA' } });
    assert.equal(r.status, 401);
    // The same signed delivery again: a duplicate.
    r = await fetch(base + '/webhooks', { method: 'POST', body: sent.body, headers: { 'x-ghl-signature': sent.signature } });
    assert.equal(r.status, 401);

    r = await fetch(base + '/contacts');
    assert.equal(r.status, 200, out);
    body = await r.json();
    assert.deepEqual(Object.keys(body), ['loc_3']);
    const stats = await emu.stats();
    assert.equal(stats.totals.token_exchanges, 2);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (exited === null ? child.once('exit', r) : r()));
  }
  assert.ok(!out.includes(emu.info.client_secret), 'the server printed the client secret');
});

test('the worker quickstart runs as written: callback and contacts through its fetch handler', async (t) => {
  const worker = runnable.find(isWorker);
  if (!worker) return t.skip(`no worker block in ${READMES}`);
  await emu.reset();
  const base = 'https://worker.example';
  const env = envFor(`${base}/oauth/callback`);
  const file = writeBlock(worker, 'worker');
  const mod = await import(pathToFileURL(file).href);
  const handler = mod.default;
  let r = await handler.fetch(new Request(base + '/install'), env);
  assert.equal(r.status, 302);
  const consent = r.headers.get('location');
  assert.ok(consent.startsWith(emu.baseUrl), consent);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
  r = await fetch(consent + '&location_id=loc_2', { redirect: 'manual' });
  assert.equal(r.status, 302);
  const callback = r.headers.get('location');
  r = await handler.fetch(new Request(callback, { headers: { cookie } }), env);
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(await r.json(), { installed: 'loc_2' });
  r = await handler.fetch(new Request(base + '/contacts?location=loc_2'), env);
  assert.equal(r.status, 200, await r.clone().text());
  assert.ok('contacts' in (await r.json()));
  // A forged callback state: refused.
  r = await handler.fetch(new Request(callback, { headers: { cookie: 'hoopauth_state=forged' } }), env);
  assert.equal(r.status, 400);
});

test('the other JS blocks run as written', async () => {
  const others = runnable.filter((b) => !isServer(b) && !isWorker(b));
  for (const [i, b] of others.entries()) {
    const file = writeBlock(b, i);
    const env = envFor('http://127.0.0.1:9/oauth/callback');
    env.REDIS_URL = 'redis://127.0.0.1:1/0';  // built, not connected, by the block
    env.HOOPAUTH_KEY = '11'.repeat(32);
    if (/\bcluster\.fork\(/.test(b.code)) {
      // A cluster: it runs until stopped. It must still run after 3 s, with nothing on stderr.
      const r = await run(file, env, 3000);
      assert.equal(r.signal, 'SIGKILL', `${b.file}:${b.line} exited ${r.code}:\n${b.code}\n${r.out}`);
      assert.equal(r.err, '', `${b.file}:${b.line}:\n${r.out}`);
      continue;
    }
    const r = await run(file, env);
    assert.equal(r.code, 0, `${b.file}:${b.line} exited ${r.code ?? r.signal}:\n${b.code}\n${r.out}`);
  }
});
