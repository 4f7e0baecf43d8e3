// The driver's call lifecycle end to end, against the emulator with the real fetch, for the
// implementation under test (HOOPAUTH_JS_IMPL): a save that fails or is cancelled never loses
// tokens nor blocks the resource; a short token is used and refreshed once per due point; a
// burst whose first requests reach the platform late stays within its sliding window.
import test, { describe } from 'node:test';
import assert from 'node:assert/strict';
import { h, startEmulator, authorize, SCOPES } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withEmulator(flags, fn) {
  const emu = await startEmulator(flags);
  try { return await fn(emu); } finally { emu.stop(); }
}

/** A fetch that remembers the bearer token of the last API request. */
function recordingFetch() {
  const seen = { lastBearer: null, apiCalls: 0 };
  const f = async (url, init) => {
    for (const [k, v] of init.headers || []) {
      if (String(k).toLowerCase() === 'authorization' && String(v).startsWith('Bearer ')) {
        seen.lastBearer = String(v).slice(7);
        seen.apiCalls++;
      }
    }
    return fetch(url, init);
  };
  return { f, seen };
}

/** A MemoryTokenStore whose next set can be made to throw or to hang. */
class FlakyStore {
  inner = new h.MemoryTokenStore();
  plan = null;          // null | 'throw' | 'hang'
  sets = 0;
  failures = 0;
  onHang = null;
  get(id) { return this.inner.get(id); }
  set(id, stored) {
    this.sets++;
    const plan = this.plan;
    this.plan = null;
    if (plan === 'throw') {
      this.failures++;
      throw new Error('database is locked');
    }
    if (plan === 'hang') {
      if (this.onHang) this.onHang();
      return new Promise(() => {}); // never settles
    }
    return this.inner.set(id, stored);
  }
}

function newClient(emu, extra = {}) {
  const app = new h.App({
    clientId: emu.info.client_id, clientSecret: emu.info.client_secret,
    redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: emu.baseUrl, marketplace: emu.baseUrl,
  });
  return new h.Client({ app, ...extra });
}

async function install(client, emu, locationId) {
  const state = h.generateState();
  const callback = await authorize(client, emu.baseUrl, { locationId, state, scopes: SCOPES });
  return client.exchangeCode(callback, { expectedState: state });
}

const contacts = (client, loc, extra = {}) => client.request(loc, { path: '/contacts/', query: { locationId: loc }, ...extra });

/** After a failed save: the next call saves first and succeeds without a refresh; the store
 *  ends with the newest tokens (a second client over it refreshes with the stored refresh
 *  token while the old one is already refused: grace 0). */
async function checkRecovered(emu, client, store, seen) {
  const r = await contacts(client, 'loc_1');
  assert.equal(r.status, 200);
  let s = (await emu.stats()).resources.loc_1;
  assert.equal(s.refreshes, 1, `one refresh in all: ${JSON.stringify(s)}`);
  assert.ok(store.get('loc_1').includes(seen.lastBearer), 'the store holds the tokens the last call used');
  // The store's refresh token is the live one: another client over the store refreshes with it.
  await sleep(1100);
  const other = newClient(emu, { store: { get: (id) => store.get(id), set: (id, v) => store.inner.set(id, v) } });
  assert.equal((await contacts(other, 'loc_1')).status, 200);
  s = (await emu.stats()).resources.loc_1;
  assert.equal(s.refreshes, 2, JSON.stringify(s));
  assert.equal(s.invalid_grants, 0);
  assert.equal(s.rate_limited, 0);
}

// Tokens live 2 s (refreshed at half their life: 1 s); a spent refresh token is refused at once.
const SHORT = ['--token-ttl-secs', '2', '--refresh-grace-ms', '0'];

