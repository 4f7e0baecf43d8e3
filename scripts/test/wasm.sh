#!/usr/bin/env bash
# WASM binding: build the package, then the shared JS suite with WASM in Node, the browser
# runner (vectors, API checks, authorization round trip) and the README's two pages (start,
# callback, with the README's worker as their server) in headless Chromium, the edge-worker
# journey, the package layout, the worker example in workerd, the type checks, and the demo
# journey on WASM.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
build_emulator
bindings-wasm/build.sh
say "node --test tests/js/*.test.mjs (HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node: WASM in Node)"
HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node node --test tests/js/*.test.mjs
say "node --test tests/workerd/ (the worker example in workerd: 300 requests at 60 in parallel; the Durable Object store: 2 x 200 concurrent requests over 4 isolates, then the object failing)"
[ -x tests/workerd/node_modules/.bin/workerd ] || { echo "workerd missing: run scripts/setup/wasm.sh" >&2; exit 1; }
node --test tests/workerd/
say "node --test tests/js/browser/*.test.mjs (headless Chromium: vectors, API, the README's pages; edge worker, package)"
HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node node --test --test-concurrency=1 tests/js/browser/*.test.mjs
say "tsc --noEmit: the WASM package's index.d.ts against tests/js/api.d.ts, native and web entry types"
bindings-wasm/node_modules/.bin/tsc -p tests/js/browser/types
say "tsc --noEmit: the wasm-bindgen declarations (pkg-node, pkg) satisfy bindings-node/lib/native.d.ts (the native contract)"
bindings-wasm/node_modules/.bin/tsc -p tests/js/types/tsconfig.native-wasm.json
bash tests/js/types/resolutions/run.sh wasm  # a consumer of @hoopauth/wasm under node10, node16, nodenext, bundler
bash tests/workerd/types/run.sh  # a worker using @hoopauth/wasm/durable-object, the same four resolutions
if [ -f bindings-node/examples/demo.mjs ]; then
  # The demo journey on WASM in Node, judged by the demo's runner (tests/demo): a fresh
  # emulator, 60 calls at 30 per 1 s; fails on a failed call, any 429, any refused grant, a
  # repeated refresh.
  say "demo (WASM in Node): cargo build -p hoopauth-demo"
  cargo build -q -p hoopauth-demo
  HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node target/debug/hoopauth-demo run --name wasm --calls 60 --max 30 --interval-ms 1000 \
    -- node bindings-node/examples/demo.mjs
fi
