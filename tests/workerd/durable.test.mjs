// Coordinated mode on Cloudflare Workers in the real runtime, workerd: the worker of the WASM
// README's section "Coordinated mode on Cloudflare Workers" (its ```js block, taken from the
// README as written) runs in three services — three isolates, each with its own module-level
// Client — and a fourth runs it with a new Client per request (fixtures/per-request-worker.mjs),
// all bound to one Durable Object namespace of the package's HoopAuthStore (hosted by a fifth
// service, fixtures/store-host.mjs, which adds a fault switch in front of it and installs the
// locations through the same store). The isolates share tokens and pacing only through the
// objects, which live on disk (an idle object is evicted after about 10 s and reloaded).
//
// The platform emulator gives tokens living 20 s (due 10 s after they are issued: the leeway is
// at most half a token's life), 20 requests per second per location, and no grace for a
// repeated refresh token (a second use is an invalid_grant). Two waves of 200 concurrent
// requests, spread over the three README isolates and three locations, each starting just
// after the tokens came due and ending before they are due again:
//   - every request answers 200, none hangs; the emulator counts 0 × 429, 0 invalid grants,
//     and exactly one refresh per location per wave (one per due point);
//   - workerd reports no promise resolved from another request's context and no hung request.
// Then 30 concurrent requests through the fourth isolate (a client per request): every one ok,
// no refresh (nothing is due).
// Then the object fails: it throws (the call to it rejects), answers too late, or answers
// with an error → 503 with store_unavailable, store_unavailable, store_error, quickly; once it
// recovers, the same isolates answer 200 again (nothing was left held), still 0 × 429. Last, a
// refresh whose new tokens the object fails to save: that request fails, its isolate's next
// call writes the tokens it kept, and every isolate uses them (no second refresh, no spent
// token). Before the load: the store protocol on a scratch resource (read, compare-and-set, a
// stale one refused, delete), records are sealed, webhook ids are seen first once, and the
// object's alarm deletes expired ids.
//
//   node --test tests/workerd/durable.test.mjs   (WORKERD_KEEP=1 keeps the temp dir)
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.HOOPAUTH_JS_IMPL ||= 'bindings-wasm/pkg-node';
const { startEmulator, authorize, h, ROOT } = await import('../js/helpers.mjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKERD = path.join(HERE, 'node_modules', '.bin', 'workerd');
const PKG = path.join(ROOT, 'bindings-wasm', 'pkg');
const README = path.join(ROOT, 'bindings-wasm', 'README.md');
const SECTION = '## Coordinated mode on Cloudflare Workers';
const STORE_HOST = path.join(HERE, 'fixtures', 'store-host.mjs');
const PER_REQUEST = path.join(HERE, 'fixtures', 'per-request-worker.mjs');

const LOCATIONS = ['loc_1', 'loc_2', 'loc_3'];
const ISOLATES = 4;   // three run the README's worker, the fourth a new Client per request
const README_ISOLATES = 3;
const PER_REQUEST_CALLS = 30;
const WAVES = 2;
const WAVE = 200;
const MAX = 20;
const INTERVAL_MS = 1000;
const TOKEN_TTL_SECS = 20;
const DUE_AFTER_MS = TOKEN_TTL_SECS * 500;   // the leeway is capped at half the token's life
const PER_REQUEST_TIMEOUT_MS = 30_000;
const BAD_LINES = /different request context|hung|would never generate a response|canceled this request/i;

const capnpString = (s) => JSON.stringify(String(s));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/** The README section's ```js block, as written. */
function readmeWorker() {
  const text = fs.readFileSync(README, 'utf8');
  const at = text.indexOf(`\n${SECTION}\n`);
  assert.ok(at >= 0, `README has the section "${SECTION}"`);
  const end = text.indexOf('\n## ', at + SECTION.length + 2);
  const section = text.slice(at, end < 0 ? undefined : end);
  const m = /^```js[^\n]*\n([\s\S]*?)^```[ \t]*$/m.exec(section);
  assert.ok(m, 'the section has a ```js block');
  return m[1];
}

/** The package's modules as a bundler names them, plus aliases for the bare specifiers used. */
function packageModules(dir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  const target = (e) => (typeof e === 'string' ? e : e.default).replace(/^\.\//, '');
  const main = pkg.exports['.'].workerd;
  const durable = pkg.exports['./durable-object'];
  assert.ok(main, 'the package has a "workerd" export condition');
  assert.ok(durable, 'the package exports "./durable-object"');
  const mods = [];
  for (const [spec, file] of [['@hoopauth/wasm', target(main)], ['@hoopauth/wasm/durable-object', target(durable)]]) {
    // workerd resolves a specifier relative to the importing module's name: the alias imports
    // its target relatively.
    const rel = `./${path.posix.relative(path.posix.dirname(spec), `@hoopauth/wasm/${file}`)}`;
    const body = spec === '@hoopauth/wasm'
      ? `export * from '${rel}';\nexport { default } from '${rel}';\n`
      : `export * from '${rel}';\n`;
    const f = path.join(dir, `${spec.replace(/[^A-Za-z0-9_.-]/g, '_')}.mjs`);
    fs.writeFileSync(f, body);
    mods.push({ name: spec, kind: 'esModule', file: f });
  }
  for (const f of fs.readdirSync(PKG)) {
    const full = path.join(PKG, f);
    if (f.endsWith('.mjs') || f === 'hoopauth_wasm.js') mods.push({ name: `@hoopauth/wasm/${f}`, kind: 'esModule', file: full });
    else if (f.endsWith('.wasm')) mods.push({ name: `@hoopauth/wasm/${f}`, kind: 'wasm', file: full });
  }
  return mods;
}

function writeConfig(dir, { ports, env, mains }) {
  fs.mkdirSync(path.join(dir, 'do'), { recursive: true });
  const pkgMods = packageModules(dir);
  const modules = (main) => [{ name: 'worker.mjs', kind: 'esModule', file: main }, ...pkgMods]
    .map((m) => `    (name = ${capnpString(m.name)}, ${m.kind} = embed ${capnpString(path.relative(dir, m.file))}),`)
    .join('\n');
  const vars = Object.entries(env).map(([k, v]) => (typeof v === 'string'
    ? `    (name = ${capnpString(k)}, text = ${capnpString(v)}),`
    : `    (name = ${capnpString(k)}, json = ${capnpString(JSON.stringify(v))}),`)).join('\n');
  const ns = '    (name = "HOOPAUTH_STORE", durableObjectNamespace = (className = "TestStore", serviceName = "store")),';
  const workers = mains.map((_, i) => `w${i + 1}`);
  const worker = (name, main, extra) => `const ${name} :Workerd.Worker = (
  modules = [
${modules(main)}
  ],
  bindings = [
${vars}
${ns}
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",${extra}
);
`;
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "store", worker = .store),
${workers.map((w) => `    (name = "${w}", worker = .${w}),`).join('\n')}
    (name = "internet", network = (allow = ["public", "private", "local"])),
    # On disk, as in production: an idle object is evicted after about 10 s and its storage
    # must survive that (workerd's inMemory storage drops an evicted object's data).
    (name = "do-disk", disk = (path = ${capnpString(path.join(dir, 'do'))}, writable = true)),
  ],
  sockets = [
    (name = "store", address = "127.0.0.1:${ports.store}", http = (), service = "store"),
${workers.map((w, i) => `    (name = "${w}", address = "127.0.0.1:${ports.workers[i]}", http = (), service = "${w}"),`).join('\n')}
  ],
);

