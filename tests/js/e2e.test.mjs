// End to end against the emulator binary over loopback with the real global fetch.
import test from 'node:test';
import assert from 'node:assert/strict';
import { h, startEmulator, authorize, SCOPES } from './helpers.mjs';

const LOCS = ['loc_1', 'loc_2', 'loc_3'];

async function withEmulator(flags, fn) {
  const emu = await startEmulator(flags);
  try { return await fn(emu); } finally { emu.stop(); }
}

function newClient(emu, extra = {}) {
  const app = new h.App({
    clientId: emu.info.client_id, clientSecret: emu.info.client_secret,
    redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: emu.baseUrl, marketplace: emu.baseUrl,
  });
  return new h.Client({ app, ...extra });
}

async function install(client, emu, locationId, scopes = SCOPES) {
  const state = h.generateState();
  const callback = await authorize(client, emu.baseUrl, { locationId, state, scopes });
  return client.exchangeCode(callback, { expectedState: state });
}

async function expectKind(promise, kind) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof h.HoopAuthError, `not a HoopAuthError: ${e}`);
    assert.equal(e.kind, kind, e.message);
    return true;
  });
}

test('the journey: authorize three locations, paced calls to each, reads and writes', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000'], async (emu) => {
    const store = new h.MemoryTokenStore();
    const client = newClient(emu, { store, limits: { max: 20, intervalMs: 1000 } });
    for (const loc of LOCS) {
      const t = await install(client, emu, loc);
      assert.equal(t.locationId, loc);
      assert.equal(t.userType, 'Location');
      assert.ok(store.get(loc), 'stored after the exchange');
    }
    const calls = [];
    for (let i = 0; i < 90; i++) {
      const loc = LOCS[i % 3];
      calls.push(client.request(loc, { path: '/contacts/', query: { locationId: loc } }));
    }
    const responses = await Promise.all(calls);
    for (const r of responses) { assert.equal(r.status, 200); assert.equal(typeof r.json(), 'object'); }
    const created = await client.request('loc_2', { method: 'POST', path: '/contacts/', json: { locationId: 'loc_2', firstName: 'Ada' } });
    assert.ok(created.status >= 200 && created.status < 300);
    assert.equal(typeof created.headers['content-type'], 'string');
    const loc = await client.request('loc_3', { path: '/locations/loc_3' });
    assert.equal(loc.status, 200);
    const stats = await emu.stats();
    assert.equal(stats.totals.rate_limited, 0);
    assert.equal(stats.totals.ok, 92);
    assert.equal(stats.totals.token_exchanges, 3);
    // a second client over the same store picks the sessions up without re-authorizing
    const again = newClient(emu, { store, limits: { max: 20, intervalMs: 1000 } });
    assert.equal((await again.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } })).status, 200);
  });
});

test('expiry mid-run: 100 concurrent calls on an expired token cause exactly one refresh', async () => {
  await withEmulator(['--token-ttl-secs', '2', '--max', '500', '--interval-ms', '1000'], async (emu) => {
    const store = new h.MemoryTokenStore();
    const client = newClient(emu, { store, session: { refreshLeewayMs: 0 }, limits: { max: 500, intervalMs: 1000 } });
    await install(client, emu, 'loc_1');
    const before = store.get('loc_1');
    assert.equal((await client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } })).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    const results = await Promise.all(Array.from({ length: 100 }, () =>
      client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } })));
    assert.ok(results.every((r) => r.status === 200));
    const s = (await emu.stats()).resources.loc_1;
    assert.equal(s.refreshes, 1, JSON.stringify(s));
    assert.equal(s.invalid_grants, 0);
    assert.equal(client.stats().refreshes, 1);
    assert.notEqual(store.get('loc_1'), before, 'the new tokens were persisted');
  });
});

test('a burst of 300 calls to one location draws no 429', async () => {
  await withEmulator(['--max', '60', '--interval-ms', '1000'], async (emu) => {
    const client = newClient(emu, { limits: { max: 60, intervalMs: 1000 } });
    await install(client, emu, 'loc_1');
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 300 }, () =>
      client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } })));
    assert.ok(results.every((r) => r.status === 200));
    assert.ok(Date.now() - t0 >= 4000, 'paced over at least four windows');
    const s = (await emu.stats()).resources.loc_1;
    assert.equal(s.rate_limited, 0);
    assert.equal(s.ok, 300);
  });
});

