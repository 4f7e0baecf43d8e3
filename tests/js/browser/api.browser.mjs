// Browser-side checks of the WASM package beyond the vectors: no client secret needed for the
// authorization URL and the callback, state from crypto.getRandomValues, HoopAuthError kinds,
// redaction of secrets in every printable form a page has (JSON, toString, templates, errors).
import test from 'node:test';
import assert from 'node:assert/strict';
import { h } from '../helpers.mjs';

const SECRET = 'client-secret-XYZZY';
const AT = 'access-token-PLUGH';
const RT = 'refresh-token-FROB';
const CODE = 'auth-code-GRUE';
const clean = (text, what) => {
  for (const s of [SECRET, AT, RT, CODE]) assert.ok(!String(text).includes(s), `${what} leaks ${s}: ${text}`);
};
const forms = (o, what) => {
  clean(JSON.stringify(o) ?? '', `${what} JSON`);
  clean(String(o), `${what} String`);
  clean(`${o}`, `${what} template`);
};

test('runs in a browser, not in Node', () => {
  assert.equal(typeof globalThis.process, 'undefined');
  assert.equal(typeof globalThis.window, 'object');
});

test('authorization URL and callback without a client secret', () => {
  const app = new h.App({ clientId: '65f1c0ffee-abc', redirectUri: 'https://app.example/cb' });
  const state = h.generateState();
  const url = new URL(app.authorizationUrl({ scopes: ['contacts.readonly', 'contacts.readonly', 'locations.readonly'], state, versionId: 'auto' }));
  assert.equal(url.origin + url.pathname, 'https://marketplace.gohighlevel.com/oauth/chooselocation');
  assert.equal(url.searchParams.get('scope'), 'contacts.readonly locations.readonly');
  assert.equal(url.searchParams.get('state'), state);
  assert.equal(url.searchParams.get('version_id'), '65f1c0ffee');
  const cb = h.parseCallback(`https://app.example/cb?code=${CODE}&state=${state}`, state);
  assert.equal(cb.code, CODE);
  assert.equal(cb.state, state);
  assert.throws(() => h.parseCallback(`https://app.example/cb?code=${CODE}&state=other`, state),
    (e) => e instanceof h.HoopAuthError && e.kind === 'state_mismatch');
  assert.throws(() => h.parseCallback('?error=access_denied', state), (e) => e.kind === 'authorization_denied');
  assert.throws(() => h.parseCallback(`?state=${state}`, state), (e) => e.kind === 'missing_code');
  // A token request needs the secret: refused in the browser, with a kind.
  assert.throws(() => app.tokenRequest({ grant: 'authorization_code', code: CODE }),
    (e) => e instanceof h.HoopAuthError && e.kind === 'invalid_config' && !e.message.includes(CODE));
});

test('state comes from crypto.getRandomValues (32 bytes, base64url)', () => {
  const seen = new Set();
  for (let i = 0; i < 50; i++) {
    const s = h.generateState();
    assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 50);
  const fixed = new Uint8Array(16).fill(255);
  assert.equal(h.generateState(fixed), '_____________________w');
  assert.throws(() => h.generateState(new Uint8Array(8)), (e) => e.kind === 'invalid_argument');
  // Spy on the browser's RNG: generateState() must use it.
  const orig = crypto.getRandomValues.bind(crypto);
  let calls = 0;
  crypto.getRandomValues = (a) => { calls++; return orig(a); };
  try { h.generateState(); } finally { crypto.getRandomValues = orig; }
  assert.equal(calls, 1);
});

