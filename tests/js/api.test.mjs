// The JS API: shapes, errors (every core kind maps), inputs in their several forms.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { h, ROOT, IMPL_DIR } from './helpers.mjs';

const require = createRequire(import.meta.url);

const CONFIG = { clientId: '65f1c0ffee-lx2k9', clientSecret: 's3cr3t-Value', redirectUri: 'https://myapp.com/oauth/callback' };
const app = new h.App(CONFIG);

function kindsOfApiDts() {
  const dts = fs.readFileSync(path.join(ROOT, 'tests', 'js', 'api.d.ts'), 'utf8');
  const m = /export type ErrorKind =([^;]+);/.exec(dts);
  return [...m[1].matchAll(/'([a-z_]+)'/g)].map((x) => x[1]);
}

test('ERROR_KINDS is the core list and the api.d.ts union, in order', () => {
  assert.deepEqual([...h.ERROR_KINDS], kindsOfApiDts());
  assert.ok(h.ERROR_KINDS.includes('store_error'));
  assert.ok(Object.isFrozen(h.ERROR_KINDS));
});

test('every core kind maps to a HoopAuthError with that kind', () => {
  for (const kind of h.ERROR_KINDS) {
    const native = Object.assign(new Error(`${kind}: something`), { kind, status: 418, retryAfterMs: 5 });
    const e = h._internal.toHoopAuthError(native);
    assert.ok(e instanceof h.HoopAuthError && e instanceof Error, kind);
    assert.equal(e.kind, kind);
    assert.equal(e.status, 418);
    assert.equal(e.retryAfterMs, 5);
    assert.equal(e.name, 'HoopAuthError');
    // the message prefix alone is enough too
    assert.equal(h._internal.toHoopAuthError(new Error(`${kind}: x`)).kind, kind);
  }
});

function kindOf(fn) {
  try { fn(); } catch (e) { assert.ok(e instanceof h.HoopAuthError, `not a HoopAuthError: ${e}`); return e; }
  assert.fail('did not throw');
}

test('errors thrown by the native core carry kind, status and retryAfterMs', () => {
  const tok = (status, body) => () => h.parseTokenResponse({ status, body }, 0);
  assert.equal(kindOf(() => new h.App({ clientId: '' })).kind, 'invalid_config');
  assert.equal(kindOf(() => app.apiRequest({ method: 'BREW', path: '/x', accessToken: 't' })).kind, 'invalid_argument');
  assert.equal(kindOf(() => app.authorizationUrl({ scopes: [] })).kind, 'invalid_scope');
  assert.equal(kindOf(() => h.parseCallback('https://a/cb?error=access_denied')).kind, 'authorization_denied');
  assert.equal(kindOf(() => h.parseCallback('https://a/cb?code=1&state=a', 'b')).kind, 'state_mismatch');
  assert.equal(kindOf(() => h.parseCallback('https://a/cb?state=a')).kind, 'missing_code');
  const g = kindOf(tok(400, '{"error":"invalid_grant"}'));
  assert.equal(g.kind, 'invalid_grant');
  assert.equal(g.status, 400);
  assert.match(g.message, /^invalid_grant: /);
  assert.equal(kindOf(tok(401, '{"error":"invalid_client"}')).kind, 'invalid_client');
  assert.equal(kindOf(tok(400, '{"error":"invalid_request"}')).kind, 'invalid_request');
  assert.equal(kindOf(tok(400, '{"message":"Location is not active"}')).kind, 'location_inactive');
  assert.equal(kindOf(tok(429, '')).kind, 'rate_limited');
  assert.equal(kindOf(tok(503, '')).kind, 'server_error');
  assert.equal(kindOf(tok(400, '{"error":"unsupported_grant_type"}')).kind, 'client_error');
  assert.equal(kindOf(tok(200, 'not json')).kind, 'malformed_response');
  assert.equal(kindOf(tok(302, '')).kind, 'unexpected_status');
  assert.equal(kindOf(() => h.verifyWebhook({ body: '{}', signature: 'x', publicKey: 'nope' })).kind, 'invalid_key');
  // wrong argument types become invalid_argument, never a bare TypeError
  assert.equal(kindOf(() => h.classifyResponse({ status: 'x' })).kind, 'invalid_argument');
});