describe('call lifecycle against the emulator', { concurrency: true }, () => {
  test('a store whose set throws right after a refresh: store_error, then the next call saves and succeeds', async () => {
    await withEmulator(SHORT, async (emu) => {
      const store = new FlakyStore();
      const { f, seen } = recordingFetch();
      const client = newClient(emu, { store, fetch: f });
      await install(client, emu, 'loc_1');
      assert.equal((await contacts(client, 'loc_1')).status, 200);
      await sleep(1100); // due
      store.plan = 'throw';
      const err = await contacts(client, 'loc_1').then(() => null, (e) => e);
      assert.ok(err instanceof h.HoopAuthError, `not a HoopAuthError: ${err}`);
      assert.equal(err.kind, 'store_error', err.message);
      assert.equal(err.cause && err.cause.message, 'database is locked');
      assert.equal(store.failures, 1);
      assert.doesNotMatch(err.message, /[A-Za-z0-9_-]{24,}/, 'no token in the message');
      // While unsaved, several calls at once: one saves, the others wait for it; no refresh.
      const many = await Promise.all(Array.from({ length: 5 }, () => contacts(client, 'loc_1')));
      assert.ok(many.every((r) => r.status === 200));
      await checkRecovered(emu, client, store, seen);
    });
  });

  test('a call aborted during store.set rejects with the signal reason; the next call saves and succeeds', async () => {
    await withEmulator(SHORT, async (emu) => {
      const store = new FlakyStore();
      const { f, seen } = recordingFetch();
      const client = newClient(emu, { store, fetch: f });
      await install(client, emu, 'loc_1');
      await sleep(1100); // due
      const ac = new AbortController();
      const reason = new Error('client went away');
      store.plan = 'hang';
      store.onHang = () => setTimeout(() => ac.abort(reason), 50);
      const t0 = Date.now();
      await assert.rejects(contacts(client, 'loc_1', { signal: ac.signal }), (e) => e === reason);
      assert.ok(Date.now() - t0 < 5000, 'the abort ended the wait on the store');
      // An abort with the default reason follows the AbortError convention.
      const ac2 = new AbortController();
      ac2.abort();
      await assert.rejects(contacts(client, 'loc_1', { signal: ac2.signal }), (e) => e.name === 'AbortError');
      await checkRecovered(emu, client, store, seen);
      // The client has nothing left unsaved.
      assert.deepEqual(await client.flush(), []);
    });
  });

  test('timeoutMs ends a call waiting for the pacer; flush() saves what a failed save left', async () => {
    await withEmulator(['--max', '2', '--interval-ms', '10000', ...SHORT], async (emu) => {
      const store = new FlakyStore();
      const client = newClient(emu, { store, limits: { max: 2, intervalMs: 10000 } });
      await install(client, emu, 'loc_1');
      assert.equal((await contacts(client, 'loc_1')).status, 200);
      assert.equal((await contacts(client, 'loc_1')).status, 200);
      const t0 = Date.now();
      await assert.rejects(contacts(client, 'loc_1', { timeoutMs: 300 }), (e) => e.name === 'TimeoutError');
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 2000, `timed out after ${took} ms`);
      // A due token, a failed save, then flush(): saved without a call.
      await sleep(1100);
      emu.control({ max: 100 });
      const c2 = newClient(emu, { store, limits: { max: 100, intervalMs: 10000 } });
      store.plan = 'throw';
      await assert.rejects(contacts(c2, 'loc_1'), (e) => e.kind === 'store_error');
      const before = store.sets;
      assert.deepEqual(await c2.flush(), ['loc_1']);
      assert.equal(store.sets, before + 1);
      assert.deepEqual(await c2.flush(), []);
      const s = (await emu.stats()).resources.loc_1;
      assert.equal(s.invalid_grants, 0);
      assert.equal(s.rate_limited, 0);
    });
  });

  test("poll hand-off (workerd's mode) in Node: 150 concurrent calls across a refresh, 4 slots, one refresh", async () => {
    await withEmulator(['--token-ttl-secs', '2', '--max', '500', '--interval-ms', '1000'], async (emu) => {
      const client = newClient(emu, { handoff: 'poll', maxInFlight: 4, limits: { max: 500, intervalMs: 1000 } });
      assert.equal(client.handoff, 'poll');
      await install(client, emu, 'loc_1');
      await sleep(1100); // due
      const rs = await Promise.all(Array.from({ length: 150 }, () => contacts(client, 'loc_1')));
      assert.ok(rs.every((r) => r.status === 200));
      const s = (await emu.stats()).resources.loc_1;
      assert.equal(s.refreshes, 1, JSON.stringify(s));
      assert.equal(s.ok, 150);
      assert.equal(s.rate_limited, 0);
    });
  });

  test('an 8 s token with the default leeway is used, and refreshed once per due point', async () => {
    await withEmulator(['--token-ttl-secs', '8'], async (emu) => {
      const client = newClient(emu);
      const t0 = Date.now();
      await install(client, emu, 'loc_1');
      // Due at half its life (4 s), then every 4 s: rounds of 5 concurrent calls for ~9 s.
      let calls = 0;
      while (Date.now() - t0 < 9000) {
        const rs = await Promise.all(Array.from({ length: 5 }, () => contacts(client, 'loc_1')));
        assert.ok(rs.every((r) => r.status === 200));
        calls += 5;
        await sleep(250);
      }
      const s = (await emu.stats()).resources.loc_1;
      assert.equal(s.ok, calls);
      assert.equal(s.refreshes, 2, `due at ~4 s and ~8 s: ${JSON.stringify(s)}`);
      assert.equal(s.invalid_grants, 0);
      assert.equal(client.stats().refreshes, 2);
    });
  });

  test('first requests of each burst reach the platform late: at most 100 in any sliding 10 s', async () => {
    const flags = ['--burst-delay-ms', '70', '--burst-delay-max-ms', '190', '--burst-delay-count', '10'];
    await withEmulator(flags, async (emu) => {
      const client = newClient(emu);
      await install(client, emu, 'loc_1');
      const rs = await Promise.all(Array.from({ length: 250 }, () => contacts(client, 'loc_1')));
      assert.ok(rs.every((r) => r.status === 200));
      const stats = await emu.stats();
      assert.ok(stats.totals.burst_delayed > 0, 'the knob delayed some requests');
      assert.ok(stats.max_in_interval <= 100, `max in a sliding 10 s: ${stats.max_in_interval}`);
      assert.equal(stats.totals.rate_limited, 0);
      console.log(`# burst-delay: max_in_interval ${stats.max_in_interval}, delayed ${stats.totals.burst_delayed}`);
    });
  });
});

