// Bad numbers are bad input: every numeric parameter of the implementation under test
// (HOOPAUTH_JS_IMPL), through the public API where it reaches one and on the native directly
// where only the driver passes it, answers NaN, ±Infinity, negatives, fractions and
// out-of-range values with `invalid_argument` — never a clamp. Same messages in both natives.
// And a non-string secret is refused without its bytes in the message.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { h, IMPL_DIR } from './helpers.mjs';

const require = createRequire(import.meta.url);
const native = (() => {
  for (const f of ['native.js', 'hoopauth_wasm.js']) {
    const p = path.join(IMPL_DIR, f);
    if (fs.existsSync(p)) return require(p);
  }
  throw new Error(`no native module in ${IMPL_DIR}`);
})();

const BAD = [NaN, Infinity, -Infinity, -1, 1.5, 2 ** 64, 2 ** 53];
const LOC = 'loc-numbers';
const TOKENS = JSON.stringify({
  access_token: 'at1', refresh_token: 'rt1', expires_in: 3600, token_type: 'Bearer',
  userType: 'Location', locationId: LOC, scope: 'contacts.readonly',
});
const app = () => new h.App({ clientId: 'cid', clientSecret: 'numbers-secret' });
const tokenSet = () => h.parseTokenResponse({ status: 200, body: TOKENS }, 0);
const limiter = () => new h.RateLimiter({ max: 10, intervalMs: 1000, marginMs: 0 });
const session = () => { const s = new h.TokenSession(app()); s.load(tokenSet()); return s; };
const noFetch = async () => { throw new Error('no request should be sent'); };
async function clientRequest(options) {
  const c = new h.Client({ app: app(), fetch: noFetch, ...options });
  await c.usePrivateToken(LOC, 'pit-token');
  return c.request(LOC, { path: '/contacts/' });
}

/** [name, (x) => use x as that parameter]: the public API of h. */
const PUBLIC = [
  ['parseTokenResponse status', (x) => h.parseTokenResponse({ status: x, body: TOKENS }, 0)],
  ['parseTokenResponse nowMs', (x) => h.parseTokenResponse({ status: 200, body: TOKENS }, x)],
  ['classifyResponse status', (x) => h.classifyResponse({ status: x, body: '' })],
  ['classifyResponse nowMs', (x) => h.classifyResponse({ status: 429, headers: { 'retry-after': '1' }, body: '' }, x)],
  ['verifyWebhook nowMs', (x) => h.verifyWebhook({ body: '{}', signature: 'c2ln', nowMs: x })],
  ['verifyWebhook maxAgeMs', (x) => h.verifyWebhook({ body: '{}', signature: 'c2ln', nowMs: 0, maxAgeMs: x })],
  ...['max', 'intervalMs', 'marginMs', 'dailyMax', 'answerTimeoutMs']
    .map((k) => [`RateLimiter limits.${k}`, (x) => new h.RateLimiter({ [k]: x })]),
  ['RateLimiter.acquire nowMs', (x) => limiter().acquire(x)],
  ['RateLimiter.check nowMs', (x) => limiter().check(x)],
  ['RateLimiter.answered sendId', (x) => limiter().answered(x, 0)],
  ['RateLimiter.answered nowMs', (x) => { const l = limiter(); l.answered(l.acquire(0).sendId, x); }],
  ['RateLimiter.observe nowMs', (x) => limiter().observe(x, 200, {})],
  ['RateLimiter.observe status', (x) => limiter().observe(0, x, {})],
  ...['refreshLeewayMs', 'leaseMs'].map((k) => [`TokenSession options.${k}`, (x) => new h.TokenSession(app(), { [k]: x })]),
  ['TokenSession.fromStored options.leaseMs', (x) => h.TokenSession.fromStored(app(), session().toStored(), { leaseMs: x })],
  ['TokenSession.load expiresIn', (x) => new h.TokenSession(app()).load({ ...tokenSet(), expiresIn: x })],
  ['TokenSession.load expiresAtMs', (x) => new h.TokenSession(app()).load({ ...tokenSet(), expiresAtMs: x })],
  ['TokenSession.acquire nowMs', (x) => session().acquire(x)],
  ['TokenSession.refreshResponse status', (x) => session().refreshResponse({ status: x, body: TOKENS }, 0)],
  ['TokenSession.refreshResponse sentAtMs', (x) => session().refreshResponse({ status: 200, body: TOKENS }, x)],
  ['TokenSession.apiResponse status', (x) => session().apiResponse({ status: x, body: '' }, 'at1')],
  ['WebhookVerifier capacity', (x) => new h.WebhookVerifier({ capacity: x })],
  ['WebhookVerifier maxAgeMs', (x) => new h.WebhookVerifier({ maxAgeMs: x })],
  ['WebhookVerifier.verify nowMs', (x) => new h.WebhookVerifier().verify('{}', {}, x)],
  ...['refreshLeewayMs', 'leaseMs'].map((k) => [`Client session.${k}`, (x) => new h.Client({ app: app(), fetch: noFetch, session: { [k]: x } })]),
  ...['max', 'intervalMs', 'marginMs', 'dailyMax', 'answerTimeoutMs']
    .map((k) => [`Client limits.${k}`, (x) => new h.Client({ app: app(), fetch: noFetch, limits: { [k]: x } })]),
  ...['maxAuthRetries', 'maxRateLimitRetries', 'maxServerRetries', 'maxRefreshAttempts', 'backoffBaseMs',
    'backoffMaxMs', 'maxWaitMs', 'refreshPollMs', 'recheckMs']
    .map((k) => [`Client call.${k}`, (x) => clientRequest({ call: { [k]: x } })]),
  ['Client now()', (x) => clientRequest({ now: () => x })],
];