test('App: getters, authorization URL, requests as plain data', () => {
  assert.equal(app.clientId, CONFIG.clientId);
  assert.equal(app.apiBase, 'https://services.leadconnectorhq.com');
  const url = new URL(app.authorizationUrl({ scopes: ['contacts.readonly'], state: 'st', versionId: 'auto' }));
  assert.equal(url.searchParams.get('state'), 'st');
  assert.equal(url.searchParams.get('version_id'), '65f1c0ffee');
  const r = app.apiRequest({ method: 'post', path: '/contacts/', json: { a: 1 }, accessToken: 'at', query: { locationId: 'l', n: 2 } });
  assert.equal(r.method, 'POST');
  assert.equal(r.url, 'https://services.leadconnectorhq.com/contacts/?locationId=l&n=2');
  assert.equal(r.body, '{"a":1}');
  assert.deepEqual(r.headers.find(([k]) => k === 'Content-Type'), ['Content-Type', 'application/json']);
  const t = app.tokenRequest({ grant: 'refresh_token', refreshToken: 'rt', userType: 'location' });
  assert.match(t.body, /user_type=Location/);
  const l = app.locationTokenRequest({ agencyAccessToken: 'a', companyId: 'c', locationId: 'l' });
  assert.equal(l.url, 'https://services.leadconnectorhq.com/oauth/locationToken');
  assert.equal(kindOf(() => app.apiRequest({ path: 'https://evil.example/x', accessToken: 't' })).kind, 'invalid_argument');
});

test('headers are accepted as a record, pairs, a Headers object and a Map', () => {
  const forms = [
    { 'X-RateLimit-Max': '7', 'x-ratelimit-remaining': '3' },
    [['X-RateLimit-Max', '7'], ['x-ratelimit-remaining', '3']],
    new Headers({ 'X-RateLimit-Max': '7', 'x-ratelimit-remaining': '3' }),
    new Map([['X-RateLimit-Max', '7'], ['x-ratelimit-remaining', '3']]),
  ];
  for (const f of forms) {
    const r = h.parseRateLimitHeaders(f);
    assert.equal(r.max, 7);
    assert.equal(r.remaining, 3);
    assert.equal(r.dailyLimit, null);
  }
  const c = h.classifyResponse({ status: 429, headers: new Headers({ 'retry-after': '2' }) });
  assert.deepEqual(c, { kind: 'rate_limited', status: 429, retryable: true, rateLimitScope: 'burst', retryAfterMs: 2000, message: null });
});

test('parseTokenResponse returns every field, extra keeps unknown ones', () => {
  const t = h.parseTokenResponse({ status: 200, body: '{"access_token":"a","expires_in":10,"userType":"Company","companyId":"c","x":[1]}' }, 1000);
  assert.equal(t.accessToken, 'a');
  assert.equal(t.expiresAtMs, 11000);
  assert.equal(t.userType, 'Company');
  assert.equal(t.refreshToken, null);
  assert.deepEqual(t.scopes, []);
  assert.deepEqual(t.extra, { x: [1] });
  assert.deepEqual(Object.keys(t).sort(), ['accessToken', 'approvedLocations', 'companyId', 'expiresAtMs', 'expiresIn', 'extra',
    'isBulkInstallation', 'locationId', 'planId', 'refreshToken', 'scopes', 'tokenType', 'userId', 'userType']);
});

test('generateState: caller bytes or crypto.getRandomValues', () => {
  assert.equal(h.generateState(new Uint8Array(16)), 'AAAAAAAAAAAAAAAAAAAAAA');
  const a = h.generateState();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, h.generateState());
  assert.equal(kindOf(() => h.generateState(new Uint8Array(8))).kind, 'invalid_argument');
});

const use = (a) => ({ action: a.action, accessToken: a.accessToken });

test('RateLimiter and TokenSession', () => {
  const l = new h.RateLimiter({ max: 2, intervalMs: 1000, marginMs: 0 });
  assert.deepEqual(l.limits, { max: 2, intervalMs: 1000, marginMs: 0, dailyMax: 200000, answerTimeoutMs: 60000 });
  assert.deepEqual(l.acquire(0), { allow: true, sendId: 0 });
  assert.deepEqual(l.acquire(0), { allow: true, sendId: 1 });
  l.answered(0, 0);
  l.answered(1, 0);
  assert.deepEqual(l.check(10), { allow: false, waitMs: 990, dailyExhausted: false });
  l.observe(20, 429, { 'retry-after': '5' });
  assert.equal(l.acquire(1500).allow, false);

  const s = new h.TokenSession(app, { refreshLeewayMs: 0 });
  assert.deepEqual(s.acquire(0), { action: 'reauthorize' });
  s.load({ response: { status: 200, body: '{"access_token":"a1","refresh_token":"r1","expires_in":10,"userType":"Location","locationId":"l"}' }, nowMs: 0 });
  assert.deepEqual(use(s.acquire(5000)), { action: 'use', accessToken: 'a1' });
  assert.deepEqual(s.acquire(5000).expose(), { action: 'use', accessToken: 'a1' });
  const r = s.acquire(10000);
  assert.equal(r.action, 'refresh');
  assert.match(r.request.body, /refresh_token=r1/);
  assert.equal(s.acquire(10001).action, 'wait');
  const back = h.TokenSession.fromStored(app, s.toStored(), { refreshLeewayMs: 0 });
  assert.equal(back.version, s.version);
  const t = s.refreshResponse({ status: 200, body: '{"access_token":"a2","refresh_token":"r2","expires_in":10}' }, 10000);
  assert.equal(t.locationId, 'l'); // kept from the old set
  assert.deepEqual(use(s.acquire(10002)), { action: 'use', accessToken: 'a2' });
  assert.equal(s.apiResponse({ status: 401, body: '{"message":"Invalid JWT"}' }, 'a2'), 'unauthorized');
  assert.equal(s.acquire(10003).action, 'refresh');
  // a plain TokenSet (e.g. from a user's own store) loads too, missing fields and all
  const p = new h.TokenSession(app);
  p.load({ accessToken: 'x' });
  assert.deepEqual(use(p.acquire(0)), { action: 'use', accessToken: 'x' });
  p.loadPrivate('pit-1');
  assert.deepEqual(use(p.acquire(0)), { action: 'use', accessToken: 'pit-1' });
});

