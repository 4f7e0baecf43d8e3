// The WASM package as an edge worker: bindings-wasm/examples/worker.mjs (web target only, no
// Node APIs, global fetch) runs the whole flow against the emulator — authorization start,
// code exchange with the state cookie, paced API calls, a token refresh — while this Node
// harness plays the runtime (hands it Requests and the compiled WebAssembly.Module, as a
// worker runtime binds a .wasm import) and the user's browser (follows the redirects).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PKG, ROOT } from './server.mjs';

process.env.HOOPAUTH_JS_IMPL ||= 'bindings-wasm/pkg-node';
const { startEmulator } = await import('../helpers.mjs');
const WORKER = path.join(ROOT, 'bindings-wasm', 'examples', 'worker.mjs');

test('the worker code and the web package use no Node APIs', () => {
  const sources = {
    'examples/worker.mjs': fs.readFileSync(WORKER, 'utf8'),
    'pkg/index.mjs': fs.readFileSync(path.join(PKG, 'index.mjs'), 'utf8'),
    'pkg/lib.mjs': fs.readFileSync(path.join(PKG, 'lib.mjs'), 'utf8'),
    'pkg/hoopauth_wasm.js': fs.readFileSync(path.join(PKG, 'hoopauth_wasm.js'), 'utf8'),
  };
  for (const [name, text] of Object.entries(sources)) {
    const src = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, ''); // code, not comments
    assert.doesNotMatch(src, /from\s+['"]node:|import\(\s*['"]node:|\bprocess\.|\bBuffer\b|__dirname/, name);
    // the only `require` is lib.mjs's own module table (its argument is never a Node builtin)
    for (const m of src.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) assert.match(m[1], /^\.\//, `${name}: require(${m[1]})`);
  }
});

test('edge worker: exchange, paced calls and a refresh against the emulator, with fetch only', async () => {
  // 4 requests per second, tokens living 3 s refreshed 1 s early: 14 calls cross both.
  const emu = await startEmulator(['--max', '4', '--interval-ms', '1000', '--token-ttl-secs', '3']);
  try {
    const { default: worker } = await import(WORKER);
    const env = {
      CLIENT_ID: emu.info.client_id,
      CLIENT_SECRET: emu.info.client_secret,
      REDIRECT_URI: 'https://worker.example/oauth/callback',
      API_BASE: emu.baseUrl,
      MARKETPLACE: emu.baseUrl,
      HOOPAUTH_WASM: new WebAssembly.Module(fs.readFileSync(path.join(PKG, 'hoopauth_wasm_bg.wasm'))),
      SESSION: { refreshLeewayMs: 1000 },
      LIMITS: { max: 4, intervalMs: 1000 },
    };
    const call = (p, init) => worker.fetch(new Request(`https://worker.example${p}`, init), env);

    // The user's browser: start → authorization page → back to the worker's callback.
    const start = await call('/oauth/start?location=loc_1');
    assert.equal(start.status, 302);
    const setCookie = start.headers.get('set-cookie');
    const stateCookie = setCookie.split(';')[0];
    const consent = await fetch(start.headers.get('location'), { redirect: 'manual' });
    assert.equal(consent.status, 302);
    const callbackUrl = new URL(consent.headers.get('location'));
    assert.equal(callbackUrl.origin + callbackUrl.pathname, 'https://worker.example/oauth/callback');

    // A callback without the state cookie is refused; with it, the code is exchanged.
    const forged = await call(callbackUrl.pathname + callbackUrl.search, { headers: { cookie: 'hoopauth_state=forged' } });
    assert.equal(forged.status, 401);
    assert.equal((await forged.json()).error, 'state_mismatch');
    const cb = await call(callbackUrl.pathname + callbackUrl.search, { headers: { cookie: stateCookie } });
    assert.equal(cb.status, 200, await cb.clone().text());
    assert.equal((await cb.json()).installed, 'loc_1');

    // Paced calls: 14 at once, 4 per second allowed → at least 3 s of pacing, one refresh.
    const t0 = Date.now();
    const answers = await Promise.all(Array.from({ length: 14 }, () => call('/contacts?location=loc_1')));
    const wall = Date.now() - t0;
    for (const a of answers) assert.equal(a.status, 200, await a.clone().text());
    assert.ok(Array.isArray((await answers[0].json()).contacts));
    assert.ok(wall >= 2900, `14 calls at 4/s took only ${wall} ms`);
    // Later calls after the token's refresh point.
    await new Promise((r) => setTimeout(r, 2100));
    for (let i = 0; i < 3; i++) assert.equal((await call('/contacts?location=loc_1')).status, 200);

    const s = (await emu.stats()).resources.loc_1;
    assert.equal(s.token_exchanges, 1);
    assert.equal(s.rate_limited, 0, 'the core paced every call under the limit');
    assert.equal(s.invalid_grants, 0);
    assert.ok(s.refreshes >= 1 && s.refreshes <= 3, `refreshes: ${s.refreshes}`);
    assert.equal(s.ok, 17);
    const stats = await (await call('/stats')).json();
    assert.equal(stats.sends, 17);
    assert.ok(stats.waits > 0, 'pacing waits happened');
  } finally {
    emu.stop();
  }
});
