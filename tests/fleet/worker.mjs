#!/usr/bin/env node
// One Node process of a coordinated fleet (notes: FLEET.md, "Fleet worker CLI"; the same flags
// as tests/fleet/worker.py): a hoopauth Client in coordinated mode on Redis that sends --calls
// GET /contacts/ spread round-robin over --resources, --concurrency at a time, from a common
// --start-at-ms. Prints ONE JSON line. HOOPAUTH_JS_IMPL picks the implementation:
// bindings-node (the addon, "lang":"node", the default) or bindings-wasm/pkg-node ("wasm").
//
//   HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node node tests/fleet/worker.mjs --base-url URL \
//     --client-id ID --client-secret S --redis-url redis://127.0.0.1:PORT/0 --resources loc_1 \
//     --calls 250 --concurrency 8 --start-at-ms EPOCH [--clock-skew-ms 250] [--key HEX64 ...]
//     [--idle-until-ms EPOCH] [--prefix P]
//
// Test-only: --die-after-refresh-answer MARKER kills this process (SIGKILL) right after the
// token endpoint answered a refresh, before anything is saved — once per fleet (the process
// that creates MARKER first). --sqlite is Python's only: this worker exits 2 with a JSON error.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const IMPL = process.env.HOOPAUTH_JS_IMPL || 'bindings-node';
const h = require(path.resolve(ROOT, IMPL));
const LANG = IMPL.includes('wasm') ? 'wasm' : 'node';
// After a store_unavailable error a worker's task waits this long before its next call, as an
// application would (the error itself comes at once); the same as worker.py.
const BACKOFF_MS = 500;

function parse(argv) {
  const a = {
    baseUrl: null, clientId: null, clientSecret: null, redisUrl: null, sqlite: null, prefix: 'hoopauth:',
    resources: null, calls: null, concurrency: 8, startAtMs: 0, clockSkewMs: 0, keys: [], idleUntilMs: 0, die: null,
  };
  const names = {
    '--base-url': 'baseUrl', '--client-id': 'clientId', '--client-secret': 'clientSecret', '--redis-url': 'redisUrl',
    '--sqlite': 'sqlite', '--prefix': 'prefix', '--resources': 'resources', '--calls': 'calls',
    '--concurrency': 'concurrency', '--start-at-ms': 'startAtMs', '--clock-skew-ms': 'clockSkewMs', '--key': 'keys',
    '--idle-until-ms': 'idleUntilMs', '--die-after-refresh-answer': 'die',
  };
  const ints = new Set(['calls', 'concurrency', 'startAtMs', 'clockSkewMs', 'idleUntilMs']);
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf('=');
    if (eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); } else { value = argv[++i]; }
    const name = names[flag];
    if (!name || value === undefined) usage(`unknown flag or missing value: ${flag}`);
    if (name === 'keys') a.keys.push(value);
    else if (ints.has(name)) {
      const n = Number(value);
      if (!Number.isInteger(n)) usage(`${flag} needs an integer`);
      a[name] = n;
    } else a[name] = value;
  }
  for (const req of ['baseUrl', 'clientId', 'clientSecret', 'resources', 'calls']) if (a[req] == null) usage(`missing --${req}`);
  if (a.sqlite != null) fail('sqlite_unsupported', 'the SQLite store is Python-only: give --redis-url');
  if (a.redisUrl == null) usage('give --redis-url');
  if (a.concurrency < 1) usage('--concurrency must be at least 1');
  return a;
}

function usage(msg) {
  process.stderr.write(`worker.mjs: ${msg}\n`);
  process.exit(2);
}

