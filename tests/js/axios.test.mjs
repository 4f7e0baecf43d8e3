// The axios adapter (lib/axios.js) against the emulator: axios itself and the npm SDK
// (@gohighlevel/api-client, whose httpClient is an axios instance) over a hoopauth Client —
// the resource from the query, body, path or header, Authorization owned by hoopauth, one
// refresh under a burst, and no 429 ever reaching axios or the SDK. axios and the SDK come
// from bench/ (scripts/setup/node.sh installs them there; @hoopauth/node does not depend on axios).
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import { h, ROOT, IMPL_DIR, startEmulator, authorize, SCOPES } from './helpers.mjs';

const benchRequire = createRequire(path.join(ROOT, 'bench', 'package.json'));
const axios = benchRequire('axios');
const sdk = benchRequire('@gohighlevel/api-client');
const HighLevel = sdk.HighLevel || sdk.default;
// The WASM package's entry does not list the adapter: the same file (its copy of lib/ when
// built since), over its Client.
const implAxios = path.join(IMPL_DIR, 'lib', 'axios.js');
const { axiosAdapter, axiosRequestResource } = h.axiosAdapter ? h
  : createRequire(import.meta.url)(fs.existsSync(implAxios) ? implAxios : path.join(ROOT, 'bindings-node', 'lib', 'axios.js'));
const isHoopAuthError = (e) => e instanceof h.HoopAuthError || (e != null && e.name === 'HoopAuthError');

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

async function install(client, emu, locationId) {
  const state = h.generateState();
  const callback = await authorize(client, emu.baseUrl, { locationId, state, scopes: SCOPES });
  return client.exchangeCode(callback, { expectedState: state });
}

const requests = async (emu) => {
  const s = await emu.stats();
  return Object.fromEntries(LOCS.map((l) => [l, (s.resources[l] || {}).requests || 0]));
};

test('axiosRequestResource: query, SDK path params, JSON and form body, path, header', () => {
  const r = (config) => axiosRequestResource({ baseURL: 'https://x', ...config });
  assert.equal(r({ url: '/contacts/', params: { locationId: 'L1' } }), 'L1');
  assert.equal(r({ url: '/contacts/?location_id=L1&companyId=C1' }), 'L1');
  assert.equal(r({ url: '/locations/search', params: { companyId: 'C1' } }), 'C1');
  assert.equal(r({ url: '/objects/o1', __pathParams: { locationId: 'L4' } }), 'L4');
  assert.equal(r({ url: '/contacts/', data: JSON.stringify({ locationId: 'L2' }), headers: { 'Content-Type': 'application/json' } }), 'L2');
  assert.equal(r({ url: '/x', data: 'companyId=C2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 'C2');
  assert.equal(r({ url: '/locations/L3' }), 'L3');
  assert.equal(r({ url: '/companies/C3/x' }), 'C3');
  assert.equal(r({ url: '/locations/search' }), null);
  assert.equal(r({ url: '/contacts/', params: { locationId: 'L1' }, headers: { 'X-HoopAuth-Resource': 'L9' } }), 'L9');
  assert.equal(r({ url: '/oauth/token', data: 'grant_type=refresh_token', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), null);
});

test('axios over the adapter: resource from query, body, path and header; hoopauth owns Authorization', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000'], async (emu) => {
    const client = newClient(emu, { limits: { max: 20, intervalMs: 1000 } });
    for (const loc of LOCS) await install(client, emu, loc);
    const http = axios.create({ baseURL: emu.baseUrl, adapter: axiosAdapter(client, { AxiosError: axios.AxiosError }) });
    const before = await requests(emu);
    const q = await http.get('/contacts/', { params: { locationId: 'loc_1' } });
    assert.equal(q.status, 200);
    assert.ok(Array.isArray(q.data.contacts), 'axios parsed the JSON body');
    const made = await http.post('/contacts/', { locationId: 'loc_2', firstName: 'Ada' });
    assert.equal(made.status, 201);
    assert.equal(made.data.contact.firstName, 'Ada');
    // the emulator answers /locations/{id} only to that location's token
    const where = await http.get('/locations/loc_3');
    assert.equal(where.status, 200);
    // the header alone names the resource; the platform's 422 rejects as axios does
    await assert.rejects(http.get('/contacts/', { headers: { 'X-HoopAuth-Resource': 'loc_1' } }), (e) => {
      assert.ok(e instanceof axios.AxiosError, String(e));
      assert.equal(e.response.status, 422);
      assert.equal(e.kind, 'client_error');
      return true;
    });
    const after = await requests(emu);
    assert.deepEqual(Object.fromEntries(LOCS.map((l) => [l, after[l] - before[l]])), { loc_1: 2, loc_2: 1, loc_3: 1 });
    // a caller-set Authorization: refused unless hoopauth may replace it
    await assert.rejects(http.get('/contacts/', { params: { locationId: 'loc_1' }, headers: { Authorization: 'Bearer theirs' } }), (e) => {
      assert.ok(isHoopAuthError(e), String(e));
      assert.equal(e.kind, 'invalid_argument');
      assert.ok(!e.message.includes('theirs'));
      return true;
    });
    const replacing = axios.create({ baseURL: emu.baseUrl, adapter: axiosAdapter(client, { replaceAuthorization: true }) });
    const ok = await replacing.get('/contacts/', { params: { locationId: 'loc_1' }, headers: { Authorization: 'Bearer theirs' } });
    assert.equal(ok.status, 200);
    // no tokens for the resource: hoopauth's error, nothing sent
    await assert.rejects(http.get('/contacts/', { params: { locationId: 'loc_9' } }), isHoopAuthError);
    // no resource: sent as it is (the emulator's own route)
    const sends = client.stats().sends;
    const raw = await http.get('/_emulator/stats');
    assert.equal(raw.status, 200);
    assert.equal(client.stats().sends, sends);
  });
});

test('axios over the adapter: a burst of 90 over 3 locations at 20 per second gets no 429', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000'], async (emu) => {
    const client = newClient(emu, { limits: { max: 20, intervalMs: 1000 } });
    for (const loc of LOCS) await install(client, emu, loc);
    await emu.reset();
    const http = axios.create({ baseURL: emu.baseUrl, adapter: axiosAdapter(client) });
    const rs = await Promise.all(Array.from({ length: 90 }, (_, i) => http.get('/contacts/', { params: { locationId: LOCS[i % 3] } })));
    assert.deepEqual(rs.map((r) => r.status), Array(90).fill(200));
    const s = await emu.stats();
    assert.equal(s.totals.rate_limited, 0);
    assert.ok(s.max_in_interval <= 20, `max_in_interval ${s.max_in_interval}`);
  });
});

