#!/usr/bin/env bash
# Install test: the artefacts of `make dist`, installed from dist/ only, with no Rust toolchain
# on PATH (no cargo, rustc, wasm-bindgen), each running a short journey against the emulator:
# authorize a location through the emulator's consent page (GET /oauth/chooselocation,
# auto-consent), exchange the code, 5 API calls. One location per journey; the emulator's
# counters are checked at the end (5 ok, 1 token exchange each, no 429).
#   Python (clean venv, the wheel + httpx): sync Client, async AsyncClient
#   Node (clean npm project, @hoopauth/node + @hoopauth/node-linux-x64-gnu tarballs): ESM, CJS
#   WASM (@hoopauth/wasm tarball, same project): Node ESM, Node CJS, Chromium without a bundler
#     (an import map onto node_modules), esbuild bundles for node (run) and browser (loaded)
# Also: the loader's error naming a missing platform package, and the prepack guards.
# Builds dist/ when an artefact is missing; the emulator is built before PATH is stripped.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
t0=$(date +%s)
fail() { echo "install test: $*" >&2; exit 1; }
timings=()
step() { local now; now=$(date +%s); timings+=("$(printf '%-46s %3d s' "$1" $((now - ${STEP_T:-$t0})))"); STEP_T=$now; }
ESBUILD_VERSION=0.28.2

V="$(awk '/^\[workspace.package\]/{f=1} f&&/^version *=/{gsub(/version *= *|"/,""); print; exit}' Cargo.toml)"
D="$ROOT/dist"
have_dist() {
  ls "$D"/hoopauth-"$V"-cp39-abi3-manylinux_*_x86_64.whl "$D/hoopauth-node-$V.tgz" \
     "$D/hoopauth-node-linux-x64-gnu-$V.tgz" "$D/hoopauth-wasm-$V.tgz" >/dev/null 2>&1
}
if ! have_dist; then say "dist/ incomplete: make dist"; bash "$ROOT/scripts/dist.sh"; fi
have_dist || fail "dist/ still lacks an artefact"
WHL="$(ls "$D"/hoopauth-"$V"-cp39-abi3-manylinux_*_x86_64.whl)"
say "emulator (built before the toolchain leaves PATH)"
build_emulator
EMU_BIN="$HOOPAUTH_EMULATOR_BIN"
PW="$ROOT/bindings-wasm/node_modules/playwright-core"
[ -d "$PW" ] || fail "playwright-core missing (test tooling): run scripts/setup/wasm.sh"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium missing: run scripts/setup/wasm.sh"
step "dist present, emulator built"

# ---- no Rust toolchain from here on ----------------------------------------------------------
clean=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  case "$d" in "$HOME/.cargo/bin"|"${CARGO_HOME:-$HOME/.cargo}/bin") continue ;; esac
  [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/wasm-bindgen" ] || [ -e "$d/rustup" ] && continue
  case ":$clean:" in *":$d:"*) ;; *) clean="${clean:+$clean:}$d" ;; esac
done
export PATH="$clean"
unset CARGO_TARGET_DIR RUSTC RUSTUP_TOOLCHAIN
for tool in cargo rustc wasm-bindgen rustup maturin; do
  ! command -v "$tool" >/dev/null 2>&1 || fail "$tool is still on PATH ($(command -v "$tool"))"
done
for tool in node npm python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool left PATH with the Rust tools (it shares a directory with them)"
done
echo "PATH=$PATH (no cargo, rustc, wasm-bindgen, rustup, maturin)"

W="$(mktemp -d)"
EMU_PID=""
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
LOCS="py_sync,py_async,node_esm,node_cjs,wasm_esm,wasm_cjs,wasm_chromium,esbuild_node"
"$EMU_BIN" --port 0 --locations "$LOCS" > "$W/emu.out" 2>"$W/emu.err" &
EMU_PID=$!
for _ in $(seq 1 100); do [ -s "$W/emu.out" ] && break; sleep 0.05; done
EMU_INFO="$(head -1 "$W/emu.out")"
[ -n "$EMU_INFO" ] || fail "the emulator did not start: $(cat "$W/emu.err")"
export EMU_INFO
echo "emulator: $EMU_INFO" | sed 's/"client_secret":"[^"]*"/"client_secret":"…"/'

