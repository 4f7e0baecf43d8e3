#!/usr/bin/env bash
# Build the hoopauth WASM package:
#   pkg/       the npm package: web target (browsers, bundlers, edge workers; `await init()`),
#              workerd.mjs (the "workerd" condition: instantiates on import), durable-object.mjs
#              (the Durable Object store for Workers, "./durable-object"), plus node/ (the nodejs target) selected by the "node" export condition
#   pkg-node/  the nodejs target alone (what the shared JS test suite imports)
# Steps: cargo (wasm32-unknown-unknown, release) → wasm-bindgen (pinned CLI) → wasm-opt -Oz
# (npm binaryen) → the shared JS layer (bindings-node/lib/*.js) copied in → entry files.
# Env: HOOPAUTH_WASM_SKIP_CARGO=1 reuses the last cargo artefact; CARGO_TARGET_DIR is honoured;
# HOOPAUTH_WASM_CARGO_ARGS adds cargo arguments (size experiments, e.g.
# "--config profile.release.opt-level='z'"; bench/RESULTS.md compares such builds).
. "$(dirname "$0")/../scripts/lib.sh"
W="$ROOT/bindings-wasm"
cd "$ROOT"
want="$(wasm_bindgen_version)"
got="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
[ "$got" = "$want" ] || { echo "wasm-bindgen CLI $got != crate $want: run scripts/setup/wasm.sh" >&2; exit 1; }
WASM_OPT="$W/node_modules/.bin/wasm-opt"
[ -x "$WASM_OPT" ] || { echo "wasm-opt (npm binaryen) missing: run scripts/setup/wasm.sh" >&2; exit 1; }
LIB="$ROOT/bindings-node/lib"

target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
# Two builds of one crate: the web target (browsers download it) optimised for size
# (profile `wasm-web`, opt-level "z"), the nodejs target for speed (release, opt-level 3).
if [ "${HOOPAUTH_WASM_SKIP_CARGO:-}" != 1 ]; then
  say "cargo build -p hoopauth-wasm --target wasm32-unknown-unknown (profiles wasm-web and release)"
  # shellcheck disable=SC2086
  cargo build -q -p hoopauth-wasm --target wasm32-unknown-unknown --profile wasm-web ${HOOPAUTH_WASM_CARGO_ARGS:-}
  # shellcheck disable=SC2086
  cargo build -q -p hoopauth-wasm --target wasm32-unknown-unknown --release ${HOOPAUTH_WASM_CARGO_ARGS:-}
fi
raw_web="$target_dir/wasm32-unknown-unknown/wasm-web/hoopauth_wasm.wasm"
raw="$target_dir/wasm32-unknown-unknown/release/hoopauth_wasm.wasm"
for f in "$raw_web" "$raw"; do [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }; done

version="$(node -p "require('$W/package.json').version")"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

say "wasm-bindgen $want (web, nodejs) + wasm-opt -Oz"
rm -rf "$W/pkg" "$W/pkg-node"
wasm-bindgen "$raw_web" --target web --out-dir "$tmp/web" --out-name hoopauth_wasm
wasm-bindgen "$raw" --target nodejs --out-dir "$tmp/node" --out-name hoopauth_wasm
FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue)
for t in web node; do
  "$WASM_OPT" -Oz "${FEATURES[@]}" "$tmp/$t/hoopauth_wasm_bg.wasm" -o "$tmp/$t/opt.wasm"
  mv "$tmp/$t/opt.wasm" "$tmp/$t/hoopauth_wasm_bg.wasm"
done

# ---- pkg-node: CommonJS entry over the nodejs target ----------------------------------
N="$W/pkg-node"
mkdir -p "$N"
cp "$tmp/node/"hoopauth_wasm* "$N/"
if [ -d "$LIB" ] && ls "$LIB"/*.js >/dev/null 2>&1; then
  mkdir -p "$N/lib"; cp "$LIB"/*.js "$N/lib/"
  cp "$W/js/node-index.js" "$N/index.js"
  names="$(cd "$N" && node -e "process.stdout.write(Object.keys(require('./index.js')).filter(k => /^[A-Za-z_\$][\w\$]*\$/.test(k)).join(' '))")"
else
  echo "note: $LIB not present yet: building the native module only" >&2
  cp "$W/js/node-index-native.js" "$N/index.js"
  names="$(cd "$N" && node -e "process.stdout.write(Object.keys(require('./index.js')).join(' '))")"
fi
node "$W/tools/entries.mjs" node "$N" "$version" $names
cp "$ROOT/tests/js/api.d.ts" "$N/api.d.ts"

# ---- pkg: the npm package (web target at the top, node/ for the "node" condition) ----------
P="$W/pkg"
mkdir -p "$P"
cp "$tmp/web/"hoopauth_wasm* "$P/"
if [ -d "$N/lib" ]; then
  node "$W/tools/cjs-to-esm.mjs" "$LIB" "$P/lib.mjs" api.js
else
  printf 'export default (native) => Object.assign({}, native);\n' > "$P/lib.mjs"
fi
node "$W/tools/entries.mjs" web "$P" "$version" $names
# index.mjs with init() errors that say what to pass, workerd.mjs (the "workerd" condition)
node "$W/js/web-entry.mjs" "$P" $names
# durable-object.mjs (the "./durable-object" export): the Durable Object store for Workers
node "$W/js/durable-entry.mjs" "$P"
cp "$ROOT/tests/js/api.d.ts" "$P/api.d.ts"
mkdir -p "$P/node"
cp -r "$N"/. "$P/node/"
rm -f "$P/node/README.md"
printf '{ "type": "commonjs" }\n' > "$P/node/package.json"
cp "$W/README.md" "$P/README.md" 2>/dev/null || true
cp "$W/README.md" "$N/README.md" 2>/dev/null || true
# The examples import the package by name, as a project does: resolve it to this build.
mkdir -p "$W/examples/node_modules/@hoopauth"
ln -sfn ../../../pkg "$W/examples/node_modules/@hoopauth/wasm"

say "built: $(wc -c < "$P/hoopauth_wasm_bg.wasm") bytes wasm, $(gzip -9c "$P/hoopauth_wasm_bg.wasm" | wc -c) gzipped (web, size-optimised); node build $(wc -c < "$N/hoopauth_wasm_bg.wasm") bytes"