test('axios over the adapter: an expired token is refreshed once under 40 concurrent requests', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000', '--token-ttl-secs', '2'], async (emu) => {
    const client = newClient(emu, { limits: { max: 20, intervalMs: 1000 }, session: { refreshLeewayMs: 0 } });
    const tokens = await install(client, emu, 'loc_1');
    await new Promise((r) => setTimeout(r, tokens.expiresAtMs - Date.now() + 300));
    await emu.reset();
    const http = axios.create({ baseURL: emu.baseUrl, adapter: axiosAdapter(client) });
    const rs = await Promise.all(Array.from({ length: 40 }, () => http.get('/contacts/', { params: { locationId: 'loc_1' } })));
    assert.deepEqual(rs.map((r) => r.status), Array(40).fill(200));
    const s = await emu.stats();
    assert.equal(s.totals.refreshes, 1);
    assert.equal(s.totals.rate_limited, 0);
    assert.equal(s.totals.unauthorized, 0);
  });
});

test('the npm SDK over the adapter: typed calls, a burst with tokens coming due, no 429 reaches it', async () => {
  await withEmulator(['--max', '20', '--interval-ms', '1000', '--token-ttl-secs', '3'], async (emu) => {
    const client = newClient(emu, { limits: { max: 20, intervalMs: 1000 }, session: { refreshLeewayMs: 0 } });
    let tokens;
    for (const loc of LOCS) tokens = await install(client, emu, loc);
    HighLevel.BASE_URL = emu.baseUrl;
    // The SDK wants a token of its own before it sends: a placeholder, which hoopauth replaces.
    const ghl = new HighLevel({ privateIntegrationToken: 'hoopauth-managed', logLevel: 'error' });
    ghl.httpClient.defaults.baseURL = emu.baseUrl;
    ghl.httpClient.defaults.adapter = axiosAdapter(client, { replaceAuthorization: true, AxiosError: axios.AxiosError });
    const seen = {};
    ghl.httpClient.interceptors.response.use((r) => { seen[r.status] = (seen[r.status] || 0) + 1; return r; });
    // path parameter, JSON body, query
    const where = await ghl.locations.getLocation({ locationId: 'loc_2' });
    assert.equal(typeof where, 'object');
    const made = await ghl.contacts.createContact({ locationId: 'loc_3', firstName: 'Ada' });
    assert.equal(made.contact.firstName, 'Ada');
    // 90 calls, 30 per location (the limit: 20 per second), after the tokens expired
    await new Promise((r) => setTimeout(r, tokens.expiresAtMs - Date.now() + 300));
    await emu.reset();
    const rs = await Promise.all(Array.from({ length: 90 }, (_, i) => ghl.contacts.getContacts({ locationId: LOCS[i % 3] })));
    assert.equal(rs.length, 90);
    for (const r of rs) assert.ok(Array.isArray(r.contacts));
    const s = await emu.stats();
    assert.equal(s.totals.rate_limited, 0);
    assert.equal(s.totals.unauthorized, 0);
    assert.equal(s.totals.invalid_grants, 0);
    assert.equal(s.totals.refreshes, 3, 'one refresh per location');
    assert.deepEqual(Object.keys(seen).sort(), ['200', '201']);
  });
});

test('axios over the adapter: a request aborted while it waits for its window rejects at once, and holds nothing after', async () => {
  await withEmulator(['--max', '2', '--interval-ms', '2000'], async (emu) => {
    const client = newClient(emu, { limits: { max: 2, intervalMs: 2000 } });
    await install(client, emu, 'loc_1');
    const http = axios.create({ baseURL: emu.baseUrl, adapter: axiosAdapter(client, { AxiosError: axios.AxiosError }) });
    // Two sends fill the window; the third waits for it, and is aborted while it waits.
    await http.get('/contacts/', { params: { locationId: 'loc_1' } });
    await http.get('/contacts/', { params: { locationId: 'loc_1' } });
    const ac = new AbortController();
    const t0 = Date.now();
    const waiting = http.get('/contacts/', { params: { locationId: 'loc_1' }, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user went away')), 100);
    await assert.rejects(waiting);
    const took = Date.now() - t0;
    assert.ok(took < 1500, `the abort ended the wait (${took} ms), not the window`);
    assert.equal((await emu.stats()).resources.loc_1.requests, 2, 'the aborted request was never sent');
    // Its slot and the session are free: the next request goes out when the window allows.
    const next = await http.get('/contacts/', { params: { locationId: 'loc_1' } });
    assert.equal(next.status, 200);
    assert.equal((await emu.stats()).resources.loc_1.requests, 3);
  });
});