# ---- Python: a clean venv, the wheel + httpx -------------------------------------------------
say "python: clean venv, pip install $(basename "$WHL") httpx (binaries only)"
python3 -m venv "$W/venv"
"$W/venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: "$WHL" httpx
step "python: venv + pip install (wheel, httpx)"
mkdir -p "$W/py"
cat > "$W/py/journey.py" <<'PY'
import asyncio, json, os, sys
import httpx
import hoopauth as h

emu = json.loads(os.environ["EMU_INFO"])
base = emu["base_url"]
SCOPES = ["contacts.readonly", "contacts.write", "locations.readonly"]
assert "site-packages" in h.__file__, h.__file__  # the installed wheel, not the source tree
config = h.Config(emu["client_id"], client_secret=emu["client_secret"],
                  redirect_uri="http://127.0.0.1:9/oauth/callback", marketplace=base, api_base=base)

def authorize(loc):
    state = h.generate_state()
    r = httpx.get(config.authorization_url(SCOPES, state=state) + "&location_id=" + loc,
                  follow_redirects=False, timeout=10)
    assert r.status_code == 302, r.status_code
    return h.parse_callback(r.headers["location"], state)

def contacts(loc):
    return {"location_id": loc, "params": {"locationId": loc}}

with h.Client(config) as client:
    tokens = client.exchange_code(authorize("py_sync"))
    assert tokens.location_id == "py_sync", tokens.location_id
    codes = [client.get("/contacts/", **contacts("py_sync")).status_code for _ in range(5)]
    assert codes == [200] * 5, codes
print("python sync: exchange + 5 calls", codes)

async def main():
    async with h.AsyncClient(config) as client:
        tokens = await client.exchange_code(authorize("py_async"))
        assert tokens.location_id == "py_async"
        rs = await asyncio.gather(*(client.get("/contacts/", **contacts("py_async")) for _ in range(5)))
        return [r.status_code for r in rs]

codes = asyncio.run(main())
assert codes == [200] * 5, codes
print(f"python async: exchange + 5 calls {codes} (hoopauth {h.__version__} from {h.__file__})")
PY
(cd "$W/py" && "$W/venv/bin/python" journey.py)
step "python: sync + async journeys"

# ---- npm: a clean project, installed offline from dist/ ---------------------------------------
P="$W/app"
mkdir -p "$P"
cd "$P"
npm init -y >/dev/null
say "npm install (offline) dist/hoopauth-node-$V.tgz dist/hoopauth-node-linux-x64-gnu-$V.tgz"
npm install --offline --no-audit --no-fund "$D/hoopauth-node-$V.tgz" "$D/hoopauth-node-linux-x64-gnu-$V.tgz"
say "npm install (offline) dist/hoopauth-wasm-$V.tgz"
npm install --offline --no-audit --no-fund "$D/hoopauth-wasm-$V.tgz"
step "npm: install the three tarballs (offline)"
say "npm install --save-dev esbuild@$ESBUILD_VERSION (from the registry or npm's cache)"
npm install --prefer-offline --no-audit --no-fund --save-dev "esbuild@$ESBUILD_VERSION"
step "npm: esbuild (devDependency)"
[ ! -e node_modules/@hoopauth/node/hoopauth.linux-x64-gnu.node ] || fail "@hoopauth/node carries the addon itself"
[ -f node_modules/@hoopauth/node-linux-x64-gnu/hoopauth.linux-x64-gnu.node ] || fail "the platform package has no addon"