test('a failed save after the code exchange keeps the tokens unsaved: the next call saves them first', async () => {
  await withEmulator([], async (emu) => {
    const store = new FlakyStore();
    const client = newClient(emu, { store });
    store.plan = 'throw';
    await assert.rejects(install(client, emu, 'loc_1'), (e) => e.kind === 'store_error' && e.cause.message === 'database is locked');
    assert.equal(store.get('loc_1'), null);
    assert.equal((await contacts(client, 'loc_1')).status, 200);
    assert.ok(store.get('loc_1'), 'saved by the next call');
    assert.deepEqual(await client.flush(), []);
  });
});

test('a call aborted during its fetch releases its rate-limit slot at once (no wait for the answer timeout)', async () => {
  await withEmulator(['--latency-ms', '400', '--max', '1', '--interval-ms', '1000'], async (emu) => {
    const client = newClient(emu, { limits: { max: 1, intervalMs: 1000 } });
    await install(client, emu, 'loc_1');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t0 = Date.now();
    await assert.rejects(contacts(client, 'loc_1', { signal: ac.signal }), (e) => e.name === 'AbortError');
    assert.ok(Date.now() - t0 < 300, 'the abort ended the fetch');
    // The aborted send counts as answered at the abort: the next call waits one interval, not 60 s.
    const r = await contacts(client, 'loc_1', { timeoutMs: 5000 });
    assert.equal(r.status, 200);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 3000, `next call after ${took} ms`);
    const s = (await emu.stats()).resources.loc_1;
    assert.equal(s.rate_limited, 0);
  });
});
