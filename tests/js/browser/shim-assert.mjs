// `node:assert/strict` for the browser: the assertions the shared suite and the browser tests use.
class AssertionError extends Error {
  constructor(message) { super(message); this.name = 'AssertionError'; }
}
const show = (v) => { try { return JSON.stringify(v); } catch { return String(v); } };

function deepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) && !(Array.isArray(a))) {
    // strict mode compares prototypes; plain data from different realms is still equal here
    if (!(isPlain(a) && isPlain(b))) return false;
  }
  const ka = Object.keys(a); const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
  return true;
}
function isPlain(o) { const p = Object.getPrototypeOf(o); return p === null || p === Object.prototype || Object.getPrototypeOf(p) === Object.prototype; }

function fail(message, fallback) {
  if (message instanceof Error) throw message;
  throw new AssertionError(message || fallback);
}
const assert = (v, m) => assert.ok(v, m);
assert.AssertionError = AssertionError;
assert.ok = (v, m) => { if (!v) fail(m, `expected truthy, got ${show(v)}`); };
assert.equal = (a, b, m) => { if (!Object.is(a, b)) fail(m, `expected ${show(b)}, got ${show(a)}`); };
assert.strictEqual = assert.equal;
assert.notEqual = (a, b, m) => { if (Object.is(a, b)) fail(m, `expected not ${show(b)}`); };
assert.deepEqual = (a, b, m) => { if (!deepEqual(a, b)) fail(m, `expected ${show(b)}, got ${show(a)}`); };
assert.deepStrictEqual = assert.deepEqual;
assert.match = (s, re, m) => { if (!re.test(s)) fail(m, `${show(s)} does not match ${re}`); };
assert.doesNotMatch = (s, re, m) => { if (re.test(s)) fail(m, `${show(s)} matches ${re}`); };
function check(e, expected) {
  if (typeof expected === 'function' && expected.prototype === undefined) { if (expected(e) === false) fail(null, 'validation failed'); return; }
  if (typeof expected === 'function') { if (!(e instanceof expected)) fail(null, `expected ${expected.name}, got ${e}`); return; }
  if (expected instanceof RegExp) { if (!expected.test(String(e && e.message))) fail(null, `${e} does not match ${expected}`); return; }
  if (expected && typeof expected === 'object') for (const k of Object.keys(expected)) assert.deepEqual(e[k], expected[k]);
}
assert.throws = (fn, expected, m) => {
  try { fn(); } catch (e) { if (expected !== undefined) check(e, expected); return; }
  fail(m, 'expected a throw');
};
assert.rejects = async (p, expected, m) => {
  try { await (typeof p === 'function' ? p() : p); } catch (e) { if (expected !== undefined) check(e, expected); return; }
  fail(m, 'expected a rejection');
};
export default assert;
export { assert as strict };
