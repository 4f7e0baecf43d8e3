// Coordinated mode (issue 13, notes FLEET.md) for the implementation under test
// (HOOPAUTH_JS_IMPL): the native surface (loadShared/exportShared/setKeys/sharedWritten,
// call.copy, the core's constants), the stores, and clients sharing a real redis-server
// (started here on a free loopback port without persistence, stopped at the end) against the
// emulator: pacing across clients, one refresh per due point, a Python-format record, Redis
// stopped mid-run, sealed records, and clock skew.
import test, { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { h, IMPL_DIR, ROOT, startEmulator, authorize, SCOPES } from './helpers.mjs';

const require = createRequire(import.meta.url);
const native = require(path.join(IMPL_DIR, fs.existsSync(path.join(IMPL_DIR, 'native.js')) ? 'native.js' : 'hoopauth_wasm.js'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- redis-server -------------------------------------------------------------------------

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
const REDIS_SERVER = which('redis-server');
const SKIP_REDIS = REDIS_SERVER ? false : 'redis-server is not installed (scripts/setup/redis.sh installs it)';
let Redis = null;
try {
  Redis = createRequire(path.join(ROOT, 'bindings-node', 'package.json'))('ioredis');
} catch { /* reported by the tests that need it */ }
const SKIP = SKIP_REDIS || (Redis ? false : 'ioredis is not installed (scripts/setup/node.sh installs it)');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A throwaway redis-server on `port` (no persistence): {stop(), port, url}. */
async function startRedis(port, dir) {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => { sock.end(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(50);
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    async stop() { child.kill('SIGKILL'); await exited; },
  };
}

function redisClient(port) {
  const c = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  c.on('error', () => {}); // reconnects on its own; the store reports store_unavailable meanwhile
  return c;
}

/** Resolves once `client` is connected (the test's own commands need a ready connection). */
async function ready(client) {
  for (let i = 0; i < 100 && client.status !== 'ready'; i++) await sleep(20);
  return client;
}

// ---- the emulator and clients -------------------------------------------------------------

function appOf(emu) {
  return new h.App({
    clientId: emu.info.client_id, clientSecret: emu.info.client_secret,
    redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: emu.baseUrl, marketplace: emu.baseUrl,
  });
}

const LIMITS = { max: 10, intervalMs: 1000 };
const KEY = new Uint8Array(32).fill(42);

function newClient(emu, store, extra = {}) {
  return new h.Client({ app: appOf(emu), shared: store, limits: LIMITS, keys: [KEY], ...extra });
}

async function install(client, emu, locationId) {
  const cb = await authorize(client, emu.baseUrl, { locationId, state: 'st', scopes: SCOPES });
  return client.exchangeCode(cb, { expectedState: 'st' });
}

const contacts = (client, loc) => client.request(loc, { path: '/contacts/', query: { locationId: loc } });

// Exported by the Python binding (Pool.export_shared, nonce bytes 0..23): the core's format 1.
const PYTHON_RECORDS = {
  plain: "{\"format\":1,\"session\":{\"format\":1,\"version\":1,\"credential\":{\"type\":\"oauth\",\"tokens\":{\"access_token\":\"py-at\",\"token_type\":null,\"expires_in\":86399,\"expires_at_ms\":1700086399000,\"refresh_token\":\"py-rt\",\"scopes\":[],\"user_type\":\"Location\",\"location_id\":\"loc_1\",\"company_id\":null,\"approved_locations\":null,\"plan_id\":null,\"is_bulk_installation\":null,\"user_id\":null}},\"bad\":false,\"refresh_lease_until_ms\":null,\"reauthorize\":false},\"limiter\":{\"limits\":{\"max\":100,\"interval_ms\":10000,\"margin_ms\":50,\"daily_max\":200000,\"answer_timeout_ms\":60000},\"marks\":[],\"in_flight\":[],\"next_id\":0,\"blocked_until\":0,\"evicted_latest\":null,\"day_start\":null,\"day_count\":0,\"day_exhausted\":false,\"last_now\":0}}",
  sealed: "hs1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXPdGQzXhSSalGTklUFyJegAfXkVcslBv9WJVJKWE0d92bJ9EpyqdXARmIiA_ANq56hn19MS5muiNeC8lzkue5KYYp5MGoGdCDkuwLlUyyKyw-HBcvdDyIsuYLjMnSWsisr5zfwDPNNsLeixSma7JBTlAI1dO8ogy8yJS1ShDXT86JE5Z_1j4p8NxJ9UV4dpYb20l4WT-6oZRtBOY3cC0LC7bbT6Wexueyqzc5MzTu0Zy3Vgz1NsI_z-EkXaxarjpru5gZXe8poMi_uHVRJhVAMnkxm1BKtiu_t3lqoPXlyw1RogFa1pgOEAlfYoi39IqPtnO6tPH-i3_SwogNXfoa8v3BQ8nI4kYg6UwJE7kwuAN2iXuYfjrfp5hyaM5GELU4bLKULOxg0Z87qdbh7ZHsKsVqmH0QJFf4srGBFijHFzA5-lvbcBgJYe6K2BgKiAh7yGhA9Kk7gpKAek_2R2eHQ0l5A9B2-ufR-oXUCB57xmfk-Iz8ejwT85dv--MVAAKraP9q6-R3-gtGSAau_C6TXxC0JSfTZ5NH64S0O86QyErxXUT6EoEyRpe231J5OYEXV0mWtHzt5KLgbAfgEcePq2UQUenqxS_kl9ZXB6PWZ86UpsqwfcqjR0K42obcmLT3rb7C2WWRIGdeLvYF2TtWq7B1xtBb81_kRaxOhU27Py12AjG_DEQulYrud6K5SrFVW1UAVX4krR2dlVjBtNzjRJ09uRsgUo3wvkXPnKZM_3Flv69gRlwBh0HUkbT0UDoV70UpYmyeqVzrrW0sF_gm4nYl1Ju0ZxuBlUKpb5CyKjc7d9Gqdi8xZXKLL1lCikpoC3Zk-HVdzoZ8kBIk0faBsfNwIdIok2pPYZDZ6U376nhqAz0nzeQWvJD7ZqEUOiXb20-FCzic3kberkPbpY-eaVIFmhKGh877",
};

// ---- natives --------------------------------------------------------------------------------

describe('native coordinated-mode surface', () => {
  test("the core's constants and key names", () => {
    assert.match(native.redisReadScript(), /HMGET/);
    assert.match(native.redisCasScript(), /PEXPIRE/);
    assert.match(native.sqliteSchema(), /hoopauth_shared/);
    assert.equal(native.sharedTtlMs(), 366 * 86_400_000);
    assert.ok(native.sharedLeaseMs() > 0 && native.sharedLeaseMs() < 30_000, 'the lease is shorter than the grace');
    assert.equal(native.redisKey('hoopauth:', 'loc_1'), 'hoopauth:{loc_1}');
    assert.equal(native.redisWebhookKey('hoopauth:', 'w1'), 'hoopauth:webhook:{w1}');
    assert.equal(h.REDIS_READ_SCRIPT, native.redisReadScript());
    assert.equal(h.REDIS_CAS_SCRIPT, native.redisCasScript());
    assert.equal(h.SHARED_TTL_MS, native.sharedTtlMs());
    assert.equal(h.redisKey('p:', 'x'), 'p:{x}');
  });

  test('export, load back, seal, copy; bad inputs are invalid_argument / invalid_config', () => {
    const app = new native.App({ clientId: '65f1c0ffee-x', clientSecret: 's' });
    const pool = new native.Pool(app, null, null);
    pool.loadShared('loc_1', null);
    const tokens = h.parseTokenResponse({ status: 200, body: JSON.stringify({ access_token: 'at-SECRET', refresh_token: 'rt-SECRET', expires_in: 3600, locationId: 'loc_1', userType: 'Location' }) }, Date.now());
    pool.loadTokens('loc_1', { ...tokens, extra: {} });
    const plain = pool.exportShared('loc_1', new Uint8Array(24));
    assert.equal(typeof plain, 'string');
    assert.equal(JSON.parse(plain).format, 1);
    assert.equal(pool.exportShared('loc_1', new Uint8Array(24)), null, 'nothing changed since the export');
    // A second pool loads it and holds the tokens.
    const other = new native.Pool(app, null, null);
    other.loadShared('loc_1', plain);
    assert.ok(other.hasSession('loc_1'));
    // Sealed: no token text; opens only with the key.
    other.setKeys([KEY]);
    const call = new native.Call({ path: '/x' }, null);
    const step = other.step(call, 'loc_1', { type: 'start' }, Date.now(), 1);
    assert.equal(step.step, 'send');
    const copy = call.copy();
    assert.equal(copy.isFinished(), false);
    const sealed = other.exportShared('loc_1', new Uint8Array(24).fill(3));
    assert.ok(sealed.startsWith('hs1.') && !sealed.includes('SECRET'), sealed.slice(0, 40));
    const noKey = new native.Pool(app, null, null);
    assert.throws(() => noKey.loadShared('loc_1', sealed), (e) => e.kind === 'invalid_config');
    noKey.setKeys([new Uint8Array(32).fill(9)]);
    assert.throws(() => noKey.loadShared('loc_1', sealed), (e) => e.kind === 'store_error');
    noKey.setKeys([new Uint8Array(32).fill(9), KEY]); // rotation: the old key still opens
    noKey.loadShared('loc_1', sealed);
    assert.ok(noKey.hasSession('loc_1'));
    noKey.setKeys([]);
    assert.throws(() => noKey.loadShared('loc_1', sealed), (e) => e.kind === 'invalid_config');
    // The copy is independent: aborting the original leaves it unfinished.
    other.abort(call, 'loc_1', Date.now());
    assert.equal(call.isFinished(), true);
    assert.equal(copy.isFinished(), false);
    other.sharedWritten('loc_1');
    // Bad inputs.
    const kind = (fn) => { try { fn(); } catch (e) { return h._internal.toHoopAuthError(e).kind; } return 'no error'; };
    assert.equal(kind(() => pool.exportShared('loc_1', new Uint8Array(23))), 'invalid_argument');
    assert.equal(kind(() => pool.exportShared('loc_1', 'x'.repeat(24))), 'invalid_argument');
    assert.equal(kind(() => pool.setKeys('k')), 'invalid_argument');
    assert.equal(kind(() => pool.setKeys(['x'.repeat(32)])), 'invalid_argument');
    assert.equal(kind(() => pool.setKeys([new Uint8Array(31)])), 'invalid_config');
    assert.equal(kind(() => pool.loadShared('loc_1', 7)), 'invalid_argument');
    assert.equal(kind(() => pool.loadShared('', null)), 'invalid_argument');
    assert.equal(kind(() => pool.loadShared('loc_1', '{"nope":')), 'store_error');
  });

  test('Client options: shared with store, keys without shared, bad keys are invalid_config', () => {
    const app = { clientId: '65f1c0ffee-x', clientSecret: 's' };
    const s = new h.MemorySharedStore();
    const kind = (fn) => { try { fn(); } catch (e) { return e.kind; } return 'no error'; };
    assert.equal(kind(() => new h.Client({ app, shared: s, store: new h.MemoryTokenStore() })), 'invalid_config');
    assert.equal(kind(() => new h.Client({ app, keys: [KEY] })), 'invalid_config');
    assert.equal(kind(() => new h.Client({ app, shared: s, keys: [new Uint8Array(16)] })), 'invalid_config');
    assert.equal(kind(() => new h.Client({ app, shared: {} })), 'invalid_config');
    assert.equal(kind(() => new h.RedisStore({})), 'invalid_config');
    assert.equal(new h.Client({ app, shared: s }).shared, s);
  });

  test('records the Python binding exported (fixtures: plain and sealed with key 0x2a…) load here', () => {
    const app = new native.App({ clientId: '65f1c0ffee-x', clientSecret: 's' });
    for (const [name, rec] of Object.entries(PYTHON_RECORDS)) {
      const pool = new native.Pool(app, null, null);
      if (name === 'sealed') pool.setKeys([KEY]);
      pool.loadShared('loc_1', rec);
      assert.ok(pool.hasSession('loc_1'), name);
      const stored = JSON.parse(pool.storedJson('loc_1'));
      assert.equal(stored.credential.tokens.access_token, 'py-at', name);
      assert.equal(stored.credential.tokens.expires_at_ms, 1700086399000, name);
    }
  });

  test('a record written by Python loads in JS, and a JS record loads in Python (one format: the core\'s)', async (t) => {
    const py = path.join(ROOT, '.venv', 'bin', 'python');
    if (!fs.existsSync(py)) { t.skip('no .venv with the Python binding (scripts/setup/python.sh)'); return; }
    const app = new native.App({ clientId: '65f1c0ffee-x', clientSecret: 's' });
    const script = `
import sys, json, time
import hoopauth
from hoopauth import _hoopauth as n
cfg = hoopauth.Config(client_id='65f1c0ffee-x', client_secret='s')
mode = sys.argv[1]
if mode == 'export':
    pool = n.Pool(cfg)
    pool.set_keys([bytes([42]) * 32])
    pool.load_shared('loc_1', None)
    now = int(time.time() * 1000)
    ts = n.parse_token_response(200, json.dumps({'access_token': 'py-at', 'refresh_token': 'py-rt', 'expires_in': 3600, 'locationId': 'loc_1', 'userType': 'Location'}).encode(), now)
    pool.load_tokens(ts, 'loc_1')
    print(pool.export_shared('loc_1', bytes(24)))
else:
    pool = n.Pool(cfg)
    pool.set_keys([bytes([42]) * 32])
    pool.load_shared('loc_1', sys.stdin.read().strip())
    print(json.dumps({'has': pool.has_session('loc_1'), 'at': pool.token_set('loc_1').access_token}))
`;
    let exported;
    try {
      exported = execFileSync(py, ['-c', script, 'export'], { encoding: 'utf8', cwd: ROOT }).trim();
    } catch (e) {
      t.skip(`the Python binding did not run: ${String(e.stderr || e.message).split('\n').slice(-2).join(' ')}`);
      return;
    }
    assert.ok(exported.startsWith('hs1.'), exported.slice(0, 20));
    const pool = new native.Pool(app, null, null);
    pool.setKeys([KEY]);
    pool.loadShared('loc_1', exported);
    assert.ok(pool.hasSession('loc_1'));
    assert.match(pool.storedJson('loc_1'), /py-at/);
    // And back: JS steps a call (its limiter changes) and exports; Python loads it.
    const call = new native.Call({ path: '/x' }, null);
    assert.equal(pool.step(call, 'loc_1', { type: 'start' }, Date.now(), 1).step, 'send');
    const back = pool.exportShared('loc_1', h.generateState ? new Uint8Array(24).fill(5) : null);
    const out = JSON.parse(execFileSync(py, ['-c', script, 'import'], { input: back, encoding: 'utf8', cwd: ROOT }));
    assert.deepEqual(out, { has: true, at: 'py-at' });
  });
});

// ---- stores -------------------------------------------------------------------------------

describe('stores', () => {
  test('MemorySharedStore: revisions, compare-and-set, webhook ids', () => {
    let now = 1000;
    const s = new h.MemorySharedStore({ now: () => now });
    assert.deepEqual(s.read('a'), { rev: 0, data: null, nowMs: 1000 });
    assert.equal(s.cas('a', 0, 'x'), true);
    assert.equal(s.cas('a', 0, 'y'), false);
    assert.deepEqual(s.read('a'), { rev: 1, data: 'x', nowMs: 1000 });
    assert.equal(s.seenFirst('w', 100), true);
    assert.equal(s.seenFirst('w', 100), false);
    now += 101;
    assert.equal(s.seenFirst('w', 100), true);
    s.forgetSeen('w');
    s.forgetSeen('never-seen');
    assert.equal(s.seenFirst('w', 100), true, 'un-marked: handled again');
    assert.equal(s.seenFirst('w', 100), false);
  });

  test('SharedWebhookVerifier: a delivery accepted by one verifier is a duplicate for another', async () => {
    const store = new h.MemorySharedStore();
    const a = new h.SharedWebhookVerifier(store, { maxAgeMs: 60_000 });
    const b = new h.SharedWebhookVerifier(store, { maxAgeMs: 60_000 });
    // A body without a valid signature is refused before the store is asked.
    const bad = await a.verify('{"webhookId":"w1"}', {}, Date.now());
    assert.equal(bad.valid, false);
    assert.notEqual(bad.reason, 'duplicate');
    assert.equal(store.seenFirst('probe', 10), true);
  });

  test('SharedWebhookVerifier with deliveries the emulator signs: ok once, duplicate for every other verifier', async () => {
    await withEmulator([], async (emu) => {
      const http = await import('node:http');
      const received = [];
      const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => { received.push({ headers: req.headers, body: Buffer.concat(chunks) }); res.end('ok'); });
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${server.address().port}/hooks`;
        for (const type of ['INSTALL', 'UNINSTALL']) {
          const sent = await fetch(`${emu.baseUrl}/_emulator/webhooks/send`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, type, locationId: 'loc_1' }),
          });
          assert.equal(sent.status, 200);
        }
        const store = new h.MemorySharedStore();
        const one = new h.SharedWebhookVerifier(store, { publicKey: emu.info.webhook_public_key });
        const two = new h.SharedWebhookVerifier(store, { publicKey: emu.info.webhook_public_key });
        const [install, uninstall] = received;
        assert.deepEqual(await one.verify(new Uint8Array(install.body), install.headers), { valid: true, reason: 'ok' });
        assert.deepEqual(await two.verify(new Uint8Array(install.body), install.headers), { valid: false, reason: 'duplicate' });
        assert.deepEqual(await one.verify(new Uint8Array(install.body), install.headers), { valid: false, reason: 'duplicate' });
        assert.deepEqual(await two.verify(uninstall.body.toString('utf8'), uninstall.headers), { valid: true, reason: 'ok' });
        // A tampered body is refused by the signature check and marks nothing.
        const bad = Buffer.from(uninstall.body);
        bad[bad.length - 2] ^= 1;
        assert.equal((await one.verify(new Uint8Array(bad), uninstall.headers)).reason, 'bad_signature');
        assert.equal(one.maxAgeMs, 300000);
      } finally {
        server.close();
      }
    });
  });

  test('RedisStore on a real redis-server: read/cas/delete/seenFirst/nowMs; down → store_unavailable fast', { skip: SKIP }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-redis-'));
    const port = await freePort();
    let server = await startRedis(port, dir);
    const client = redisClient(port);
    try {
      const store = new h.RedisStore(client, { prefix: 'test:' });
      const r0 = await store.read('loc_1');
      assert.equal(r0.rev, 0);
      assert.equal(r0.data, null);
      assert.ok(Math.abs(r0.nowMs - Date.now()) < 5000);
      assert.equal(await store.cas('loc_1', 0, 'one'), true);
      assert.equal(await store.cas('loc_1', 0, 'two'), false);
      assert.deepEqual({ ...(await store.read('loc_1')), nowMs: 0 }, { rev: 1, data: 'one', nowMs: 0 });
      const ttl = await (await ready(client)).pttl('test:{loc_1}');
      assert.ok(ttl > 365 * 86_400_000, `the record expires after SHARED_TTL_MS: ${ttl}`);
      assert.equal(await store.seenFirst('w1', 5000), true);
      assert.equal(await store.seenFirst('w1', 5000), false);
      await store.forgetSeen('w1');
      assert.equal(await store.seenFirst('w1', 5000), true, 'un-marked: handled again');
      assert.equal(await store.seenFirst('w1', 5000), false);
      assert.ok(Math.abs((await store.nowMs()) - Date.now()) < 5000);
      await store.delete('loc_1');
      assert.equal((await store.read('loc_1')).rev, 0);
      await server.stop();
      await sleep(100);
      const t0 = Date.now();
      const err = await store.read('loc_1').then(() => null, (e) => e);
      assert.ok(err instanceof h.HoopAuthError, String(err));
      assert.equal(err.kind, 'store_unavailable');
      assert.ok(Date.now() - t0 < 1500, `fast: ${Date.now() - t0} ms`);
      server = await startRedis(port, dir);
      for (let i = 0; i < 50 && client.status !== 'ready'; i++) await sleep(100);
      assert.equal((await store.read('loc_1')).rev, 0);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});

/** A MemorySharedStore behind an asynchronous boundary (each operation settles after `ms`), as a network store. */
class SlowStore {
  constructor(ms) { this.inner = new h.MemorySharedStore(); this.ms = ms; }
  async read(id) { await sleep(this.ms); return this.inner.read(id); }
  async cas(id, rev, data) { await sleep(this.ms); return this.inner.cas(id, rev, data); }
  async nowMs() { return this.inner.nowMs(); }
}

describe('clients sharing an in-process store', () => {
  test("poll hand-off (workerd's mode) over an asynchronous store: two clients, 40 calls, 0 x 429", async () => {
    await withEmulator(['--max', '10', '--interval-ms', '1000'], async (emu) => {
      const store = new SlowStore(1);
      const a = newClient(emu, store, { handoff: 'poll', keys: undefined });
      const b = newClient(emu, store, { handoff: 'poll', keys: undefined });
      await install(a, emu, 'loc_1');
      await emu.reset();
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => contacts(i % 2 ? a : b, 'loc_1')));
      assert.ok(rs.every((r) => r.status === 200));
      const st = await emu.stats();
      assert.equal(st.totals.rate_limited, 0);
      assert.ok(st.max_in_interval <= 10, `max ${st.max_in_interval}`);
      assert.equal(a.handoff, 'poll');
      // Plain-text records without keys: the core's JSON.
      assert.equal(JSON.parse(store.inner.read('loc_1').data).format, 1);
    });
  });

  test('a call cancelled during its fetch rejects with the reason; the next calls are not held up', async () => {
    await withEmulator(['--max', '2', '--interval-ms', '1000', '--latency-ms', '400'], async (emu) => {
      const store = new h.MemorySharedStore();
      const a = newClient(emu, store, { limits: { max: 2, intervalMs: 1000 } });
      const b = newClient(emu, store, { limits: { max: 2, intervalMs: 1000 } });
      await install(a, emu, 'loc_1');
      await sleep(1100);
      const ac = new AbortController();
      const p = a.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' }, signal: ac.signal });
      await sleep(100);
      ac.abort(new Error('user went away'));
      const e = await p.then(() => null, (err) => err);
      assert.equal(e && e.message, 'user went away');
      const t0 = Date.now();
      assert.equal((await contacts(b, 'loc_1')).status, 200);
      assert.ok(Date.now() - t0 < 1500, `not held by the cancelled call: ${Date.now() - t0} ms`);
    });
  });
});

// ---- clients sharing Redis ----------------------------------------------------------------

describe('clients sharing a redis-server', { skip: SKIP, concurrency: false }, () => {
  let dir, port, server;
  const clients = [];
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-redis-'));
    port = await freePort();
    server = await startRedis(port, dir);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    if (server) await server.stop();
  });
  const redis = () => { const c = redisClient(port); clients.push(c); return c; };

  test('two clients (clocks off by +250 and -250 ms) at 10 per second: 0 x 429, one refresh per due point, sealed records', async () => {
    // Tokens live 4 s: due at half their life, every ~2 s of a ~7 s run.
    await withEmulator(['--max', '10', '--interval-ms', '1000', '--token-ttl-secs', '4', '--refresh-grace-ms', '0'], async (emu) => {
      const prefix = `two-${process.pid}:`;
      const a = newClient(emu, new h.RedisStore(redis(), { prefix }), { now: () => Date.now() + 250 });
      const b = newClient(emu, new h.RedisStore(redis(), { prefix }), { now: () => Date.now() - 250 });
      const tokens = await install(a, emu, 'loc_1');
      await emu.reset();
      const t0 = Date.now();
      let calls = 0;
      const errors = [];
      while (Date.now() - t0 < 7000) {
        const rs = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => contacts(i % 2 ? a : b, 'loc_1')));
        for (const r of rs) if (r.status === 'rejected') errors.push(r.reason && r.reason.message);
        calls += rs.length;
      }
      const took = Date.now() - t0;
      const st = await emu.stats();
      const s = st.resources.loc_1;
      assert.deepEqual(errors, []);
      assert.equal(s.ok, calls);
      assert.equal(s.rate_limited, 0, JSON.stringify(st.totals));
      assert.ok(st.max_in_interval <= 10, `max in any 1 s: ${st.max_in_interval}`);
      assert.equal(s.invalid_grants, 0);
      // Due every ~2 s after the install: one refresh per due point across both clients.
      const due = Math.floor((took + 500) / 2000);
      assert.ok(s.refreshes >= due - 1 && s.refreshes <= due + 1, `refreshes ${s.refreshes} for ~${due} due points in ${took} ms`);
      assert.equal(s.refreshes, a.stats().refreshes + b.stats().refreshes, 'each refresh sent by one client');
      assert.ok(calls >= 50, `calls ${calls}`);
      // The raw record is sealed: no token text.
      const raw = await (await ready(redis())).hget(h.redisKey(prefix, 'loc_1'), 'data');
      assert.ok(raw.startsWith('hs1.'), raw.slice(0, 20));
      assert.ok(!raw.includes(tokens.accessToken) && !raw.includes(tokens.refreshToken));
      assert.ok(!raw.includes('access_token'));
      console.log(`# two clients: ${calls} calls in ${took} ms, ${s.refreshes} refreshes, max ${st.max_in_interval}/1 s, ` +
        `store ${JSON.stringify({ a: a.stats(), b: b.stats() })}`);
    });
  });

  test('Redis stopped for 3 s mid-run: store_unavailable fast, every later call succeeds, no token set lost', async () => {
    // The platform's 30 s grace: Redis comes back empty and each client writes back the last
    // record it saw; one whose copy is a rotation old may replay that refresh token before the
    // newer copy is back, which the grace answers with the same new pair.
    await withEmulator(['--max', '10', '--interval-ms', '1000', '--token-ttl-secs', '4'], async (emu) => {
      const prefix = `down-${process.pid}:`;
      const ra = redis();
      const rb = redis();
      const a = newClient(emu, new h.RedisStore(ra, { prefix }));
      const b = newClient(emu, new h.RedisStore(rb, { prefix }));
      await install(a, emu, 'loc_1');
      assert.equal((await contacts(b, 'loc_1')).status, 200);
      await sleep(1000);
      // A refresh while Redis is up (due at 2 s), then Redis goes away.
      await sleep(1100);
      assert.equal((await contacts(a, 'loc_1')).status, 200);
      await server.stop();
      const down = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 3000) {
        const s0 = Date.now();
        const e = await contacts(Math.random() < 0.5 ? a : b, 'loc_1').then(() => null, (err) => err);
        down.push({ kind: e && e.kind, ms: Date.now() - s0 });
        await sleep(100);
      }
      server = await startRedis(port, dir);
      await ready(ra); // the clients reconnect (ioredis retries every 100 ms)
      await ready(rb);
      assert.ok(down.length >= 10);
      assert.ok(down.every((d) => d.kind === 'store_unavailable'), JSON.stringify(down.slice(0, 5)));
      assert.ok(down.every((d) => d.ms < 1500), `fast: ${Math.max(...down.map((d) => d.ms))} ms`);
      // Redis came back empty (no persistence): the clients write their copy back; tokens due
      // meanwhile are refreshed once; every call succeeds. A refresh lease in a copy written
      // back may have to run out first (SHARED_LEASE_MS, 12 s: the recovery path of a
      // refresher that died), so a call may take that long: the timeout is above it.
      const slowest = { ms: 0 };
      const after = [];
      const t1 = Date.now();
      while (Date.now() - t1 < 3000) {
        const rs = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => (i % 2 ? a : b).request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' }, timeoutMs: 30_000 })));
        after.push(...rs);
      }
      const failed = after.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
      assert.deepEqual(failed, []);
      slowest.ms = Date.now() - t1;
      const s = (await emu.stats()).resources.loc_1;
      assert.equal(s.invalid_grants, 0, JSON.stringify(s));
      assert.equal(s.rate_limited, 0, JSON.stringify(s));
      assert.ok(await (await ready(redis())).exists(h.redisKey(prefix, 'loc_1')), 'the record is back in Redis');
      console.log(`# redis down: ${down.length} calls failed fast (max ${Math.max(...down.map((d) => d.ms))} ms), ` +
        `${after.length} calls after in ${slowest.ms} ms, ${s.refreshes} refreshes`);
    });
  });

  test('a process idle past the grace adopts the store\'s tokens; forget empties the record', async () => {
    await withEmulator(['--max', '10', '--interval-ms', '1000', '--token-ttl-secs', '2', '--refresh-grace-ms', '0'], async (emu) => {
      const prefix = `idle-${process.pid}:`;
      const a = newClient(emu, new h.RedisStore(redis(), { prefix }));
      const idle = newClient(emu, new h.RedisStore(redis(), { prefix }));
      await install(a, emu, 'loc_1');
      assert.equal((await contacts(idle, 'loc_1')).status, 200);
      // `a` refreshes twice while `idle` does nothing; then `idle` calls with the store's tokens.
      for (let i = 0; i < 2; i++) { await sleep(1100); assert.equal((await contacts(a, 'loc_1')).status, 200); }
      assert.equal((await contacts(idle, 'loc_1')).status, 200);
      const s = (await emu.stats()).resources.loc_1;
      assert.equal(s.invalid_grants, 0);
      assert.equal(idle.stats().refreshes, 0);
      await a.forget('loc_1');
      const e = await contacts(idle, 'loc_1').then(() => null, (err) => err);
      assert.equal(e && e.kind, 'unauthorized');
    });
  });
});

async function withEmulator(flags, fn) {
  const emu = await startEmulator(flags);
  try { return await fn(emu); } finally { emu.stop(); }
}
