#!/usr/bin/env bash
# Node binding: the shared JS suite (tests/js) against the addon, and the type checks.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
build_emulator
say "index.mjs is generated from the CommonJS export list (tools/index-mjs.cjs --check)"
node bindings-node/tools/index-mjs.cjs --check
say "node --test tests/js/*.test.mjs (HOOPAUTH_JS_IMPL=bindings-node)"
HOOPAUTH_JS_IMPL=bindings-node node --test tests/js/*.test.mjs
say "tsc --noEmit: example.ts against index.d.ts; index.d.ts assignable to tests/js/api.d.ts"
bindings-node/node_modules/.bin/tsc -p tests/js/types
say "tsc --noEmit: the addon's generated native.d.ts satisfies bindings-node/lib/native.d.ts (the native contract)"
bindings-node/node_modules/.bin/tsc -p tests/js/types/tsconfig.native-addon.json
bash tests/js/types/resolutions/run.sh node  # a consumer of @hoopauth/node under node10, node16, nodenext, bundler
# The demo journey on the addon, judged by the demo's runner (tests/demo): a fresh emulator,
# 60 calls at 30 per 1 s; fails on a failed call, any 429, any refused grant, a repeated refresh.
say "demo (Node): cargo build -p hoopauth-demo"
cargo build -q -p hoopauth-demo
target/debug/hoopauth-demo run --name node --calls 60 --max 30 --interval-ms 1000 -- node bindings-node/examples/demo.mjs