${worker('store', STORE_HOST, `
  durableObjectNamespaces = [ (className = "TestStore", uniqueKey = "hoopauth-durable-test") ],
  durableObjectStorage = (localDisk = "do-disk"),`)}
${workers.map((w, i) => worker(w, mains[i], '')).join('\n')}`;
  const file = path.join(dir, 'config.capnp');
  fs.writeFileSync(file, config);
  return file;
}

async function waitForPort(port, child, log) {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (child.exitCode != null) throw new Error(`workerd exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`workerd did not listen on ${port}: ${log()}`);
}

const refreshesOf = (stats) => Object.fromEntries(LOCATIONS.map((l) => [l, stats.resources[l]?.refreshes ?? 0]));

test(`workerd: the Durable Object store — ${WAVES} waves of ${WAVE} concurrent requests over ${ISOLATES} isolates and ${LOCATIONS.length} locations, then the object failing`, async (t) => {
  for (const [what, p] of [['workerd (run scripts/setup/wasm.sh)', WORKERD], ['the package (run bindings-wasm/build.sh)', path.join(PKG, 'durable-object.mjs')]]) {
    assert.ok(fs.existsSync(p), `missing ${what}: ${p}`);
  }
  const emu = await startEmulator(['--max', String(MAX), '--interval-ms', String(INTERVAL_MS),
    '--token-ttl-secs', String(TOKEN_TTL_SECS), '--refresh-grace-ms', '0']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-workerd-do-'));
  let child = null;
  let log = '';
  try {
    const workerFile = path.join(dir, 'readme-worker.mjs');
    fs.writeFileSync(workerFile, readmeWorker());
    const ports = { store: await freePort(), workers: [] };
    for (let i = 0; i < ISOLATES; i++) ports.workers.push(await freePort());
    const redirectUri = 'https://worker.example/oauth/callback';
    const env = {
      HOOPAUTH_CLIENT_ID: emu.info.client_id,
      HOOPAUTH_CLIENT_SECRET: emu.info.client_secret,
      HOOPAUTH_REDIRECT_URI: redirectUri,
      HOOPAUTH_MARKETPLACE: emu.baseUrl,
      HOOPAUTH_API_BASE: emu.baseUrl,
      HOOPAUTH_STORE_KEY: randomBytes(32).toString('base64'),
      HOOPAUTH_LIMITS: { max: MAX, intervalMs: INTERVAL_MS },
    };
    const mains = Array.from({ length: ISOLATES }, (_, i) => (i < README_ISOLATES ? workerFile : PER_REQUEST));
    const config = writeConfig(dir, { ports, env, mains });
    child = spawn(WORKERD, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    for (const p of [ports.store, ...ports.workers]) await waitForPort(p, child, () => log);
    const storeBase = `http://127.0.0.1:${ports.store}`;
    const bases = ports.workers.map((p) => `http://127.0.0.1:${p}`);

    // Install the three locations through the store host (its own client, the same objects).
    const local = new h.Client({ app: { clientId: env.HOOPAUTH_CLIENT_ID, redirectUri, marketplace: emu.baseUrl, apiBase: emu.baseUrl } });
    for (const loc of LOCATIONS) {
      const state = h.generateState();
      const cb = await authorize(local, emu.baseUrl, { locationId: loc, state, scopes: ['contacts.readonly'] });
      const r = await fetch(`${storeBase}/setup?cb=${encodeURIComponent(cb)}&state=${encodeURIComponent(state)}`);
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal((await r.json()).installed, loc);
    }
    let dueAt = Date.now() + DUE_AFTER_MS;
    for (const loc of LOCATIONS) {
      const rec = await (await fetch(`${storeBase}/record?location=${loc}`)).json();
      assert.ok(rec.rev >= 1 && rec.hasData, `the object holds ${loc}'s record`);
      assert.equal(rec.sealed, true, 'the record is sealed (no token in clear in the object)');
      assert.ok(Math.abs(rec.nowMs - Date.now()) < 5000, 'the object clock is a Unix ms clock');
    }
    const protocol = await (await fetch(`${storeBase}/protocol?id=scratch-${Date.now()}`)).json();
    assert.deepEqual(protocol, [
      { rev: 0, data: null, clock: true }, true, false, { rev: 1, data: 'one', clock: true },
      true, { rev: 2, data: 'two', clock: true }, { rev: 0, data: null, clock: true },
    ], 'read / compare-and-set (a stale revision refused) / delete');
    const ids = [`wh-${Date.now()}`];
    const seen = [];
    for (let i = 0; i < 2; i++) seen.push((await (await fetch(`${storeBase}/webhook-id?id=${ids[0]}`)).json()).first);
    assert.deepEqual(seen, [true, false], 'a webhook id is seen first once');
    // Un-marked (handling the delivery failed): the id is first again, then seen.
    assert.deepEqual(await (await fetch(`${storeBase}/forget-webhook-id?id=${ids[0]}`)).json(), { ok: true });
    for (let i = 0; i < 2; i++) seen.push((await (await fetch(`${storeBase}/webhook-id?id=${ids[0]}`)).json()).first);
    assert.deepEqual(seen, [true, false, true, false], 'an un-marked webhook id is seen first again');
    // Expired ids are deleted by the object's alarm (armed at the earliest expiry, at least a
    // minute ahead); an id seen again after its window is first again.
    const short = `wh-short-${Date.now()}`;
    const firstShort = (await (await fetch(`${storeBase}/webhook-id?id=${short}&ttl=200`)).json()).first;
    assert.equal((await (await fetch(`${storeBase}/fill?id=${short}&n=2500`)).json()).filled, 2500);
    const kept = await (await fetch(`${storeBase}/purge?id=${short}`)).json();
    await sleep(400);
    const purged = await (await fetch(`${storeBase}/purge?id=${short}`)).json();
    const firstAgain = (await (await fetch(`${storeBase}/webhook-id?id=${short}&ttl=200`)).json()).first;
    assert.equal(firstShort, true);
    assert.ok(kept.keys.includes(`w:${short}`), `the object holds the id while it is live: ${JSON.stringify(kept)}`);
    assert.deepEqual(kept.keys.filter((k) => k.startsWith('w:fill-')), [], 'the alarm deleted 2,500 expired ids (three pages)');
    assert.ok(kept.alarm >= Date.now() + 50_000, `an alarm is armed about a minute ahead: ${JSON.stringify(kept)}`);
    assert.ok(!purged.keys.includes(`w:${short}`), `the alarm deleted the expired id: ${JSON.stringify(purged)}`);
    assert.equal(firstAgain, true, 'an id is first again after its window');

    const one = async (i, base, loc) => {
      try {
        const r = await fetch(`${base}/?location=${loc}`, { signal: AbortSignal.timeout(PER_REQUEST_TIMEOUT_MS) });
        const body = await r.text();
        return { status: r.status, body };
      } catch (e) {
        return { status: e.name === 'TimeoutError' ? 'hung' : `error ${e.name}`, body: e.message };
      }
    };
    const waves = [];
    let before = refreshesOf(await emu.stats());
    for (let w = 0; w < WAVES; w++) {
      // Start just after the tokens came due (the last refresh + DUE_AFTER_MS).
      const wait = dueAt + 400 - Date.now();
      if (wait > 0) await sleep(wait);
      const t0 = Date.now();
      const results = await Promise.all(Array.from({ length: WAVE }, (_, i) =>
        one(i, bases[i % README_ISOLATES], LOCATIONS[Math.floor(i / README_ISOLATES) % LOCATIONS.length])));
      const wallMs = Date.now() - t0;
      const statuses = {};
      for (const r of results) statuses[r.status] = (statuses[r.status] || 0) + 1;
      const failures = results.filter((r) => r.status !== 200).slice(0, 5).map((r) => `${r.status} ${r.body.slice(0, 200)}`);
      const after = refreshesOf(await emu.stats());
      const refreshes = Object.fromEntries(LOCATIONS.map((l) => [l, after[l] - before[l]]));
      waves.push({ wave: w + 1, wall_ms: wallMs, statuses, refreshes });
      assert.deepEqual(statuses, { 200: WAVE }, `wave ${w + 1}: ${failures.join(' | ')}\n${log.slice(-3000)}`);
      // The next due point is DUE_AFTER_MS after this wave's refresh (at its start): a wave
      // that ran into it would make the count below ambiguous.
      assert.ok(wallMs < DUE_AFTER_MS - 1000, `wave ${w + 1} ended before the tokens came due again (${wallMs} ms)`);
      assert.deepEqual(refreshes, Object.fromEntries(LOCATIONS.map((l) => [l, 1])), `wave ${w + 1}: one refresh per location per due point`);
      before = after;
      dueAt = t0 + DUE_AFTER_MS;
    }
    // Concurrent requests in one isolate that share nothing there: a new Client per request.
    const p0 = Date.now();
    const perRequest = await Promise.all(Array.from({ length: PER_REQUEST_CALLS }, (_, i) => one(i, bases[README_ISOLATES], LOCATIONS[i % LOCATIONS.length])));
    const perRequestMs = Date.now() - p0;
    const perRequestRefreshes = Object.values(refreshesOf(await emu.stats())).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
    assert.deepEqual(perRequest.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body.slice(0, 200)}`), [], 'a client per request: every call ok');
    assert.ok(Date.now() < dueAt - 500, `the per-request calls ended before the tokens came due (${perRequestMs} ms)`);
    assert.equal(perRequestRefreshes, 0, 'a client per request refreshes nothing that is not due');
    const stats = await emu.stats();
    const loadLog = log;
    const bad = loadLog.split('\n').filter((l) => BAD_LINES.test(l));
    const summary = {
      isolates: ISOLATES, waves, per_request: { calls: PER_REQUEST_CALLS, wall_ms: perRequestMs }, emulator: { ok: stats.totals.ok, rate_limited: stats.totals.rate_limited,
        refreshes: stats.totals.refreshes, invalid_grants: stats.totals.invalid_grants, max_in_interval: stats.max_in_interval },
      workerd_bad_lines: bad.length,
    };
    console.log(`# workerd durable object: ${JSON.stringify(summary)}`);
    t.diagnostic(JSON.stringify(summary));
    assert.equal(stats.totals.rate_limited, 0, 'no 429 at the platform');
    assert.equal(stats.totals.invalid_grants, 0, 'no refresh token used twice');
    assert.ok(stats.max_in_interval <= MAX, `at most ${MAX} per interval per location (saw ${stats.max_in_interval})`);
    assert.equal(stats.totals.ok, WAVES * WAVE + PER_REQUEST_CALLS);
    assert.deepEqual(bad, [], 'workerd reported no cross-request promise and no hung request');

    // The object failing: each isolate's request fails fast with the store's kind; then recovers.
    const faults = [];
    for (const [mode, kind, maxMs] of [['throw', 'store_unavailable', 1500], ['slow', 'store_unavailable', 4500], ['error', 'store_error', 1500]]) {
      assert.equal((await (await fetch(`${storeBase}/fault?mode=${mode}`)).json()).fault, mode);
      const t0 = Date.now();
      const rs = await Promise.all(bases.map((b, i) => one(i, b, LOCATIONS[i % LOCATIONS.length])));
      const ms = Date.now() - t0;
      faults.push({ mode, ms, answers: rs.map((r) => `${r.status} ${r.body}`) });
      for (const r of rs) {
        assert.equal(r.status, 503, `${mode}: ${r.status} ${r.body}`);
        assert.equal(JSON.parse(r.body).error, kind, `${mode}: ${r.body}`);
      }
      assert.ok(ms < maxMs, `${mode}: answered in ${ms} ms (< ${maxMs})`);
    }
    assert.equal((await (await fetch(`${storeBase}/fault?mode=off`)).json()).fault, 'off');
    const again = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      one(i, bases[i % ISOLATES], LOCATIONS[i % LOCATIONS.length])));
    const end = await emu.stats();
    console.log(`# workerd durable object faults: ${JSON.stringify({ faults, recovered: again.filter((r) => r.status === 200).length, rate_limited: end.totals.rate_limited, invalid_grants: end.totals.invalid_grants })}`);
    assert.deepEqual(again.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body.slice(0, 200)}`), [], 'every isolate answers again after the object recovered');
    assert.equal(end.totals.rate_limited, 0);
    assert.equal(end.totals.invalid_grants, 0);

    // A refresh whose answer cannot be saved: the tokens come due, the object lets the lease
    // through and then throws on the write of the new tokens. That request fails
    // (store_unavailable); the new tokens stay in that isolate's memory, unsaved, and its next
    // call writes them; the other isolates then use them: no second refresh, no spent token.
    const loc = LOCATIONS[0];
    const wait = dueAt + 400 - Date.now();
    if (wait > 0) await sleep(wait);
    const r0 = refreshesOf(await emu.stats())[loc];
    await fetch(`${storeBase}/fault?mode=cas-after&n=1`);
    const lost = await one(0, bases[0], loc);
    await fetch(`${storeBase}/fault?mode=off`);
    const r1 = refreshesOf(await emu.stats())[loc];
    const next = [await one(0, bases[0], loc)];
    for (const b of bases.slice(1)) next.push(await one(0, b, loc));
    const last = await emu.stats();
    const persist = { lost: `${lost.status} ${lost.body}`, refreshed: r1 - r0, then: next.map((r) => r.status), refreshes_after: refreshesOf(last)[loc] - r1 };
    console.log(`# workerd durable object, unsaved refresh: ${JSON.stringify(persist)}`);
    assert.equal(lost.status, 503, lost.body);
    assert.equal(JSON.parse(lost.body).error, 'store_unavailable');
    assert.equal(r1 - r0, 1, 'the due token was refreshed once');
    assert.deepEqual(next.map((r) => r.status), bases.map(() => 200), next.map((r) => r.body.slice(0, 200)).join(' | '));
    assert.equal(refreshesOf(last)[loc] - r1, 0, 'the unsaved tokens were written and used: no second refresh');
    assert.equal(last.totals.invalid_grants, 0);
    assert.equal(last.totals.rate_limited, 0);
    assert.deepEqual(log.split('\n').filter((l) => /different request context|would never generate a response/i.test(l)), []);
  } finally {
    if (child && child.exitCode == null) child.kill('SIGTERM');
    emu.stop();
    if (process.env.WORKERD_KEEP === '1') console.log(`# kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
});
