// The WASM package in headless Chromium: the shared vector suite (tests/js/vectors.test.mjs,
// unchanged, through an import map onto browser shims of node:test / node:assert / helpers),
// browser API checks, and the authorization round trip against the emulator: a page on
// loopback sends the browser to the emulator's authorization page, comes back to a callback
// page that parses and checks the callback (state kept in sessionStorage), and the server
// side exchanges the code.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStatic, PKG, VECTORS } from './server.mjs';
import { launch, newPage } from './chromium.mjs';

process.env.HOOPAUTH_JS_IMPL ||= 'bindings-wasm/pkg-node';
const { h, startEmulator } = await import('../helpers.mjs');

let server; let browser;
const log = [];
before(async () => {
  assert.ok(fs.existsSync(path.join(PKG, 'index.mjs')), 'bindings-wasm/pkg is not built (bindings-wasm/build.sh)');
  server = await startStatic();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.close();
});

async function runInPage(files) {
  const page = await newPage(browser, log);
  await page.goto(`${server.url}/tests/js/browser/runner.html`);
  await page.waitForFunction(() => window.runnerReady === true);
  const results = await page.evaluate((f) => window.runFiles(f), files);
  const ua = await page.evaluate(() => navigator.userAgent);
  await page.close();
  return { results, ua };
}

function assertAllPass(results, min) {
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], `${failed.map((r) => `${r.name}\n${r.error}`).join('\n\n')}\n${log.join('\n')}`);
  assert.ok(results.length >= min, `only ${results.length} tests ran`);
}

test('every vector passes in headless Chromium (the shared vectors.test.mjs)', async () => {
  const files = fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json'));
  const cases = files.reduce((n, f) => n + JSON.parse(fs.readFileSync(path.join(VECTORS, f), 'utf8')).cases.length, 0);
  const { results, ua } = await runInPage(['/tests/js/vectors.test.mjs']);
  assertAllPass(results, files.length + 1);
  assert.match(ua, /HeadlessChrome|Chrome/);
  console.log(`# chromium: ${results.length} vector tests (${cases} cases in ${files.length} files) passed`);
});

test('browser API checks (no secret, crypto state, kinds, redaction)', async () => {
  const { results } = await runInPage(['/tests/js/browser/api.browser.mjs']);
  assertAllPass(results, 7);
  console.log(`# chromium: ${results.length} API tests passed`);
});

test('authorization round trip in the browser against the emulator', async () => {
  const emu = await startEmulator();
  try {
    const page = await newPage(browser, log);
    const start = new URL(`${server.url}/tests/js/browser/start.html`);
    start.searchParams.set('clientId', emu.info.client_id);
    start.searchParams.set('base', emu.baseUrl);
    start.searchParams.set('location', 'loc_2');
    await page.goto(start.href);
    await page.waitForFunction(() => window.callbackResult !== undefined, null, { timeout: 15000 });
    const r = await page.evaluate(() => window.callbackResult);
    assert.equal(r.ok, true, `${JSON.stringify(r)}\n${log.join('\n')}`);
    assert.equal(r.state, r.expected);
    assert.match(r.state, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(r.code.length > 0);
    assert.equal(new URL(page.url()).search, '', 'the code stays in the address bar');

    // The server side (here: the WASM package in Node) exchanges the code the browser got.
    const app = new h.App({
      clientId: emu.info.client_id, clientSecret: emu.info.client_secret,
      redirectUri: `${server.url}/tests/js/browser/callback.html`, apiBase: emu.baseUrl,
    });
    const client = new h.Client({ app });
    const tokens = await client.exchangeCode(r.code);
    assert.equal(tokens.locationId, 'loc_2');
    const resp = await client.request('loc_2', { path: '/locations/loc_2' });
    assert.equal(resp.status, 200);
    const stats = await emu.stats();
    assert.equal(stats.resources.loc_2.token_exchanges, 1);

    // A callback whose state is not the one this tab started with is refused.
    await page.evaluate(() => sessionStorage.setItem('hoopauth.state', 'the-state-this-tab-sent'));
    await page.goto(`${server.url}/tests/js/browser/callback.html?code=stolen&state=attacker-state`);
    await page.waitForFunction(() => window.callbackResult !== undefined);
    const bad = await page.evaluate(() => window.callbackResult);
    assert.deepEqual([bad.ok, bad.hoopAuthError, bad.kind], [false, true, 'state_mismatch']);

    // The user refuses on the authorization page: the callback carries error=…
    await emu.control({ deny: true });
    await page.goto(start.href);
    await page.waitForFunction(() => window.callbackResult !== undefined, null, { timeout: 15000 });
    const denied = await page.evaluate(() => window.callbackResult);
    assert.deepEqual([denied.ok, denied.kind], [false, 'authorization_denied']);
    await page.close();
  } finally {
    emu.stop();
  }
});