test('maxInFlight bounds the fetches in flight; waiting calls hold no slot', async () => {
  await withEmulator(['--max', '40', '--interval-ms', '1000'], async (emu) => {
    let inFlight = 0;
    let peak = 0;
    const counting = async (url, init) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try { return await fetch(url, init); } finally { inFlight--; }
    };
    const client = newClient(emu, { fetch: counting, maxInFlight: 4, limits: { max: 40, intervalMs: 1000 } });
    await install(client, emu, 'loc_1');
    await install(client, emu, 'loc_2');
    peak = 0;
    // 60 calls to loc_1 (20 must wait a window) beside 40 to loc_2: the waiting ones must
    // not starve loc_2, and no more than 4 requests are ever in flight.
    const t0 = Date.now();
    const calls = [];
    for (let i = 0; i < 60; i++) calls.push(client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } }));
    const second = Array.from({ length: 40 }, () => client.request('loc_2', { path: '/contacts/', query: { locationId: 'loc_2' } }));
    const loc2 = await Promise.all(second);
    const loc2Ms = Date.now() - t0;
    const loc1 = await Promise.all(calls);
    assert.ok([...loc1, ...loc2].every((r) => r.status === 200));
    assert.equal(peak, 4, 'four in flight at the peak, never more');
    assert.ok(loc2Ms < 900, `loc_2 finished in ${loc2Ms} ms, behind loc_1's waiting calls`);
    assert.equal((await emu.stats()).totals.rate_limited, 0);
  });
  for (const bad of [0, -1, 1.5, '4']) {
    assert.throws(() => new h.Client({ app: { clientId: 'c', clientSecret: 's', redirectUri: 'http://127.0.0.1:9/cb' }, maxInFlight: bad }),
      (e) => e instanceof h.HoopAuthError && e.kind === 'invalid_config');
  }
});

test('lost refresh answer: the same refresh token is resent within the grace, no re-authorization', async () => {
  await withEmulator(['--token-ttl-secs', '2'], async (emu) => {
    const client = newClient(emu, { session: { refreshLeewayMs: 0 } });
    await install(client, emu, 'loc_1');
    await emu.control({ drop_after_rotate: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const t0 = Date.now();
    const r = await client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 < 30000);
    assert.equal(client.stats().refreshes, 2, 'one lost, one resent');
    const s = (await emu.stats()).resources.loc_1;
    assert.equal(s.invalid_grants, 0);
    // and the recovered session keeps working
    assert.equal((await client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } })).status, 200);
  });
});

test('error paths surface as the right kind', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000', '--token-ttl-secs', '2'], async (emu) => {
    const client = newClient(emu, { session: { refreshLeewayMs: 0 }, call: { backoffBaseMs: 5, backoffMaxMs: 20 } });
    // read-only install: writing is insufficient_scope
    await install(client, emu, 'loc_1', ['contacts.readonly', 'locations.readonly']);
    await expectKind(client.request('loc_1', { method: 'POST', path: '/contacts/', json: { locationId: 'loc_1' } }), 'insufficient_scope');
    // another location's data with loc_1's token
    await expectKind(client.request('loc_1', { path: '/locations/loc_2' }), 'forbidden');
    await expectKind(client.request('loc_1', { path: '/nowhere' }), 'not_found');
    // nobody authorized loc_9
    await expectKind(client.request('loc_9', { path: '/contacts/', query: { locationId: 'loc_9' } }), 'unauthorized');
    // a code is single-use
    const state = h.generateState();
    const cb = await authorize(client, emu.baseUrl, { locationId: 'loc_2', state, scopes: SCOPES });
    await client.exchangeCode(cb, { expectedState: state });
    await expectKind(client.exchangeCode(cb, { expectedState: state }), 'invalid_grant');
    await expectKind(client.exchangeCode(cb, { expectedState: 'other' }), 'state_mismatch');
    // the user says no
    await emu.control({ deny: true });
    const denied = await authorize(client, emu.baseUrl, { locationId: 'loc_3', state, scopes: SCOPES });
    await expectKind(client.exchangeCode(denied, { expectedState: state }), 'authorization_denied');
    await emu.control({ deny: false });
    // a failing server: a POST is not retried, a GET is retried then fails
    await emu.control({ fail_rate: 1 });
    await expectKind(client.request('loc_2', { method: 'POST', path: '/contacts/', json: { locationId: 'loc_2' } }), 'server_error');
    await expectKind(client.request('loc_2', { path: '/contacts/', query: { locationId: 'loc_2' } }), 'server_error');
    await emu.control({ fail_rate: 0 });
    // a paused location cannot refresh
    await emu.control({ paused_locations: ['loc_2'] });
    await new Promise((r) => setTimeout(r, 2100));
    await expectKind(client.request('loc_2', { path: '/contacts/', query: { locationId: 'loc_2' } }), 'location_inactive');
    // wrong client secret
    const bad = new h.Client({ app: { clientId: emu.info.client_id, clientSecret: 'wrong', redirectUri: 'http://127.0.0.1:9/cb', apiBase: emu.baseUrl, marketplace: emu.baseUrl } });
    const cb2 = await authorize(bad, emu.baseUrl, { locationId: 'loc_3', state, scopes: SCOPES });
    await expectKind(bad.exchangeCode(cb2), 'invalid_client');
    // nothing listening: a transport failure of the exchange is a server_error
    const dead = new h.Client({ app: { clientId: 'a-b', clientSecret: 's', apiBase: 'http://127.0.0.1:9' } });
    await expectKind(dead.exchangeCode('some-code'), 'server_error');
  });
});