/** Parameters only the driver passes: the native directly. */
const pool = () => {
  const p = new native.Pool(new native.App({ clientId: 'cid' }), null, null);
  p.loadPrivate(LOC, 'pit-token');
  return p;
};
const call = () => new native.Call({ method: 'GET', path: '/contacts/' }, null);
const sent = () => { const p = pool(); const c = call(); p.step(c, LOC, { type: 'start' }, 0, 1); return [p, c]; };
const NATIVE = [
  ['native Pool.step nowMs', (x) => pool().step(call(), LOC, { type: 'start' }, x, 1)],
  ['native Pool.step random', (x) => pool().step(call(), LOC, { type: 'start' }, 0, x)],
  ['native Pool.step response.status', (x) => { const [p, c] = sent(); p.step(c, LOC, { type: 'response', response: { status: x, headers: [], body: '' } }, 1, 1); }],
  ['native Pool.abort nowMs', (x) => { const [p, c] = sent(); p.abort(c, LOC, x); }],
  ...['maxAuthRetries', 'maxRateLimitRetries', 'maxServerRetries', 'maxRefreshAttempts', 'backoffBaseMs',
    'backoffMaxMs', 'maxWaitMs', 'refreshPollMs', 'recheckMs']
    .map((k) => [`native Call options.${k}`, (x) => new native.Call({ method: 'GET', path: '/x' }, { [k]: x })]),
  ['native Pool limits.max', (x) => new native.Pool(new native.App({ clientId: 'cid' }), null, { max: x })],
  ['native RateLimiter.acquire nowMs', (x) => new native.RateLimiter(null).acquire(x)],
];

async function outcome(run) {
  try {
    const r = run();
    if (r && typeof r.then === 'function') await r;
    return null;
  } catch (e) {
    return e;
  }
}

const show = (x) => (Object.is(x, -0) ? '-0' : String(x));

for (const [name, run] of [...PUBLIC, ...NATIVE]) {
  test(`bad numbers: ${name}`, async () => {
    for (const x of BAD) {
      const e = await outcome(() => run(x));
      assert.ok(e != null, `${name} = ${show(x)}: accepted (a silent clamp)`);
      assert.equal(e.kind, 'invalid_argument', `${name} = ${show(x)}: ${e && e.message}`);
      assert.match(String(e.message), /^invalid_argument: /, `${name} = ${show(x)}`);
    }
  });
}

test('the public API errors are HoopAuthErrors', () => {
  const e = (() => { try { h.parseTokenResponse({ status: 200, body: TOKENS }, NaN); } catch (err) { return err; } })();
  assert.ok(e instanceof h.HoopAuthError);
});

