#!/usr/bin/env bash
# Node binding: the shared JS suite (tests/js) against the addon, and the type checks.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
build_emulator
say "node --test tests/js/*.test.mjs (HOOPAUTH_JS_IMPL=bindings-node)"
HOOPAUTH_JS_IMPL=bindings-node node --test tests/js/*.test.mjs
say "tsc --noEmit: example.ts against index.d.ts; index.d.ts assignable to tests/js/api.d.ts"
bindings-node/node_modules/.bin/tsc -p tests/js/types
say "tsc --noEmit: the addon's generated native.d.ts satisfies bindings-node/lib/native.d.ts (the native contract)"
bindings-node/node_modules/.bin/tsc -p tests/js/types/tsconfig.native-addon.json
say "demo (Node)"
out=$(node bindings-node/examples/demo.mjs --spawn-emulator --calls 60)
echo "$out"
node -e 'const s=JSON.parse(process.argv[1]); if (s.calls !== 60 || s.rate_limited !== 0 || s.invalid_grants !== 0) { console.error("demo summary wrong"); process.exit(1); }' "$out"
