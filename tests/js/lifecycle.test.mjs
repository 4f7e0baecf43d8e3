// The native call lifecycle: one list (tests/lifecycle.json, shared with Python) fixes the
// Pool / Call surface of the native under test (HOOPAUTH_JS_IMPL: the napi addon or the WASM
// module), then the lifecycle's rules are driven against that native directly.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, IMPL_DIR } from './helpers.mjs';

const require = createRequire(import.meta.url);
const LIFECYCLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'lifecycle.json'), 'utf8'));
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** The native module under the implementation's JS layer. */
function loadNative() {
  for (const f of ['native.js', 'hoopauth_wasm.js']) {
    const p = path.join(IMPL_DIR, f);
    if (fs.existsSync(p)) return require(p);
  }
  throw new Error(`no native module in ${IMPL_DIR}`);
}
const n = loadNative();

// In JS the core's events are `pool.step(call, id, {type})`; every other entry is a Pool method.
const EVENTS = new Set(['start', 'resume', 'response', 'transport_error', 'conflict', 'persist_failed']);
const SECRET = 'lifecycle-client-secret';
const LOC = 'loc-lifecycle';
const GET = { method: 'GET', path: '/contacts/' };

const tokensBody = (at, rt, expiresIn = 3600) => JSON.stringify({
  access_token: at, refresh_token: rt, expires_in: expiresIn, token_type: 'Bearer',
  userType: 'Location', locationId: LOC, scope: 'contacts.readonly',
});
const ok = (body) => ({ status: 200, headers: [['content-type', 'application/json']], body });
const auth = (step) => (step.request.headers.find(([k]) => k.toLowerCase() === 'authorization') || [])[1];

function app() { return new n.App({ clientId: 'cid', clientSecret: SECRET }); }
function expiredPool() {
  const a = app();
  const pool = new n.Pool(a, null, null);
  pool.loadTokens(null, n.parseTokenResponse(ok(tokensBody('at1', 'rt1', 10)), 0));
  return pool;
}
const step = (pool, call, type, now, extra = {}) => pool.step(call, LOC, { type, ...extra }, now, 1);
function untilPersist(pool, now = 100_000) {
  const call = new n.Call(GET, null);
  assert.equal(step(pool, call, 'start', now).step, 'send_refresh');
  const s = step(pool, call, 'response', now, { response: ok(tokensBody('at2', 'rt2')) });
  assert.equal(s.step, 'persist');
  assert.ok(s.stored.includes('rt2'));
  return call;
}

// ---- the list --------------------------------------------------------------------------

test('tests/lifecycle.json lists the lifecycle', () => {
  for (const k of ['pool_methods', 'call_methods', 'call_options']) assert.ok(LIFECYCLE[k].length > 0, k);
  for (const e of EVENTS) assert.ok(LIFECYCLE.pool_methods.includes(e), `event ${e} in pool_methods`);
});

for (const name of LIFECYCLE.pool_methods) {
  const js = camel(name);
  if (EVENTS.has(name)) {
    test(`Pool.step takes the event '${name}'`, () => {
      const pool = expiredPool();
      const call = new n.Call(GET, null);
      const extra = name === 'response' ? { response: ok('{}') } : {};
      // A misfitting event ends the call (never an argument error): the type is known.
      const s = pool.step(call, LOC, { type: name, ...extra }, 100_000, 1);
      assert.equal(typeof s.step, 'string');
    });
  } else {
    test(`Pool.${js} is a method`, () => assert.equal(typeof n.Pool.prototype[js], 'function'));
  }
}

test('Pool.step refuses an unknown event type with invalid_argument', () => {
  const pool = expiredPool();
  assert.throws(() => pool.step(new n.Call(GET, null), LOC, { type: 'bogus' }, 1, 1), (e) => e.kind === 'invalid_argument');
});

for (const name of ['is_unsaved', 'begin_save', 'end_save', 'unsaved_resources']) {
  test(`Pool.${camel(name)} is a method (flush primitives)`, () => assert.equal(typeof n.Pool.prototype[camel(name)], 'function'));
}

for (const name of LIFECYCLE.call_methods) {
  test(`Call.${camel(name)} is a method; a fresh call is not finished`, () => {
    const call = new n.Call(GET, null);
    assert.equal(typeof call[camel(name)], 'function');
    assert.equal(call[camel(name)](), false);
  });
}

