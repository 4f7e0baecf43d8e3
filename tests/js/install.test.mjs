// The app's whole life over webhooks, end to end against the emulator (real fetch over
// loopback, real signed deliveries to a node:http endpoint): a bulk INSTALL mints a token for
// every approved location, minted tokens coming due are minted again (never refreshed, never a
// re-authorization), UNINSTALL leaves nothing in the store, a repeated delivery is a duplicate
// and changes nothing — in one process and in coordinated mode.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { h, startEmulator, SCOPES } from './helpers.mjs';

const REDIRECT = 'http://127.0.0.1:9/oauth/callback';

async function withEmulator(flags, fn) {
  const emu = await startEmulator(flags);
  try { return await fn(emu); } finally { emu.stop(); }
}

function newClient(emu, extra = {}) {
  const app = new h.App({
    clientId: emu.info.client_id, clientSecret: emu.info.client_secret,
    redirectUri: REDIRECT, apiBase: emu.baseUrl, marketplace: emu.baseUrl,
  });
  return new h.Client({ app, webhook: { publicKey: emu.info.webhook_public_key }, ...extra });
}

/** A store that counts its writes and deletes. */
class CountingStore extends h.MemoryTokenStore {
  writes = 0;
  deletes = 0;
  set(id, stored) { this.writes++; return super.set(id, stored); }
  delete(id) { this.deletes++; return super.delete(id); }
}

/** The agency installs the app on `approved` at once (the emulator's bulk consent), as Company. */
async function bulkInstall(client, emu, approved) {
  const state = h.generateState();
  const url = new URL(client.authorizationUrl({ scopes: SCOPES, state }));
  url.searchParams.set('approved_locations', approved.join(','));
  const resp = await fetch(url, { redirect: 'manual' });
  assert.equal(resp.status, 302);
  const tokens = await client.exchangeCode(resp.headers.get('location'), { expectedState: state, userType: 'Company' });
  assert.equal(tokens.userType, 'Company');
  assert.deepEqual(tokens.approvedLocations, approved);
  assert.equal(tokens.isBulkInstallation, true);
  return tokens;
}