function fail(kind, msg) {
  process.stdout.write(JSON.stringify({ lang: LANG, error: kind, message: msg }) + '\n');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function hexKey(hex) {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) usage('--key must be 64 hex digits (32 bytes)');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** fetch that dies (SIGKILL) right after a refresh answer, once per fleet (test-only). */
function dyingFetch(marker) {
  if (marker == null) return undefined;
  return async (url, init) => {
    const refresh = String(url).endsWith('/oauth/token') && String(init && init.body).includes('grant_type=refresh_token');
    const resp = await fetch(url, init);
    if (!refresh) return resp;
    const body = await resp.text();
    let fd = null;
    try { fd = fs.openSync(marker, 'wx'); } catch { /* another process died already */ }
    if (fd != null) {
      fs.writeSync(fd, `${process.pid} ${Date.now()}\n`);
      fs.closeSync(fd);
      process.kill(process.pid, 'SIGKILL');
    }
    return new Response(body, { status: resp.status, headers: resp.headers });
  };
}

async function main() {
  const args = parse(process.argv.slice(2));
  let Redis;
  try {
    Redis = createRequire(path.join(ROOT, 'bindings-node', 'package.json'))('ioredis');
  } catch (e) {
    fail('setup', `ioredis is not installed (scripts/setup/node.sh): ${e.message}`);
  }
  const redis = new Redis(args.redisUrl, {
    enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100, connectTimeout: 1000,
  });
  redis.on('error', () => { /* reconnects on its own; calls fail with store_unavailable meanwhile */ });
  const resources = args.resources.split(',').filter(Boolean);
  const keys = args.keys.map(hexKey);
  const client = new h.Client({
    app: { clientId: args.clientId, clientSecret: args.clientSecret, apiBase: args.baseUrl, marketplace: args.baseUrl },
    shared: new h.RedisStore(redis, { prefix: args.prefix }),
    keys: keys.length ? keys : undefined,
    maxInFlight: args.concurrency,
    now: () => Date.now() + args.clockSkewMs,
    fetch: dyingFetch(args.die),
  });
  const tally = {
    calls: 0, ok: 0, errors: {}, reauthorize: 0, latencies: [], firstErrorMs: 0, lastErrorMs: 0, okSinceError: 0,
    maxErrorMs: 0, idleFromMs: 0,
  };

  async function batch(offset) {
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= args.calls) return;
        const loc = resources[(offset + i) % resources.length];
        const t = performance.now();
        let backoff = false;
        try {
          await client.request(loc, { path: '/contacts/', query: { locationId: loc }, timeoutMs: 120_000 });
          tally.ok++;
          tally.okSinceError++;
        } catch (e) {
          const kind = (e && e.kind) || (e && e.name) || 'Error';
          tally.errors[kind] = (tally.errors[kind] || 0) + 1;
          tally.okSinceError = 0;
          tally.maxErrorMs = Math.max(tally.maxErrorMs, performance.now() - t);
          const now = Date.now();
          tally.firstErrorMs = tally.firstErrorMs || now;
          tally.lastErrorMs = now;
          if (e && e.reauthorize) tally.reauthorize++;
          backoff = kind === 'store_unavailable';
        } finally {
          tally.calls++;
          tally.latencies.push(performance.now() - t);
        }
        if (backoff) await sleep(BACKOFF_MS); // after the call's own time is counted
      }
    };
    await Promise.all(Array.from({ length: args.concurrency }, worker));
  }

  await sleep(args.startAtMs - Date.now());
  const start = args.startAtMs || Date.now();
  await batch(0);
  if (args.idleUntilMs) {
    tally.idleFromMs = Date.now();
    await sleep(args.idleUntilMs - Date.now());
    await batch(args.calls);
  }
  const end = Date.now();
  redis.disconnect();
  const s = client.stats();
  const lat = tally.latencies.sort((x, y) => x - y);
  const round = (x) => Math.round(x * 10) / 10;
  const out = {
    lang: LANG,
    calls: tally.calls,
    ok: tally.ok,
    errors: tally.errors,
    refreshes: s.refreshes,
    reauthorize: tally.reauthorize,
    store_reads: s.storeReads,
    store_writes: s.storeWrites,
    wall_ms: end - start,
    // extras (not in the contract; the same names as worker.py's)
    impl: LANG === 'wasm' ? 'wasm-node' : 'node-addon',
    pid: process.pid,
    sends: s.sends,
    lost_races: s.lostRaces,
    end_ms: end,
    first_error_ms: tally.firstErrorMs || null,
    last_error_ms: tally.lastErrorMs || null,
    ok_after_last_error: tally.okSinceError,
    max_error_call_ms: Object.keys(tally.errors).length ? round(tally.maxErrorMs) : null,
    idle_from_ms: tally.idleFromMs || null,
    p50_ms: lat.length ? round(lat[Math.floor(lat.length / 2)]) : null,
    max_ms: lat.length ? round(lat[lat.length - 1]) : null,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`worker.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
