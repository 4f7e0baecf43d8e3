// The WASM package's worker example (bindings-wasm/examples/worker.mjs, served unchanged) in
// Cloudflare's real runtime, workerd (npm `workerd`, installed into tests/workerd/node_modules
// by scripts/setup/wasm.sh; nothing is installed here). One module-level Client is shared by
// every request of the isolate; the emulator plays the platform (short-lived tokens, so
// refreshes come due across requests while others wait).
//
// Asserts: 300 requests at 60 in parallel all answer 200, none hangs (a timeout per request),
// the emulator saw 0 × 429 and 0 invalid_grant, and workerd reported no promise resolved
// from another request's context and no hung request.
//
//   node --test tests/workerd/   (env: WORKERD_REQUESTS, WORKERD_PARALLEL, WORKERD_KEEP=1 keeps the temp dir)
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.HOOPAUTH_JS_IMPL ||= 'bindings-wasm/pkg-node';
const { startEmulator, ROOT } = await import('../js/helpers.mjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKERD = path.join(HERE, 'node_modules', '.bin', 'workerd');
const PKG = path.join(ROOT, 'bindings-wasm', 'pkg');
const EXAMPLE = path.join(ROOT, 'bindings-wasm', 'examples', 'worker.mjs');
const REQUESTS = Number(process.env.WORKERD_REQUESTS || 300);
const PARALLEL = Number(process.env.WORKERD_PARALLEL || 60);
const PER_REQUEST_TIMEOUT_MS = 30_000;
const LOCATIONS = ['loc_1', 'loc_2', 'loc_3'];
// Per location: 40 requests per 2 s (the client is told the same), tokens living 4 s: with the
// default leeway capped at half a token's life, each location refreshes about every 2 s.
const MAX = 40;
const INTERVAL_MS = 2000;
const TOKEN_TTL_SECS = 4;
const BAD_LINES = /different request context|hung|would never generate a response|Uncaught|canceled this request/i;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const capnpString = (s) => JSON.stringify(String(s)); // capnp text literals share JSON's escapes

/** Every module of the package the worker can reach, named as a bundler lays them out. */
function packageModules(pkgDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const entry = pkg.exports['.'].workerd;
  const target = typeof entry === 'string' ? entry : entry.default;
  assert.ok(target, 'the package has a "workerd" export condition');
  // The bare specifier resolves (by the "workerd" condition) to the entry file. workerd
  // resolves every specifier as a path relative to the importing module's name, so the alias
  // module imports its target relatively.
  const file = `@hoopauth/wasm/${target.replace(/^\.\//, '')}`;
  const rel = `./${path.posix.relative(path.posix.dirname('@hoopauth/wasm'), file)}`;
  const mods = [
    { name: '@hoopauth/wasm', kind: 'esModule', text: `export * from '${rel}';\nexport { default } from '${rel}';\n` },
  ];
  for (const f of fs.readdirSync(pkgDir)) {
    const full = path.join(pkgDir, f);
    if (f.endsWith('.mjs') || f === 'hoopauth_wasm.js') mods.push({ name: `@hoopauth/wasm/${f}`, kind: 'esModule', file: full });
    else if (f.endsWith('.wasm')) mods.push({ name: `@hoopauth/wasm/${f}`, kind: 'wasm', file: full });
  }
  return mods;
}

function writeConfig(dir, port, env, main = EXAMPLE) {
  const mods = [{ name: 'worker.mjs', kind: 'esModule', file: main }, ...packageModules(PKG)];
  const lines = mods.map((m) => {
    let file = m.file;
    if (m.text != null) {
      file = path.join(dir, `${m.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.mjs`);
      fs.writeFileSync(file, m.text);
    }
    // embed paths are relative to the config file
    return `    (name = ${capnpString(m.name)}, ${m.kind} = embed ${capnpString(path.relative(dir, file))}),`;
  });
  const bindings = Object.entries(env).map(([k, v]) => (typeof v === 'string'
    ? `    (name = ${capnpString(k)}, text = ${capnpString(v)}),`
    : `    (name = ${capnpString(k)}, json = ${capnpString(JSON.stringify(v))}),`));
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # loopback included: the platform is the local emulator
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
${lines.join('\n')}
  ],
  bindings = [
${bindings.join('\n')}
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
`;
  const file = path.join(dir, 'config.capnp');
  fs.writeFileSync(file, config);
  return file;
}

async function waitForPort(port, child, stderr) {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (child.exitCode != null) throw new Error(`workerd exited (${child.exitCode}): ${stderr()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workerd did not listen on ${port}: ${stderr()}`);
}

test(`workerd: ${REQUESTS} requests at ${PARALLEL} in parallel through the example's shared client`, async (t) => {
  for (const [what, p] of [['workerd (run scripts/setup/wasm.sh)', WORKERD], ['the package (run bindings-wasm/build.sh)', path.join(PKG, 'workerd.mjs')]]) {
    assert.ok(fs.existsSync(p), `missing ${what}: ${p}`);
  }
  const emu = await startEmulator(['--max', String(MAX), '--interval-ms', String(INTERVAL_MS), '--token-ttl-secs', String(TOKEN_TTL_SECS)]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-workerd-'));
  let child = null;
  let err = '';
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const redirectUri = 'https://worker.example/oauth/callback';
    const config = writeConfig(dir, port, {
      CLIENT_ID: emu.info.client_id,
      CLIENT_SECRET: emu.info.client_secret,
      REDIRECT_URI: redirectUri,
      API_BASE: emu.baseUrl,
      MARKETPLACE: emu.baseUrl,
      LIMITS: { max: MAX, intervalMs: INTERVAL_MS },
    });
    child = spawn(WORKERD, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { err += d; });
    child.stderr.on('data', (d) => { err += d; });
    await waitForPort(port, child, () => err);

    // The example is served from the file in the repository, as it is.
    assert.ok(fs.readFileSync(config, 'utf8').includes(`"worker.mjs", esModule = embed ${capnpString(path.relative(dir, EXAMPLE))}`));

    // Install three locations through the worker: start → consent page → callback with the state cookie.
    for (const loc of LOCATIONS) {
      const start = await fetch(`${base}/oauth/start?location=${loc}`, { redirect: 'manual' });
      assert.equal(start.status, 302, await start.text());
      const cookie = start.headers.get('set-cookie').split(';')[0];
      const consent = await fetch(start.headers.get('location'), { redirect: 'manual' });
      assert.equal(consent.status, 302);
      const cb = new URL(consent.headers.get('location'));
      assert.equal(cb.origin + cb.pathname, redirectUri);
      const done = await fetch(`${base}${cb.pathname}${cb.search}`, { headers: { cookie } });
      assert.equal(done.status, 200, await done.clone().text());
      assert.equal((await done.json()).installed, loc);
    }

    // The load: REQUESTS calls, PARALLEL at a time, spread over the locations.
    const statuses = new Map();
    const failures = [];
    let next = 0;
    const t0 = Date.now();
    const lane = async () => {
      for (let i = next++; i < REQUESTS; i = next++) {
        const loc = LOCATIONS[i % LOCATIONS.length];
        let status;
        try {
          const r = await fetch(`${base}/contacts?location=${loc}`, { signal: AbortSignal.timeout(PER_REQUEST_TIMEOUT_MS) });
          status = r.status;
          const body = await r.text();
          if (status !== 200 && failures.length < 5) failures.push(`${status} ${body.slice(0, 200)}`);
        } catch (e) {
          status = e.name === 'TimeoutError' ? 'hung' : `error ${e.name}`;
          if (failures.length < 5) failures.push(`${status}: ${e.message}`);
        }
        statuses.set(status, (statuses.get(status) || 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, lane));
    const wallMs = Date.now() - t0;

    const stats = await emu.stats();
    const workerStats = await (await fetch(`${base}/stats`)).json();
    const bad = err.split('\n').filter((l) => BAD_LINES.test(l));
    const summary = {
      requests: REQUESTS, parallel: PARALLEL, wall_ms: wallMs, statuses: Object.fromEntries(statuses),
      emulator: { ok: stats.totals.ok, rate_limited: stats.totals.rate_limited, refreshes: stats.totals.refreshes,
        invalid_grants: stats.totals.invalid_grants, max_in_interval: stats.max_in_interval },
      worker: workerStats, workerd_bad_lines: bad.length,
    };
    console.log(`# workerd: ${JSON.stringify(summary)}`);
    t.diagnostic(JSON.stringify(summary));

    assert.deepEqual(Object.fromEntries(statuses), { 200: REQUESTS }, `answers: ${failures.join(' | ')}\n${err.slice(-3000)}`);
    assert.equal(stats.totals.rate_limited, 0, 'no 429 at the platform');
    assert.equal(stats.totals.invalid_grants, 0);
    assert.ok(stats.totals.refreshes >= LOCATIONS.length, `tokens came due during the run (refreshes: ${stats.totals.refreshes})`);
    assert.deepEqual(bad, [], 'workerd reported no cross-request promise and no hung request');
    assert.equal(workerStats.sends, REQUESTS);
  } finally {
    if (child && child.exitCode == null) child.kill('SIGTERM');
    emu.stop();
    if (process.env.WORKERD_KEEP === '1') console.log(`# kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The web entry (not the workerd one) in workerd: init() without an argument cannot build a URL
// (no import.meta.url) and says what to pass; init(the imported .wasm module) works.
const INIT_PROBE = `import init from '@hoopauth/wasm/index.mjs';
import wasm from '@hoopauth/wasm/hoopauth_wasm_bg.wasm';
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/noarg') {
      try { await init(); return Response.json({ ok: true }); }
      catch (e) { return Response.json({ ok: false, name: e.name, kind: e.kind, message: e.message }); }
    }
    const api = await init(wasm);
    const app = new api.App({ clientId: '65f1c0ffee-x', redirectUri: 'https://a.example/cb' });
    return Response.json({ ok: true, url: app.authorizationUrl({ scopes: ['contacts.readonly'], state: 's' }) });
  },
};
`;

test('workerd: init() of the web entry without an argument explains itself; init(wasm module) works', async () => {
  assert.ok(fs.existsSync(WORKERD), 'workerd installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-workerd-init-'));
  let child = null;
  let err = '';
  try {
    const main = path.join(dir, 'probe.mjs');
    fs.writeFileSync(main, INIT_PROBE);
    const port = await freePort();
    const config = writeConfig(dir, port, {}, main);
    child = spawn(WORKERD, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { err += d; });
    child.stderr.on('data', (d) => { err += d; });
    await waitForPort(port, child, () => err);
    const noarg = await (await fetch(`http://127.0.0.1:${port}/noarg`)).json();
    assert.equal(noarg.ok, false);
    assert.equal(noarg.name, 'HoopAuthError');
    assert.equal(noarg.kind, 'invalid_config');
    assert.match(noarg.message, /import wasm from '@hoopauth\/wasm\/hoopauth_wasm_bg\.wasm'; await init\(wasm\)/);
    assert.doesNotMatch(noarg.message, /^Invalid URL/);
    const ok = await (await fetch(`http://127.0.0.1:${port}/init`)).json();
    assert.equal(ok.ok, true);
    assert.match(ok.url, /^https:\/\/marketplace\./);
  } finally {
    if (child && child.exitCode == null) child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// A shared client over an asynchronous store (every get/set takes a few ms, as a KV would):
// concurrent first requests load the session once (the others look on their own timers), and
// refreshes are saved across requests while other requests wait.
const ASYNC_STORE_PROBE = `import init, { Client } from '@hoopauth/wasm';
const data = new Map();
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const store = {
  async get(id) { await pause(5); return data.has(id) ? data.get(id) : null; },
  async set(id, v) { await pause(5); data.set(id, v); },
};
let installer = null;
let client = null;
function make(env) {
  return new Client({
    app: { clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, redirectUri: env.REDIRECT_URI, apiBase: env.API_BASE, marketplace: env.MARKETPLACE },
    store, limits: env.LIMITS,
  });
}
export default {
  async fetch(request, env) {
    await init();
    const url = new URL(request.url);
    if (url.pathname === '/setup') {
      installer ??= make(env);
      const t = await installer.exchangeCode(url.searchParams.get('cb'), { expectedState: url.searchParams.get('state') });
      return Response.json({ installed: t.locationId });
    }
    client ??= make(env);   // a fresh client: its first calls load the sessions from the store
    const loc = url.searchParams.get('location');
    const r = await client.request(loc, { path: '/contacts/', query: { locationId: loc }, timeoutMs: 20000 });
    return new Response(r.text, { status: r.status });
  },
};
`;

test('workerd: a shared client over an asynchronous store (loads and saves across requests)', async () => {
  assert.ok(fs.existsSync(WORKERD), 'workerd installed');
  const { h, authorize } = await import('../js/helpers.mjs');
  const emu = await startEmulator(['--max', String(MAX), '--interval-ms', String(INTERVAL_MS), '--token-ttl-secs', String(TOKEN_TTL_SECS)]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-workerd-store-'));
  let child = null;
  let err = '';
  try {
    const main = path.join(dir, 'probe.mjs');
    fs.writeFileSync(main, ASYNC_STORE_PROBE);
    const port = await freePort();
    const redirectUri = 'https://worker.example/oauth/callback';
    const env = {
      CLIENT_ID: emu.info.client_id, CLIENT_SECRET: emu.info.client_secret, REDIRECT_URI: redirectUri,
      API_BASE: emu.baseUrl, MARKETPLACE: emu.baseUrl, LIMITS: { max: MAX, intervalMs: INTERVAL_MS },
    };
    const config = writeConfig(dir, port, env, main);
    child = spawn(WORKERD, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { err += d; });
    child.stderr.on('data', (d) => { err += d; });
    await waitForPort(port, child, () => err);
    const base = `http://127.0.0.1:${port}`;
    const local = new h.Client({ app: { clientId: env.CLIENT_ID, redirectUri, marketplace: emu.baseUrl, apiBase: emu.baseUrl } });
    for (const loc of LOCATIONS) {
      const state = h.generateState();
      const cb = await authorize(local, emu.baseUrl, { locationId: loc, state, scopes: ['contacts.readonly'] });
      const r = await fetch(`${base}/setup?cb=${encodeURIComponent(cb)}&state=${state}`);
      assert.equal(r.status, 200, await r.clone().text());
    }
    const n = 150;
    let next = 0;
    const statuses = {};
    const lane = async () => {
      for (let i = next++; i < n; i = next++) {
        let s;
        try {
          const r = await fetch(`${base}/contacts?location=${LOCATIONS[i % 3]}`, { signal: AbortSignal.timeout(PER_REQUEST_TIMEOUT_MS) });
          s = r.status;
          await r.text();
        } catch (e) { s = e.name; }
        statuses[s] = (statuses[s] || 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 40 }, lane));
    const stats = await emu.stats();
    const bad = err.split('\n').filter((l) => BAD_LINES.test(l));
    console.log(`# workerd async store: ${JSON.stringify({ statuses, refreshes: stats.totals.refreshes, rate_limited: stats.totals.rate_limited, bad: bad.length })}`);
    assert.deepEqual(statuses, { 200: n }, err.slice(-2000));
    assert.equal(stats.totals.rate_limited, 0);
    assert.equal(stats.totals.invalid_grants, 0);
    assert.deepEqual(bad, []);
  } finally {
    if (child && child.exitCode == null) child.kill('SIGTERM');
    emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