/** The app's webhook endpoint: each delivery goes to `pick()`'s client; answers are kept. */
async function endpoint(pick) {
  const answers = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const out = await pick().handleWebhook(body, req.headers);
        answers.push(out);
        res.writeHead(out.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ reason: out.reason }));
      } catch (e) {
        answers.push({ error: e });
        res.writeHead(500);
        res.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/webhooks`;
  // The emulator's client keeps connections alive: end them, or close() waits for them.
  return { url, answers, close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }) };
}

async function send(emu, payload) {
  const r = await fetch(`${emu.baseUrl}/_emulator/webhooks/send`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload),
  });
  const out = await r.json();
  assert.equal(r.status, 200, JSON.stringify(out));
  return out;
}

const contacts = (client, loc) => client.request(loc, { path: '/contacts/', query: { locationId: loc } });

async function expectKind(promise, kind) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof h.HoopAuthError, `not a HoopAuthError: ${e}`);
    assert.equal(e.kind, kind, e.message);
    return true;
  });
}

test('bulk INSTALL: every approved location is callable; a repeated delivery is a duplicate and changes nothing', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000', '--locations', 'loc_1,loc_2,loc_3,loc_4'], async (emu) => {
    const store = new CountingStore();
    const client = newClient(emu, { store });
    const hook = await endpoint(() => client);
    try {
      await bulkInstall(client, emu, ['loc_1', 'loc_2', 'loc_3']);
      const sent = await send(emu, { url: hook.url, type: 'INSTALL', bulk: true, times: 2 });
      assert.deepEqual(sent.delivered_statuses, [200, 200]);
      const [first, again] = hook.answers;
      assert.equal(first.status, 200);
      assert.equal(first.reason, 'applied');
      assert.equal(first.type, 'INSTALL');
      assert.equal(first.webhookId, JSON.parse(sent.body).webhookId);
      assert.deepEqual(first.minted, ['loc_1', 'loc_2', 'loc_3']);
      assert.deepEqual(first.failed, []);
      assert.deepEqual({ status: again.status, reason: again.reason, minted: again.minted }, { status: 200, reason: 'duplicate', minted: [] });
      for (const loc of ['loc_1', 'loc_2', 'loc_3']) {
        assert.ok(store.get(loc), `${loc} stored`);
        assert.equal((await contacts(client, loc)).status, 200);
      }
      assert.equal(store.get('loc_4'), null, 'not approved: nothing minted');
      let stats = await emu.stats();
      for (const loc of ['loc_1', 'loc_2', 'loc_3']) assert.equal(stats.resources[loc].token_exchanges, 1, `${loc}: one mint`);
      assert.equal(stats.resources.loc_4, undefined);
      // The same delivery once more (a platform retry): nothing changes, nothing is written.
      const writes = store.writes;
      const replay = await client.handleWebhook(sent.body, { 'x-ghl-signature': sent.signature });
      assert.deepEqual([replay.status, replay.reason], [200, 'duplicate']);
      // A new INSTALL for the same company finds the work done.
      const next = await send(emu, { url: hook.url, type: 'INSTALL', bulk: true, perLocation: true });
      assert.equal(next.deliveries.length, 3);
      for (const a of hook.answers.slice(2)) assert.deepEqual([a.status, a.reason, a.minted], [200, 'nothing_to_do', []]);
      assert.equal(store.writes, writes, 'no write for a duplicate or a done install');
      stats = await emu.stats();
      for (const loc of ['loc_1', 'loc_2', 'loc_3']) assert.equal(stats.resources[loc].token_exchanges, 1, `${loc}: still one mint`);
      // Forged and stale deliveries change nothing either.
      const forged = await client.handleWebhook(sent.body.replace('INSTALL', 'UNINSTALL'), { 'x-ghl-signature': sent.signature });
      assert.deepEqual([forged.status, forged.reason], [401, 'bad_signature']);
      const late = await client.handleWebhook(sent.body, { 'x-ghl-signature': sent.signature }, { nowMs: Date.now() + 3_600_000 });
      assert.deepEqual([late.status, late.reason], [401, 'stale']);
      assert.ok(store.get('loc_1'));
    } finally {
      await hook.close();
    }
  });
});

test('a minted location token coming due is minted again, not refreshed: 0 re-authorizations', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000', '--location-token-ttl-secs', '2'], async (emu) => {
    const events = [];
    const client = newClient(emu, { limits: { max: 20, intervalMs: 1000 }, onEvent: (e) => events.push(e) });
    const hook = await endpoint(() => client);
    try {
      await bulkInstall(client, emu, ['loc_1', 'loc_2']);
      await send(emu, { url: hook.url, type: 'INSTALL', bulk: true });
      assert.deepEqual(hook.answers[0].minted, ['loc_1', 'loc_2']);
      // 40 calls per location at 20 per 1 s: over 2 s, past the 2 s tokens' due points (1 s).
      const calls = [];
      for (let i = 0; i < 80; i++) calls.push(contacts(client, i % 2 ? 'loc_2' : 'loc_1'));
      const results = await Promise.allSettled(calls);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.deepEqual(failed.map((r) => r.reason.kind), [], 'every call succeeded (no re-authorization)');
      // Then once more after a full token life: due again.
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await contacts(client, 'loc_1')).status, 200);
      const stats = await emu.stats();
      assert.equal(stats.totals.rate_limited, 0);
      for (const loc of ['loc_1', 'loc_2']) {
        const c = stats.resources[loc];
        assert.equal(c.refreshes, 0, `${loc}: never refreshed`);
        assert.ok(c.token_exchanges >= 2, `${loc}: minted again (${c.token_exchanges})`);
        assert.ok(c.token_exchanges <= 6, `${loc}: one mint per due point (${c.token_exchanges})`);
        assert.ok(stats.max_in_interval_by_location[loc] <= 20);
      }
      assert.equal(stats.totals.invalid_grants, 0);
      assert.equal(client.stats().mints, stats.resources.loc_1.token_exchanges + stats.resources.loc_2.token_exchanges);
      assert.equal(stats.resources.comp_1.token_exchanges, 1, 'the company code exchange');
      const mints = events.filter((e) => e.event === 'mint');
      assert.ok(mints.length >= 2 && mints.every((e) => e.company === 'comp_1'));
      assert.equal(events.filter((e) => e.event === 'mint_failed').length, 0);
      assert.equal(events.filter((e) => e.event === 'refresh_sent').length, 0, 'the company token is fresh: no refresh at all');
      assert.ok(!JSON.stringify(events).includes(emu.info.client_secret));
    } finally {
      await hook.close();
    }
  });
});

test('UNINSTALL leaves nothing in the store; its repeat is a duplicate; the location is refused without a request', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000'], async (emu) => {
    const store = new CountingStore();
    const client = newClient(emu, { store });
    const hook = await endpoint(() => client);
    try {
      await bulkInstall(client, emu, ['loc_1', 'loc_2', 'loc_3']);
      await send(emu, { url: hook.url, type: 'INSTALL', bulk: true });
      assert.equal((await contacts(client, 'loc_3')).status, 200);
      await send(emu, { url: hook.url, type: 'UNINSTALL', locationId: 'loc_3', revoke: true, times: 2 });
      const [, gone, dup] = hook.answers;
      assert.deepEqual([gone.status, gone.reason, gone.type, gone.forgotten], [200, 'applied', 'UNINSTALL', ['loc_3']]);
      assert.deepEqual([dup.status, dup.reason, dup.forgotten], [200, 'duplicate', []]);
      assert.equal(store.get('loc_3'), null, 'nothing left in the store');
      assert.equal(store.deletes, 1);
      const before = (await emu.stats()).totals.requests;
      await expectKind(contacts(client, 'loc_3'), 'unauthorized');
      assert.equal((await emu.stats()).totals.requests, before, 'no request reached the platform');
      // The others and the company stay.
      assert.ok(store.get('comp_1'));
      for (const loc of ['loc_1', 'loc_2']) assert.equal((await contacts(client, loc)).status, 200);
      // A fresh client on the same store knows nothing of loc_3 either.
      const other = newClient(emu, { store });
      await expectKind(contacts(other, 'loc_3'), 'unauthorized');
      assert.equal((await contacts(other, 'loc_1')).status, 200);
    } finally {
      await hook.close();
    }
  });
});

test('coordinated mode: one shared store — duplicates across processes, mints shared, UNINSTALL empties the record', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000', '--location-token-ttl-secs', '2'], async (emu) => {
    const shared = new h.MemorySharedStore();
    const keys = [new Uint8Array(32).fill(7)];
    const limits = { max: 20, intervalMs: 1000 };
    const a = newClient(emu, { shared, keys, limits, call: { coordinateRefresh: true } });
    const b = newClient(emu, { shared, keys, limits, call: { coordinateRefresh: true } });
    let turn = 0;
    const hook = await endpoint(() => (turn++ % 2 ? b : a)); // a retry lands on another process
    try {
      await bulkInstall(a, emu, ['loc_1', 'loc_2']);
      await send(emu, { url: hook.url, type: 'INSTALL', bulk: true, times: 2 });
      const [first, again] = hook.answers;
      assert.deepEqual([first.status, first.reason, first.minted], [200, 'applied', ['loc_1', 'loc_2']]);
      assert.deepEqual([again.status, again.reason], [200, 'duplicate'], 'the other process saw it as a duplicate');
      // Both processes call both locations over the tokens' due points.
      const calls = [];
      for (let i = 0; i < 60; i++) calls.push(contacts((i >> 1) % 2 ? a : b, i % 2 ? 'loc_1' : 'loc_2'));
      for (const r of await Promise.all(calls)) assert.equal(r.status, 200);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await contacts(b, 'loc_1')).status, 200);
      assert.equal((await contacts(a, 'loc_2')).status, 200);
      const stats = await emu.stats();
      assert.equal(stats.totals.rate_limited, 0, JSON.stringify(stats.resources));
      for (const loc of ['loc_1', 'loc_2']) {
        assert.equal(stats.resources[loc].refreshes, 0, `${loc}: never refreshed`);
        assert.ok(stats.resources[loc].token_exchanges >= 2, `${loc}: minted again`);
        assert.ok(stats.resources[loc].token_exchanges <= 6, `${loc}: one mint per due point across both processes (${stats.resources[loc].token_exchanges})`);
        assert.ok(stats.max_in_interval_by_location[loc] <= 20, 'one pacing window across processes');
      }
      // UNINSTALL through one process: the record holds nothing for any process.
      await send(emu, { url: hook.url, type: 'UNINSTALL', locationId: 'loc_2', revoke: true });
      const gone = hook.answers[2];
      assert.deepEqual([gone.status, gone.reason, gone.forgotten], [200, 'applied', ['loc_2']]);
      const fresh = newClient(emu, { shared, keys });
      for (const c of [a, b, fresh]) await expectKind(contacts(c, 'loc_2'), 'unauthorized');
      assert.equal((await contacts(fresh, 'loc_1')).status, 200);
    } finally {
      await hook.close();
    }
  });
});

test('a location the platform no longer approves: its call fails with the mint error, no re-authorization, others unaffected', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000'], async (emu) => {
    const events = [];
    const client = newClient(emu, { onEvent: (e) => events.push(e) });
    const hook = await endpoint(() => client);
    try {
      await bulkInstall(client, emu, ['loc_1', 'loc_2']);
      await send(emu, { url: hook.url, type: 'INSTALL', bulk: true });
      assert.equal((await contacts(client, 'loc_2')).status, 200);
      // The platform revokes loc_2 (its UNINSTALL never reaches the app: undeliverable).
      const r = await fetch(`${emu.baseUrl}/_emulator/webhooks/send`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://127.0.0.1:9/gone', type: 'UNINSTALL', locationId: 'loc_2', revoke: true }),
      });
      assert.equal(r.status, 502);
      // loc_2's token is refused (401): the core mints again; the mint is refused (not approved).
      await assert.rejects(contacts(client, 'loc_2'), (e) => {
        assert.ok(e instanceof h.HoopAuthError);
        assert.notEqual(e.reauthorize, true, 'the company is fine: no re-authorization');
        assert.ok(!e.message.includes(emu.info.client_secret));
        return true;
      });
      assert.ok(events.some((e) => e.event === 'mint_failed' && e.resource === 'loc_2'));
      assert.equal((await contacts(client, 'loc_1')).status, 200);
      const stats = await emu.stats();
      assert.equal(stats.resources.loc_2.refreshes, 0);
    } finally {
      await hook.close();
    }
  });
});

test('a call cancelled while its mint runs releases the lease: the next call mints at once', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000'], async (emu) => {
    let slow = false;
    const fetchSlowMint = async (url, init) => {
      if (slow && String(url).includes('/oauth/locationToken')) await new Promise((r) => setTimeout(r, 300));
      return fetch(url, init);
    };
    const client = newClient(emu, { fetch: fetchSlowMint });
    await bulkInstall(client, emu, ['loc_1']);
    // The delivery (to nowhere: 502) handled by hand, cancelled while its mint waits for an answer.
    const sent = await fetch(`${emu.baseUrl}/_emulator/webhooks/send`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/none', type: 'INSTALL', bulk: true }),
    }).then((r) => r.json());
    slow = true;
    const ac = new AbortController();
    const handled = client.handleWebhook(sent.body, { 'x-ghl-signature': sent.signature }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(handled, (e) => e.name === 'AbortError');
    slow = false;
    const t0 = Date.now();
    assert.equal((await contacts(client, 'loc_1')).status, 200);
    assert.ok(Date.now() - t0 < 1000, 'no wait for a lease left behind');
    const stats = await emu.stats();
    assert.ok(stats.resources.loc_1.token_exchanges <= 2, 'the cancelled mint and the new one');
  });
});

test('a delivery whose apply fails on the store answers 503 and is un-marked: its retry is applied, not a duplicate', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000'], async (emu) => {
    // Own store: its delete of the location fails once.
    class FailingDelete extends h.MemoryTokenStore {
      failOnce = null;
      delete(id) {
        if (id === this.failOnce) { this.failOnce = null; throw new Error('store down'); }
        return super.delete(id);
      }
    }
    // Coordinated: the shared store's write of the location fails once.
    class FailingCas extends h.MemorySharedStore {
      failOnce = null;
      cas(id, rev, data) {
        if (id === this.failOnce) { this.failOnce = null; throw new h.HoopAuthError('store_unavailable', 'store_unavailable: store down'); }
        return super.cas(id, rev, data);
      }
    }
    const store = new FailingDelete();
    const shared = new FailingCas();
    const own = newClient(emu, { store });
    const coordinated = newClient(emu, { shared, keys: [new Uint8Array(32).fill(9)] });
    for (const [client, failing] of [[own, store], [coordinated, shared]]) {
      const hook = await endpoint(() => client);
      try {
        await bulkInstall(client, emu, ['loc_1', 'loc_2']);
        await send(emu, { url: hook.url, type: 'INSTALL', bulk: true });
        assert.deepEqual([hook.answers[0].status, hook.answers[0].reason], [200, 'applied']);
        assert.equal((await contacts(client, 'loc_2')).status, 200);
        failing.failOnce = 'loc_2';
        const sent = await send(emu, { url: hook.url, type: 'UNINSTALL', locationId: 'loc_2', revoke: true, times: 2 });
        assert.deepEqual(sent.delivered_statuses, [503, 200]);
        const [, down, retry] = hook.answers;
        assert.deepEqual([down.status, down.reason], [503, 'store_unavailable']);
        assert.deepEqual([retry.status, retry.reason, retry.forgotten], [200, 'applied', ['loc_2']], 'the retry is handled in full');
        await expectKind(contacts(client, 'loc_2'), 'unauthorized');
        // Once applied, the delivery is a duplicate again.
        const again = await client.handleWebhook(sent.body, { 'x-ghl-signature': sent.signature });
        assert.deepEqual([again.status, again.reason], [200, 'duplicate']);
        assert.equal((await contacts(client, 'loc_1')).status, 200);
      } finally {
        await hook.close();
      }
    }
  });
});
