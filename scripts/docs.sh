#!/usr/bin/env bash
# `make docs`: the API reference of each language, with warnings denied, into target/docs/:
#   rust/    rustdoc of the core (crate hoopauth): cargo doc --no-deps -p hoopauth,
#            RUSTDOCFLAGS="-D warnings -D missing_docs"
#   python/  pdoc over the installed `hoopauth` package (the extension's _hoopauth.pyi stubs and
#            the docstrings, reStructuredText), run with `python -W error`: a pdoc warning fails
#   node/    TypeDoc over @hoopauth/node's index.d.ts (with the shared api.d.ts)
#   wasm/    TypeDoc over @hoopauth/wasm's index.d.ts (init, initSync), api.d.ts and
#            durable-object.d.ts (the "./durable-object" export)
#            (both TypeDoc runs with --treatWarningsAsErrors)
# Needs scripts/setup/docs.sh (pdoc in the venv, the built Python extension, TypeDoc in
# tools/docs). The JS packages' .d.ts are staged from their sources (tests/js/api.d.ts,
# bindings-node/index.d.ts and lib/*.d.ts, bindings-wasm/tools/entries.mjs) in target/docs-src: no Node addon
# or WASM build is needed. Args: any of rust python node wasm (default: all four).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT="$ROOT/target/docs"
SRC="$ROOT/target/docs-src"
parts=(rust python node wasm)
[ $# -gt 0 ] && parts=("$@")
start=$(date +%s)
timings=()
lap() { local now; now=$(date +%s); timings+=("$(printf '%-8s %3d s' "$1" $((now - ${LAP_T:-$start})))"); LAP_T=$now; }
PY="$VENV/bin/python"
TYPEDOC="$ROOT/tools/docs/node_modules/.bin/typedoc"

docs_rust() {
  say "rustdoc: cargo doc --no-deps -p hoopauth (RUSTDOCFLAGS=\"-D warnings -D missing_docs\")"
  local target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  RUSTDOCFLAGS="-D warnings -D missing_docs" cargo doc -q --no-deps -p hoopauth
  rm -rf "$OUT/rust"; mkdir -p "$OUT/rust"
  cp -r "$target_dir/doc/." "$OUT/rust/"
  # rustdoc makes no top-level page for one crate: point at the crate's.
  printf '<!doctype html>\n<meta charset="utf-8">\n<title>hoopauth (Rust)</title>\n<meta http-equiv="refresh" content="0; url=hoopauth/index.html">\n<a href="hoopauth/index.html">hoopauth</a>\n' > "$OUT/rust/index.html"
  [ -f "$OUT/rust/hoopauth/index.html" ] || { echo "rustdoc wrote no hoopauth/index.html" >&2; exit 1; }
}

docs_python() {
  say "pdoc: hoopauth (python -W error: a warning fails the build)"
  [ -x "$PY" ] || { echo "no venv at $VENV: run scripts/setup/docs.sh" >&2; exit 1; }
  rm -rf "$OUT/python"
  "$PY" -W error "$ROOT/tools/docs/pdoc_run.py" --docformat restructuredtext --no-show-source --footer-text "hoopauth $("$PY" -c 'import hoopauth; print(hoopauth.__version__)')" \
    -o "$OUT/python" hoopauth
}

# The JS packages' declaration files as they ship, staged from their sources.
stage_js() {
  rm -rf "$SRC"; mkdir -p "$SRC/node" "$SRC/wasm"
  cp bindings-node/index.d.ts "$SRC/node/index.d.ts"
  cp tests/js/api.d.ts "$SRC/node/api.d.ts"
  mkdir -p "$SRC/node/lib"; cp bindings-node/lib/*.d.ts "$SRC/node/lib/"   # declarations index.d.ts may re-export
  node -e 'const p=require("./bindings-node/package.json"); require("fs").writeFileSync(process.argv[1], JSON.stringify({name:p.name,version:p.version,types:"index.d.ts"},null,2)+"\n")' "$SRC/node/package.json"
  local version; version="$(node -p "require('./bindings-wasm/package.json').version")"
  node bindings-wasm/tools/entries.mjs web "$SRC/wasm" "$version"   # index.d.ts (+ entry files, unused)
  cp tests/js/api.d.ts "$SRC/wasm/api.d.ts"
  cp bindings-wasm/js/durable-object.d.ts "$SRC/wasm/durable-object.d.ts"   # "@hoopauth/wasm/durable-object"
}

typedoc() {
  [ -x "$TYPEDOC" ] || { echo "typedoc missing: run scripts/setup/docs.sh" >&2; exit 1; }
  (cd "$ROOT/tools/docs" && "$TYPEDOC" --options typedoc.json --tsconfig tsconfig.json --treatWarningsAsErrors --disableSources \
    --logLevel Warn "$@")
}

docs_node() {
  say "typedoc: @hoopauth/node (index.d.ts; --treatWarningsAsErrors)"
  rm -rf "$OUT/node"
  typedoc --name "@hoopauth/node" --readme "$ROOT/bindings-node/README.md" \
    --entryPoints "$SRC/node/index.d.ts" --out "$OUT/node"
}

docs_wasm() {
  say "typedoc: @hoopauth/wasm (index.d.ts: init, initSync; api.d.ts; durable-object.d.ts; --treatWarningsAsErrors)"
  rm -rf "$OUT/wasm"
  typedoc --name "@hoopauth/wasm" --readme "$ROOT/bindings-wasm/README.md" \
    --entryPoints "$SRC/wasm/index.d.ts" "$SRC/wasm/api.d.ts" "$SRC/wasm/durable-object.d.ts" --out "$OUT/wasm"
}

mkdir -p "$OUT"
case " ${parts[*]} " in *" node "*|*" wasm "*) stage_js ;; esac
for p in "${parts[@]}"; do
  case "$p" in
    rust) docs_rust ;;
    python) docs_python ;;
    node) docs_node ;;
    wasm) docs_wasm ;;
    *) echo "docs: unknown part $p (rust python node wasm)" >&2; exit 2 ;;
  esac
  lap "$p"
done
say "API reference in target/docs ($(( $(date +%s) - start )) s):"
printf '  %s\n' "${timings[@]}"
for p in "${parts[@]}"; do printf '  target/docs/%s/index.html\n' "$p"; done