test('every core error kind is a HoopAuthError kind', () => {
  assert.equal(h.ERROR_KINDS.length, 23);
  assert.ok(h.ERROR_KINDS.includes('store_error') && h.ERROR_KINDS.includes('store_unavailable'));
  for (const kind of h.ERROR_KINDS) {
    const e = new h.HoopAuthError(kind, `${kind}: x`);
    assert.ok(e instanceof Error);
    assert.equal(e.kind, kind);
  }
  const e = (() => { try { new h.App({ clientId: '' }); } catch (x) { return x; } })();
  assert.ok(e instanceof h.HoopAuthError);
  assert.equal(e.kind, 'invalid_config');
  assert.equal(e.name, 'HoopAuthError');
  const err = (() => { try { h.parseTokenResponse({ status: 400, body: '{"error":"invalid_grant"}' }, 0); } catch (x) { return x; } })();
  assert.equal(err.kind, 'invalid_grant');
  assert.equal(err.status, 400);
});

test('secrets never print (JSON, String, template, error messages)', () => {
  const app = new h.App({ clientId: '65f1c0ffee-x', clientSecret: SECRET, redirectUri: 'https://a.example/cb' });
  forms(app, 'App');
  const body = JSON.stringify({ access_token: AT, refresh_token: RT, expires_in: 100, locationId: 'loc_1', userType: 'Location' });
  const tokens = h.parseTokenResponse({ status: 200, body }, 0);
  forms(tokens, 'TokenSet');
  assert.equal(tokens.accessToken, AT);
  const s = new h.TokenSession(app);
  s.load(tokens);
  forms(s, 'TokenSession');
  const client = new h.Client({ app });
  forms(client, 'Client');
  for (const bad of [`${AT}\r\nX: y`]) {
    try { app.apiRequest({ path: '/contacts/', accessToken: bad }); assert.fail('no throw'); } catch (e) { clean(e.message, 'error'); clean(String(e), 'error'); }
  }
  try { h.parseTokenResponse({ status: 200, body: `{"access_token":"${AT}","expires_in":-5}` }, 0); assert.fail('no throw'); } catch (e) {
    assert.equal(e.kind, 'malformed_response');
    clean(e.message, 'error');
  }
});

test('webhook verification over raw bytes and headers (platform key)', () => {
  const v = h.verifyWebhook({ body: new TextEncoder().encode('{"type":"INSTALL"}'), signature: 'N/A' });
  assert.deepEqual({ ...v }, { valid: false, reason: 'bad_signature' });
  const verifier = new h.WebhookVerifier();
  const r = verifier.verify('{}', new Headers({ 'x-ghl-signature': 'AAAA' }), Date.now());
  assert.equal(r.valid, false);
  const ev = h.parseWebhookEvent('{"type":"UNINSTALL","locationId":"loc_9"}');
  assert.equal(ev.type, 'UNINSTALL');
  assert.equal(ev.locationId, 'loc_9');
});

test('pacing and classification with fetch Headers', () => {
  const rl = h.parseRateLimitHeaders(new Headers({ 'X-RateLimit-Max': '25', 'x-ratelimit-interval-milliseconds': '10000' }));
  assert.equal(rl.max, 25);
  assert.equal(rl.intervalMs, 10000);
  const c = h.classifyResponse({ status: 429, headers: new Headers({ 'retry-after': '3' }), body: '' });
  assert.equal(c.kind, 'rate_limited');
  assert.equal(c.retryAfterMs, 3000);
  const limiter = new h.RateLimiter({ max: 2, intervalMs: 1000, marginMs: 0 });
  // Each send holds its slot until its answer is reported (SPEC §9).
  const a = limiter.acquire(0);
  assert.equal(a.allow, true);
  limiter.answered(a.sendId, 0);
  const b = limiter.acquire(1);
  assert.equal(b.allow, true);
  // The max-th most recent mark decides; b, in flight, is the most recent: a (answered at 0) frees at 1000.
  assert.equal(limiter.acquire(2).waitMs, 998, 'a decides while b is in flight');
  const one = new h.RateLimiter({ max: 1, intervalMs: 1000, marginMs: 0 });
  assert.equal(one.acquire(0).allow, true);
  assert.equal(one.acquire(500).waitMs, 1000, 'in flight: the whole interval from now');
  limiter.answered(b.sendId, 1);
  const d = limiter.acquire(2);
  assert.equal(d.allow, false);
  assert.equal(d.waitMs, 998);
});