test('request objects: usable as fetch input, printed redacted, raw data through expose()', async () => {
  const req = app.tokenRequest({ grant: 'refresh_token', refreshToken: 'rt-SECRET', userType: 'Location' });
  assert.match(req.body, /refresh_token=rt-SECRET/);
  assert.deepEqual(Object.keys(req), ['method', 'url', 'headers']);
  const plain = req.expose();
  assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  assert.equal(plain.body, req.body);
  assert.deepEqual(plain.headers, req.headers.map((p) => [p[0], p[1]]));
  // fetch(request.url, { method, headers, body }) sends the real values
  let seen;
  const server = await new Promise((resolve) => {
    const http = require('node:http');
    const srv = http.createServer((rq, rs) => {
      let b = '';
      rq.on('data', (c) => { b += c; });
      rq.on('end', () => { seen = { auth: rq.headers.authorization, body: b }; rs.end('{}'); });
    }).listen(0, '127.0.0.1', () => resolve(srv));
  });
  try {
    const a = app.apiRequest({ method: 'POST', path: '/contacts/', json: { n: 1 }, accessToken: 'at-SECRET' });
    const { port } = server.address();
    const url = `http://127.0.0.1:${port}/x`;
    await (await fetch(url, { method: a.method, headers: a.headers, body: a.body })).text();
    assert.deepEqual(seen, { auth: 'Bearer at-SECRET', body: '{"n":1}' });
    await (await fetch(url, { method: req.method, headers: req.headers, body: req.body })).text();
    assert.match(seen.body, /refresh_token=rt-SECRET/);
  } finally {
    server.close();
  }
  const cb = h.parseCallback('?code=c-SECRET&state=s', 's');
  assert.equal(cb.code, 'c-SECRET');
  assert.equal(cb.state, 's');
  assert.deepEqual(cb.expose(), { code: 'c-SECRET', state: 's' });
});

test('webhooks: events and the stateful verifier', () => {
  const ev = h.parseWebhookEvent('{"type":"INSTALL","appId":"a","locationId":"l","installType":"Location"}');
  assert.equal(ev.type, 'INSTALL');
  assert.equal(ev.appId, 'a');
  assert.equal(ev.locationId, 'l');
  assert.equal(ev.companyId, null);
  const un = h.parseWebhookEvent(new TextEncoder().encode('{"type":"UNINSTALL","locationId":"l"}'));
  assert.equal(un.type, 'UNINSTALL');
  const other = h.parseWebhookEvent('{"type":"ContactCreate","id":"c1"}');
  assert.deepEqual(other, { type: 'ContactCreate', id: 'c1' });
  assert.equal(kindOf(() => h.parseWebhookEvent('[1]')).kind, 'malformed_response');
  const v = new h.WebhookVerifier();
  assert.deepEqual(v.verify('{}', {}), { valid: false, reason: 'bad_signature' });
  assert.equal(kindOf(() => new h.WebhookVerifier({ publicKey: 'garbage' })).kind, 'invalid_key');
});

test('scopes', () => {
  assert.ok(h.KNOWN_SCOPES.includes('contacts.readonly'));
  assert.equal(h.suggestScope('contacts.readonly'), null); // known: nothing to suggest
  assert.equal(h.suggestScope('contact.readonly'), 'contacts.readonly');
});

test('package version equals the workspace version', () => {
  const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  const version = /\[workspace\.package\][^[]*?\nversion\s*=\s*"([^"]+)"/.exec(cargo)[1];
  const pkgs = [path.join(ROOT, 'bindings-node', 'package.json'), path.join(IMPL_DIR, 'package.json')];
  for (const p of pkgs) if (fs.existsSync(p)) assert.equal(JSON.parse(fs.readFileSync(p, 'utf8')).version, version, p);
});

test('ESM entry exports the same API', async () => {
  const esmPath = path.join(IMPL_DIR, 'index.mjs');
  if (!fs.existsSync(esmPath)) return;
  const esm = await import(esmPath);
  for (const name of ['App', 'Client', 'HoopAuthError', 'MemoryTokenStore', 'parseTokenResponse', 'ERROR_KINDS', 'KNOWN_SCOPES', 'WebhookVerifier']) {
    assert.equal(esm[name], h[name], name);
  }
});