# The journey, shared by every JS run: `h` is whichever package the caller imported.
cat > journey.cjs <<'JS'
'use strict';
const assert = require('node:assert/strict');
const SCOPES = ['contacts.readonly', 'contacts.write', 'locations.readonly'];
module.exports = async function journey(h, loc, label) {
  const emu = JSON.parse(process.env.EMU_INFO);
  const app = new h.App({
    clientId: emu.client_id, clientSecret: emu.client_secret,
    redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: emu.base_url, marketplace: emu.base_url,
  });
  const client = new h.Client({ app });
  const state = h.generateState();
  const url = new URL(client.authorizationUrl({ scopes: SCOPES, state }));
  url.searchParams.set('location_id', loc); // the emulator's choice of location (auto-consent)
  const consent = await fetch(url, { redirect: 'manual' });
  assert.equal(consent.status, 302);
  const tokens = await client.exchangeCode(consent.headers.get('location'), { expectedState: state });
  assert.equal(tokens.locationId, loc);
  const rs = await Promise.all(Array.from({ length: 5 }, () =>
    client.request(loc, { path: '/contacts/', query: { locationId: loc } })));
  const codes = rs.map((r) => r.status);
  assert.deepEqual(codes, [200, 200, 200, 200, 200]);
  assert.equal(typeof rs[0].json(), 'object');
  console.log(`${label}: exchange + 5 calls ${JSON.stringify(codes)}`);
};
JS
cat > node-esm.mjs <<'JS'
import { App, Client, generateState, HoopAuthError } from '@hoopauth/node';
import assert from 'node:assert/strict';
import journey from './journey.cjs';
assert.ok(import.meta.resolve('@hoopauth/node').includes('/node_modules/@hoopauth/node/'));
assert.equal(typeof HoopAuthError, 'function');
await journey({ App, Client, generateState }, 'node_esm', 'node ESM (import @hoopauth/node)');
JS
cat > node-cjs.cjs <<'JS'
const h = require('@hoopauth/node');
require('node:assert/strict').ok(require.resolve('@hoopauth/node-linux-x64-gnu').endsWith('hoopauth.linux-x64-gnu.node'));
require('./journey.cjs')(h, 'node_cjs', 'node CJS (require @hoopauth/node)').catch((e) => { console.error(e); process.exit(1); });
JS
cat > wasm-esm.mjs <<'JS'
import init, { App, Client, generateState } from '@hoopauth/wasm';
import assert from 'node:assert/strict';
import journey from './journey.cjs';
assert.ok(import.meta.resolve('@hoopauth/wasm').endsWith('/node_modules/@hoopauth/wasm/node/index.mjs'), 'the "node" condition');
await init();
await journey({ App, Client, generateState }, 'wasm_esm', 'WASM in Node ESM (import @hoopauth/wasm)');
JS
cat > wasm-cjs.cjs <<'JS'
const h = require('@hoopauth/wasm');
require('node:assert/strict').ok(require.resolve('@hoopauth/wasm').endsWith('/node_modules/@hoopauth/wasm/node/index.js'));
require('./journey.cjs')(h, 'wasm_cjs', 'WASM in Node CJS (require @hoopauth/wasm)').catch((e) => { console.error(e); process.exit(1); });
JS
say "node: ESM and CJS journeys on @hoopauth/node; WASM in Node (ESM, CJS)"
node node-esm.mjs
node node-cjs.cjs
step "node: ESM + CJS journeys (@hoopauth/node)"
node wasm-esm.mjs
node wasm-cjs.cjs
step "wasm in node: ESM + CJS journeys"

say "node: without the platform package the loader names it"
mv node_modules/@hoopauth/node-linux-x64-gnu "$W/plat.away"
out="$(node -e "require('@hoopauth/node')" 2>&1 || true)"
mv "$W/plat.away" node_modules/@hoopauth/node-linux-x64-gnu
grep -q "platform package @hoopauth/node-linux-x64-gnu is not installed" <<<"$out" \
  || fail "no clear error without the platform package: $out"
echo "ok: $(grep -o '@hoopauth/node: no native addon[^.]*' <<<"$out" | head -1)"