test('location token from a company token; private integration token', async () => {
  await withEmulator(['--max', '50', '--interval-ms', '1000'], async (emu) => {
    let mints = 0;
    const counting = (url, init) => {
      if (String(url).includes('/oauth/locationToken')) mints++;
      return fetch(url, init);
    };
    const client = newClient(emu, { fetch: counting });
    // a company token (client_credentials; the emulator grants the scopes asked for in `scope`)
    const tokenReq = client.app.tokenRequest({ grant: 'client_credentials', userType: 'Company' });
    const sentAt = Date.now();
    const resp = await fetch(tokenReq.url, {
      method: tokenReq.method, headers: tokenReq.headers,
      body: `${tokenReq.body}&scope=${encodeURIComponent('contacts.readonly locations.readonly')}`,
    });
    const company = h.parseTokenResponse({ status: resp.status, headers: resp.headers, body: await resp.text() }, sentAt);
    assert.equal(company.userType, 'Company');
    const id = await client.setTokens(company);
    assert.equal(id, company.companyId);
    const loc = await client.locationToken(id, 'loc_2');
    assert.equal(loc.locationId, 'loc_2');
    assert.equal(mints, 1);
    // concurrent callers for one location share one mint; another location mints its own
    const [a, b, c] = await Promise.all([client.locationToken(id, 'loc_1'), client.locationToken(id, 'loc_1'),
      client.locationToken(id, 'loc_3')]);
    assert.equal(mints, 3);
    assert.equal(a.locationId, 'loc_1');
    assert.equal(b.locationId, 'loc_1');
    assert.equal(c.locationId, 'loc_3');
    assert.equal((await client.request('loc_2', { path: '/contacts/', query: { locationId: 'loc_2' } })).status, 200);
    await expectKind(client.locationToken(id, 'loc_404'), 'invalid_request');
    // a private token the platform does not know: refused, and there is nothing to refresh
    await client.usePrivateToken('loc_3', 'pit-unknown');
    await expectKind(client.request('loc_3', { path: '/contacts/', query: { locationId: 'loc_3' } }), 'unauthorized');
  });
});

test('webhooks sent by the emulator verify with its key; tampering fails', async () => {
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
      const sent = await fetch(`${emu.baseUrl}/_emulator/webhooks/send`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, type: 'INSTALL', locationId: 'loc_1' }),
      });
      assert.equal(sent.status, 200);
      assert.equal(received.length, 1);
      const { headers, body } = received[0];
      const verifier = new h.WebhookVerifier({ publicKey: emu.info.webhook_public_key });
      assert.deepEqual(verifier.verify(new Uint8Array(body), headers), { valid: true, reason: 'ok' });
      assert.deepEqual(verifier.verify(new Uint8Array(body), headers), { valid: false, reason: 'duplicate' });
      assert.deepEqual(h.verifyWebhook({ body: body.toString('utf8'), signature: headers['x-ghl-signature'], publicKey: emu.info.webhook_public_key, nowMs: Date.now() }), { valid: true, reason: 'ok' });
      const tampered = body.toString('utf8').replace('loc_1', 'loc_2');
      assert.equal(h.verifyWebhook({ body: tampered, signature: headers['x-ghl-signature'], publicKey: emu.info.webhook_public_key }).reason, 'bad_signature');
      const ev = h.parseWebhookEvent(body);
      assert.equal(ev.type, 'INSTALL');
      assert.equal(ev.locationId, 'loc_1');
    } finally {
      server.close();
    }
  });
});

test('two clients (processes) over one compare-and-set store refresh once between them', async () => {
  await withEmulator(['--token-ttl-secs', '2', '--max', '500', '--interval-ms', '1000'], async (emu) => {
    // A shared store that writes only a newer `version` (what a Redis/SQL store would do).
    const map = new Map();
    const casStore = {
      async get(id) { await new Promise((r) => setTimeout(r, 1)); return map.get(id) ?? null; },
      async set(id, stored) {
        await new Promise((r) => setTimeout(r, 1));
        const held = map.get(id);
        if (held && JSON.parse(held).version >= JSON.parse(stored).version) return false;
        map.set(id, stored);
        return true;
      },
    };
    const opts = { store: casStore, session: { refreshLeewayMs: 0 }, call: { coordinateRefresh: true }, limits: { max: 500, intervalMs: 1000 } };
    const a = newClient(emu, opts);
    const b = newClient(emu, opts);
    await install(a, emu, 'loc_1');
    assert.equal((await b.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } })).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    const q = { path: '/contacts/', query: { locationId: 'loc_1' } };
    const results = await Promise.all([...Array.from({ length: 20 }, () => a.request('loc_1', q)), ...Array.from({ length: 20 }, () => b.request('loc_1', q))]);
    assert.ok(results.every((r) => r.status === 200));
    const s = (await emu.stats()).resources.loc_1;
    assert.equal(s.refreshes, 1, JSON.stringify(s));
    assert.equal(s.invalid_grants, 0);
  });
});