test('Call.stats counts', () => {
  assert.deepEqual(new n.Call(GET, null).stats(), { sends: 0, refreshes: 0, mints: 0, authRetries: 0, rateLimitRetries: 0, serverRetries: 0 });
});

for (const name of LIFECYCLE.call_options) {
  const js = camel(name);
  test(`Call takes the option ${js}`, () => {
    const good = name === 'coordinate_refresh' ? true : 7;
    assert.doesNotThrow(() => new n.Call(GET, { [js]: good }));
    // The native knows the field: a value of the wrong type is refused, naming it
    // (an unknown option would be ignored).
    const wrong = name === 'coordinate_refresh' ? 7 : true;
    assert.throws(() => new n.Call(GET, { [js]: wrong }), (e) => e.kind === 'invalid_argument' && e.message.includes(`callOptions.${js}`));
  });
}

// ---- the lifecycle against the native ---------------------------------------------------

test('persist_failed ends the call with store_error; the next call saves first, no new refresh', () => {
  const pool = expiredPool();
  const call = untilPersist(pool);
  const s = step(pool, call, 'persist_failed', 100_001);
  assert.equal(s.step, 'fail');
  assert.equal(s.error.kind, 'store_error');
  assert.ok(s.error.message.startsWith('store_error: '));
  assert.equal(call.isFinished(), true);
  assert.equal(pool.isUnsaved(LOC), true);
  assert.deepEqual(pool.unsavedResources(), [LOC]);
  const next = new n.Call(GET, null);
  const p = step(pool, next, 'start', 100_002);
  assert.equal(p.step, 'persist');
  assert.ok(p.stored.includes('rt2'));
  const send = step(pool, next, 'resume', 100_003);
  assert.equal(send.step, 'send');
  assert.equal(auth(send), 'Bearer at2');
  assert.equal(pool.isUnsaved(LOC), false);
  const done = step(pool, next, 'response', 100_004, { response: ok('{"contacts":[]}') });
  assert.equal(done.step, 'done');
  assert.equal(done.response.status, 200);
  assert.equal(next.isFinished(), true);
  assert.equal(next.stats().sends, 1);
});

test('abort during the save keeps the tokens unsaved; beginSave/endSave flush them', () => {
  const pool = expiredPool();
  const call = untilPersist(pool);
  pool.abort(call, LOC, 100_001);
  pool.abort(call, LOC, 100_001); // idempotent
  assert.equal(call.isFinished(), true);
  assert.equal(pool.isUnsaved(LOC), true);
  const stored = pool.beginSave(LOC);
  assert.ok(typeof stored === 'string' && stored.includes('rt2'));
  assert.equal(pool.beginSave(LOC), null); // a save is under way
  const other = new n.Call(GET, null);
  assert.equal(step(pool, other, 'start', 100_002).step, 'wait'); // nobody uses unsaved tokens
  pool.abort(other, LOC, 100_002);
  pool.endSave(LOC, false);
  assert.equal(pool.isUnsaved(LOC), true);
  assert.notEqual(pool.beginSave(LOC), null);
  pool.endSave(LOC, true);
  assert.equal(pool.isUnsaved(LOC), false);
  assert.deepEqual(pool.unsavedResources(), []);
  const s = step(pool, new n.Call(GET, null), 'start', 100_003);
  assert.equal(s.step, 'send');
  assert.equal(auth(s), 'Bearer at2');
});

test('abort during the refresh frees the lease', () => {
  const pool = expiredPool();
  const call = new n.Call(GET, null);
  assert.equal(step(pool, call, 'start', 100_000).step, 'send_refresh');
  const waiting = new n.Call(GET, null);
  const w = step(pool, waiting, 'start', 100_001);
  assert.equal(w.step, 'wait');
  assert.equal(w.reason, 'refresh');
  pool.abort(call, LOC, 100_002);
  assert.equal(step(pool, waiting, 'resume', 100_003).step, 'send_refresh');
});