# ---- esbuild: node bundle (run) and browser bundle ---------------------------------------------
say "esbuild: bundle @hoopauth/wasm for node (run it) and for the browser"
cat > bundle-node.mjs <<'JS'
import init, { App, Client, generateState } from '@hoopauth/wasm';
import journey from './journey.cjs';
(async () => {
  await init();
  await journey({ App, Client, generateState }, 'esbuild_node', 'WASM through esbuild (platform node)');
})().catch((e) => { console.error(e); process.exit(1); });
JS
cat > bundle-web.mjs <<'JS'
import init, { App, generateState, parseCallback } from '@hoopauth/wasm';
await init(); // fetches hoopauth_wasm_bg.wasm from beside the bundle
const app = new App({ clientId: '65f1c0ffee-web', redirectUri: location.origin + '/cb' });
const state = generateState();
const url = new URL(app.authorizationUrl({ scopes: ['contacts.readonly'], state }));
const cb = parseCallback(`${location.origin}/cb?code=c0de&state=${state}`, state);
window.bundleResult = { ok: url.searchParams.get('state') === state && cb.code === 'c0de' };
JS
mkdir -p out/node out/web
npx esbuild bundle-node.mjs --bundle --platform=node --format=cjs --outfile=out/node/app.cjs --log-level=warning
npx esbuild bundle-web.mjs --bundle --platform=browser --format=esm --outfile=out/web/app.mjs --log-level=warning
# the nodejs build reads its .wasm from beside the (bundled) module; the web build fetches it
cp node_modules/@hoopauth/wasm/node/hoopauth_wasm_bg.wasm out/node/
cp node_modules/@hoopauth/wasm/hoopauth_wasm_bg.wasm out/web/
! grep -q 'readFileSync' out/web/app.mjs || fail "the browser bundle pulled in the Node build"
! grep -q 'module_or_path' out/node/app.cjs || fail "the node bundle pulled in the web build"
grep -q 'hoopauth_wasm_bg.wasm' out/web/app.mjs || fail "the browser bundle does not load the web .wasm"
(cd out/node && node app.cjs)
echo "bundles: node $(wc -c < out/node/app.cjs) B js + $(wc -c < out/node/hoopauth_wasm_bg.wasm) B wasm;" \
     "browser $(wc -c < out/web/app.mjs) B js + $(wc -c < out/web/hoopauth_wasm_bg.wasm) B wasm"
step "esbuild: node + browser bundles, node one run"

# ---- Chromium: the web build straight from node_modules (an import map, no bundler) ----------
say "chromium: the journey in a page importing @hoopauth/wasm through an import map"
cat > journey.html <<'HTML'
<!doctype html>
<meta charset="utf-8">
<title>@hoopauth/wasm without a bundler</title>
<script type="importmap">{ "imports": { "@hoopauth/wasm": "/node_modules/@hoopauth/wasm/index.mjs" } }</script>
<script type="module">
  // One page plays both ends: without ?code it starts the authorization, with it it is the
  // callback: it checks the state, exchanges the code and makes 5 API calls. The emulator is
  // reached through /emu/ on this origin (the test server proxies it).
  import init, { App, Client, generateState, parseCallback } from '@hoopauth/wasm';
  try {
    await init();
    const cfg = await (await fetch('/config.json')).json();
    const app = new App({
      clientId: cfg.clientId, clientSecret: cfg.clientSecret,
      redirectUri: location.origin + '/journey.html', marketplace: location.origin + '/emu', apiBase: location.origin + '/emu',
    });
    const q = new URLSearchParams(location.search);
    if (!q.has('code')) {
      const state = generateState();
      sessionStorage.setItem('state', state);
      const url = new URL(app.authorizationUrl({ scopes: ['contacts.readonly', 'locations.readonly'], state }));
      url.searchParams.set('location_id', cfg.location);
      location.assign(url.href);
    } else {
      const cb = parseCallback(location.href, sessionStorage.getItem('state'));
      history.replaceState(null, '', location.pathname);
      const client = new Client({ app });
      const tokens = await client.exchangeCode(cb.code);
      const rs = await Promise.all(Array.from({ length: 5 }, () =>
        client.request(cfg.location, { path: '/contacts/', query: { locationId: cfg.location } })));
      window.result = { ok: true, location: tokens.locationId, codes: rs.map((r) => r.status) };
    }
  } catch (e) {
    window.result = { ok: false, error: String(e && e.stack || e), kind: e && e.kind };
  }