test('the natives name the parameter and its range (same text in the addon and WASM)', () => {
  const msg = (run) => { try { run(); } catch (e) { return e.message; } return null; };
  assert.equal(msg(() => new native.RateLimiter(null).acquire(NaN)), 'invalid_argument: nowMs must be an integer in 0..=9007199254740991');
  assert.equal(msg(() => pool().step(call(), LOC, { type: 'start' }, 0, 1.5)), 'invalid_argument: random must be an integer in 0..=9007199254740991');
  assert.equal(msg(() => new native.RateLimiter(null).observe(0, 1000, [])), 'invalid_argument: status must be an integer in 100..=999');
  assert.equal(msg(() => new native.WebhookVerifier({ capacity: -1 })), 'invalid_argument: capacity must be an integer in 0..=4294967295');
  assert.equal(msg(() => new native.Call({ path: '/x' }, { maxWaitMs: Infinity })), 'invalid_argument: callOptions.maxWaitMs must be an integer in 0..=9007199254740991');
  assert.equal(msg(() => new native.Call({ path: '/x' }, { maxAuthRetries: 2 ** 32 })),
    'invalid_argument: callOptions.maxAuthRetries: invalid value: integer `4294967296`, expected u32');
  assert.equal(msg(() => new native.RateLimiter({ max: 2 ** 32 })),
    'invalid_argument: limits.max: invalid value: integer `4294967296`, expected u32');
  assert.equal(msg(() => new native.Call({ path: '/x' }, { coordinateRefresh: 1 })),
    'invalid_argument: callOptions.coordinateRefresh: invalid type: integer `1`, expected a boolean');
  assert.equal(msg(() => new native.Call({ path: '/x' }, { maxWaitMs: '5' })), 'invalid_argument: callOptions.maxWaitMs must be a number or a boolean');
  assert.equal(msg(() => new native.Pool(new native.App({ clientId: 'cid' }), 5, null)), 'invalid_argument: sessionOptions must be an object');
  // A non-number where a number goes reads as NaN: the same answer as a bad number.
  assert.equal(msg(() => new native.RateLimiter(null).acquire('5')), 'invalid_argument: nowMs must be an integer in 0..=9007199254740991');
  assert.equal(msg(() => pool().step(call(), LOC, { type: 'start' }, true, 1)), 'invalid_argument: nowMs must be an integer in 0..=9007199254740991');
  assert.equal(msg(() => native.classifyResponse({ status: '200', headers: [], body: '' }, null)), 'invalid_argument: status must be an integer in 100..=999');
  assert.equal(msg(() => new native.WebhookVerifier({ capacity: 10n })), 'invalid_argument: capacity must be an integer in 0..=4294967295');
});

test('good edge values pass: 0, 2^53-1 ms, u32::MAX counts, status 100 and 999', () => {
  const l = new native.RateLimiter({ max: 2 ** 32 - 1, answerTimeoutMs: 2 ** 53 - 1 });
  assert.equal(l.limits.max, 2 ** 32 - 1);
  assert.equal(l.acquire(2 ** 53 - 1).allow, true);
  l.observe(0, 100, []);
  l.observe(0, 999, []);
  assert.doesNotThrow(() => new native.Call({ path: '/x' }, { maxAuthRetries: 0, maxWaitMs: 2 ** 53 - 1, coordinateRefresh: false }));
  assert.doesNotThrow(() => new native.WebhookVerifier({ capacity: 0 }));
  assert.doesNotThrow(() => pool().step(call(), LOC, { type: 'start' }, 0, 2 ** 53 - 1));
});

// ---- a non-string secret is refused without echoing it ----------------------------------

const SECRET = 'buffer-secret-value-3141';
const bytesOf = (s) => [...Buffer.from(s)];
function assertNoEcho(e, where) {
  assert.ok(e != null, `${where}: a Buffer secret was accepted`);
  const texts = [String(e.message), String(e.stack), util.inspect(e), JSON.stringify(e)];
  for (const t of texts) {
    assert.ok(!t.includes(SECRET), `${where}: the secret text is in the error`);
    assert.ok(!t.includes(bytesOf(SECRET).join(',')), `${where}: the secret's bytes are in the error`);
    assert.ok(!t.includes(Buffer.from(SECRET).toString('hex')), `${where}: the secret's hex is in the error`);
    assert.ok(!t.includes(Buffer.from(SECRET).toString('base64')), `${where}: the secret's base64 is in the error`);
  }
}
/** [name, expected kind, (buffer) => use it as that secret]. */
const SECRET_SLOTS = [
  ['App clientSecret', 'invalid_config', (b) => new h.App({ clientId: 'cid', clientSecret: b })],
  ['App.tokenRequest code', 'invalid_argument', (b) => app().tokenRequest({ grant: 'authorization_code', code: b })],
  ['App.tokenRequest refreshToken', 'invalid_argument', (b) => app().tokenRequest({ grant: 'refresh_token', refreshToken: b })],
  ['App.apiRequest accessToken', 'invalid_argument', (b) => app().apiRequest({ path: '/x', accessToken: b })],
  ['TokenSession.loadPrivate token', 'invalid_argument', (b) => new h.TokenSession(app()).loadPrivate(b)],
  ['native App clientSecret', 'invalid_config', (b) => new native.App({ clientId: 'cid', clientSecret: b })],
  ['native Pool.loadPrivate token', 'invalid_argument', (b) => pool().loadPrivate(LOC, b)],
  ['native Pool.loadStored stored', 'invalid_argument', (b) => pool().loadStored(LOC, b)],
];
for (const [name, kind, run] of SECRET_SLOTS) {
  test(`a Buffer as a secret is refused without echoing it: ${name}`, async () => {
    const e = await outcome(() => run(Buffer.from(SECRET)));
    assertNoEcho(e, name);
    // The public API's HoopAuthError has `kind`; a native error names it as the message prefix.
    assert.ok(e.kind === kind || String(e.message).startsWith(`${kind}: `), `${name}: ${e.kind} ${e.message}`);
  });
}