test('abort frees the rate-limit slot of a send in flight (reason in_flight)', () => {
  const pool = new n.Pool(app(), null, { max: 1, intervalMs: 1000, marginMs: 0 });
  pool.loadPrivate(LOC, 'pit-token');
  const a = new n.Call(GET, null);
  assert.equal(step(pool, a, 'start', 0).step, 'send');
  const b = new n.Call(GET, null);
  let s = step(pool, b, 'start', 10);
  assert.equal(s.step, 'wait');
  assert.equal(s.reason, 'in_flight');
  pool.abort(a, LOC, 20);
  s = step(pool, b, 'resume', 500);
  assert.equal(s.step, 'wait');
  assert.equal(s.reason, 'rate_limit');
  assert.equal(s.waitMs, 520);
});

test('a transport error on a GET backs off, then resumes to a send', () => {
  const pool = new n.Pool(app(), null, null);
  pool.loadPrivate(LOC, 'pit-token');
  const call = new n.Call(GET, { backoffBaseMs: 10, backoffMaxMs: 10 });
  assert.equal(step(pool, call, 'start', 0).step, 'send');
  const w = step(pool, call, 'transport_error', 5);
  assert.equal(w.step, 'wait');
  assert.equal(w.reason, 'backoff');
  assert.equal(step(pool, call, 'resume', 5 + w.waitMs).step, 'send');
  pool.abort(call, LOC, 100);
  assert.equal(call.isFinished(), true);
});

test('a misfitting event aborts instead of wedging', () => {
  const pool = expiredPool();
  const call = new n.Call(GET, null);
  assert.equal(step(pool, call, 'start', 100_000).step, 'send_refresh');
  const s = step(pool, call, 'start', 100_001); // start into a live call
  assert.ok(['fail', 'reauthorize', 'done'].includes(s.step));
  assert.equal(call.isFinished(), true);
  assert.equal(step(pool, new n.Call(GET, null), 'start', 100_002).step, 'send_refresh');
});

test('coordinateRefresh persists the lease first; conflict after reloading fits', () => {
  const pool = expiredPool();
  const call = new n.Call(GET, { coordinateRefresh: true });
  assert.equal(step(pool, call, 'start', 100_000).step, 'persist'); // the lease, before the refresh
  const before = JSON.parse(pool.storedJson(LOC));
  const winner = new n.Pool(app(), null, null);
  winner.loadTokens(null, n.parseTokenResponse(ok(tokensBody('at9', 'rt9')), 99_000));
  const won = JSON.parse(winner.storedJson(LOC));
  won.version = before.version + 5;
  pool.loadStored(LOC, JSON.stringify(won));
  let s = step(pool, call, 'conflict', 100_001);
  while (s.step === 'wait') s = step(pool, call, 'resume', 100_002);
  assert.equal(s.step, 'send');
  assert.equal(auth(s), 'Bearer at9');
});

test('RateLimiter: sendId and answered; TokenSession: save action surface', () => {
  const l = new n.RateLimiter({ max: 1, intervalMs: 1000, marginMs: 0, answerTimeoutMs: 5000 });
  assert.equal(l.limits.answerTimeoutMs, 5000);
  const d = l.acquire(0);
  assert.equal(d.allow, true);
  assert.equal(d.sendId, 0);
  const w = l.acquire(4000); // still in flight: holds its slot
  assert.equal(w.allow, false);
  l.answered(d.sendId, 4000);
  assert.equal(l.acquire(4500).allow, false);
  const d2 = l.acquire(5000);
  assert.equal(d2.allow, true);
  assert.equal(d2.sendId, 1);
  const s = new n.TokenSession(app(), null);
  for (const m of ['persisted', 'saveFailed', 'isUnsaved']) assert.equal(typeof s[m], 'function', m);
  assert.equal(s.isUnsaved(), false);
  s.load(n.parseTokenResponse(ok(tokensBody('at1', 'rt1')), 0));
  s.saveFailed(); // a save of these tokens failed: save them before anything else
  assert.equal(s.isUnsaved(), true);
  assert.deepEqual({ ...s.acquire(1) }, { action: 'save' });
  assert.equal(s.acquire(2).action, 'wait'); // the save is under way
  s.persisted();
  assert.equal(s.isUnsaved(), false);
  const use = s.acquire(3);
  assert.equal(use.action, 'use');
  assert.equal(use.accessToken, 'at1');
});