</script>
HTML
cat > web-bundle.html <<'HTML'
<!doctype html>
<meta charset="utf-8">
<script type="module" src="/out/web/app.mjs"></script>
HTML
cat > browser.mjs <<'JS'
// Static server for this project's directory (node_modules included) with /emu/ proxied to the
// emulator (same origin: the emulator sends no CORS headers), and Debian's Chromium through
// the repository's launcher (tests/js/browser/chromium.mjs: playwright-core, never a download).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
const [launcher] = process.argv.slice(2);
const { launch, newPage } = await import(launcher);
const emu = JSON.parse(process.env.EMU_INFO);
const emuUrl = new URL(emu.base_url);
const DIR = process.cwd();
const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.json': 'application/json' };
let served = new Set();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/emu/')) {
    const up = http.request({ host: emuUrl.hostname, port: emuUrl.port, method: req.method,
      path: url.pathname.slice(4) + url.search, headers: { ...req.headers, host: emuUrl.host } }, (r) => {
      res.writeHead(r.statusCode, r.headers); r.pipe(res);
    });
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
    return;
  }
  if (url.pathname === '/favicon.ico') { res.writeHead(204); return res.end(); }
  if (url.pathname === '/config.json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ clientId: emu.client_id, clientSecret: emu.client_secret, location: 'wasm_chromium' }));
  }
  const file = path.resolve(DIR, '.' + decodeURIComponent(url.pathname));
  if (!file.startsWith(DIR + path.sep)) { res.writeHead(403); return res.end(); }
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404); return res.end('not found'); }
    served.add(path.relative(DIR, file));
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(data);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await launch();
const log = [];
try {
  const page = await newPage(browser, log);
  await page.goto(`${origin}/journey.html`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 20000 });
  const r = await page.evaluate(() => window.result);
  assert.equal(r.ok, true, `${JSON.stringify(r)}\n${log.join('\n')}`);
  assert.equal(r.location, 'wasm_chromium');
  assert.deepEqual(r.codes, [200, 200, 200, 200, 200]);
  const wasm = [...served].filter((f) => f.endsWith('.wasm'));
  assert.deepEqual(wasm, ['node_modules/@hoopauth/wasm/hoopauth_wasm_bg.wasm'], 'only the web build was fetched');
  assert.ok(![...served].some((f) => f.includes('@hoopauth/wasm/node/')), 'nothing of the Node build was fetched');
  console.log(`WASM in Chromium (no bundler, import map): authorize + exchange + 5 calls ${JSON.stringify(r.codes)}`);
  await page.goto(`${origin}/web-bundle.html`);
  await page.waitForFunction(() => window.bundleResult !== undefined, null, { timeout: 20000 });
  assert.deepEqual(await page.evaluate(() => window.bundleResult), { ok: true }, log.join('\n'));
  console.log('WASM through esbuild (platform browser): the bundle loads and works in Chromium');
} finally {
  await browser.close();
  server.close();
}
JS
node browser.mjs "$ROOT/tests/js/browser/chromium.mjs"
step "chromium: journey (import map) + browser bundle"

# ---- the emulator's view ----------------------------------------------------------------------
node -e '
  const emu = JSON.parse(process.env.EMU_INFO);
  fetch(emu.base_url + "/_emulator/stats").then((r) => r.json()).then((s) => {
    const bad = [];
    for (const loc of process.argv[1].split(",")) {
      const c = s.resources[loc] || {};
      if (c.ok !== 5 || c.token_exchanges !== 1) bad.push(`${loc}: ${JSON.stringify(c)}`);
    }
    if (s.totals.rate_limited !== 0) bad.push(`429s: ${s.totals.rate_limited}`);
    if (bad.length) { console.error("emulator counters wrong:\n" + bad.join("\n")); process.exit(1); }
    console.log(`emulator: ${process.argv[1].split(",").length} locations x (1 exchange + 5 ok calls), 0 x 429`);
  });' "$LOCS"

# ---- prepack guards on unbuilt trees ------------------------------------------------------------
say "prepack guards: npm pack on unbuilt trees fails"
U="$W/unbuilt"
mkdir -p "$U/node/lib" "$U/wasm"
(cd "$ROOT/bindings-node" && cp package.json index.js index.mjs index.d.ts README.md "$U/node/" && cp lib/*.js "$U/node/lib/" && cp -r npm "$U/node/")
rm -f "$U"/node/npm/*/*.node
cp "$ROOT/bindings-wasm/package.json" "$U/wasm/"
for pkg in node node/npm/linux-x64-gnu wasm; do
  if out="$(cd "$U/$pkg" && npm pack --dry-run 2>&1)"; then fail "npm pack succeeded on the unbuilt $pkg tree"; fi
  grep -A1 -E '^[^>]*refusing to pack' <<<"$out" | head -2 | sed "s|^|  $pkg: |"
  grep -q 'refusing to pack' <<<"$out" || fail "npm pack on the unbuilt $pkg tree failed without the guard's message: $out"
done
step "emulator counters, prepack guards"

echo
echo "install test timings:"
printf '  %s\n' "${timings[@]}"
say "install test passed ($(( $(date +%s) - t0 )) s): every artefact installs and runs with no Rust toolchain on PATH"
