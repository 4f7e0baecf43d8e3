// `node:test` for the browser: collects test(name, fn) registrations; runTests() runs them in
// order and returns [{name, ok, error}]. Enough for the shared suite's vector file.
const registered = [];
export default function test(name, optionsOrFn, maybeFn) {
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  const skip = typeof optionsOrFn === 'object' && optionsOrFn && optionsOrFn.skip;
  registered.push({ name, fn, skip });
}
test.skip = (name) => registered.push({ name, fn: null, skip: true });
export { test };

export async function runTests(prefix = '') {
  const results = [];
  for (const t of registered.splice(0)) {
    if (t.skip || !t.fn) { results.push({ name: prefix + t.name, ok: true, skipped: true }); continue; }
    try {
      await t.fn({ name: t.name });
      results.push({ name: prefix + t.name, ok: true });
    } catch (e) {
      results.push({ name: prefix + t.name, ok: false, error: String((e && e.stack) || e).slice(0, 4000) });
    }
  }
  return results;
}
