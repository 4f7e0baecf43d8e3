#!/usr/bin/env bash
# `make docs` in CI: the API reference of each language builds with warnings denied
# (scripts/docs.sh), each output has its index.html and the pages of a few known items; then
# each tool is shown to fail on a warning as it is run there (a broken intra-doc link and a
# missing doc for rustdoc, an unresolved __all__ name for pdoc, a broken {@link} for
# TypeDoc), so a warning cannot slip through.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
bash scripts/docs.sh
D="$ROOT/target/docs"
fail() { echo "docs: $*" >&2; exit 1; }
for f in rust/index.html rust/hoopauth/index.html rust/hoopauth/struct.Pool.html rust/hoopauth/enum.ErrorKind.html \
         python/index.html python/hoopauth.html python/hoopauth/shared.html \
         node/index.html node/classes/Client.html node/classes/HoopAuthError.html node/functions/configFromEnv.html \
         wasm/index.html wasm/functions/index.default.html wasm/functions/index.initSync.html wasm/classes/api.Client.html wasm/classes/durable-object.HoopAuthStore.html; do
  [ -s "$D/$f" ] || fail "target/docs/$f missing"
done
for id in Client AsyncClient TokenSession config_from_env WebhookVerifier HoopAuthError; do
  grep -q "id=\"$id\"" "$D/python/hoopauth.html" || fail "python: no $id in hoopauth.html"
done
# The extension's functions carry the types of its stub (_hoopauth.pyi), not bare runtime signatures.
python3 - "$D/python/hoopauth.html" <<'PY' || fail "python: the extension's stub types are not in the reference"
import html, re, sys
text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", open(sys.argv[1], encoding="utf-8").read())))
for sig in ("def parse_callback( url: str, expected_state: Optional[str] = None) -> Callback",
            "def authorization_url( self, scopes: Sequence[str], *, state: Optional[str] = None"):
    if sig not in text:
        sys.exit(f"missing: {sig}")
PY
grep -q 'onEvent' "$D/node/interfaces/ClientOptions.html" || fail "node: ClientOptions.onEvent not documented"
echo "docs: 4 outputs, each with index.html and its known pages"

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
PY="$VENV/bin/python"
# rustdoc: -D warnings refuses a broken intra-doc link; -D missing_docs an undocumented item.
printf '//! A crate.\n/// See [`Missing`].\npub fn f() {}\n' > "$tmp/link.rs"
printf '//! A crate.\npub fn undocumented() {}\n' > "$tmp/missing.rs"
for f in link missing; do
  if rustdoc --edition 2021 --crate-type lib -D warnings -D missing_docs -o "$tmp/rd" "$tmp/$f.rs" 2>"$tmp/rd.log"; then
    fail "rustdoc accepted $f.rs"
  fi
done
# pdoc: the same runner, a module whose __all__ names nothing.
mkdir -p "$tmp/py"; printf '"""A module."""\n__all__ = ["missing"]\n' > "$tmp/py/notdocs.py"
if PYTHONPATH="$tmp/py" "$PY" -W error tools/docs/pdoc_run.py -o "$tmp/pd" notdocs >"$tmp/pd.log" 2>&1; then
  fail "pdoc under -W error accepted an unresolved __all__ name"
fi
grep -q "does not resolve" "$tmp/pd.log" || fail "pdoc failed for another reason: $(tail -3 "$tmp/pd.log")"
# TypeDoc: a doc comment whose {@link} resolves to nothing.
mkdir -p "$tmp/ts"
printf '/** A function; see {@link Nowhere}. */\nexport declare function f(): string;\n' > "$tmp/ts/index.d.ts"
printf '{ "compilerOptions": { "strict": true, "noEmit": true, "types": [] }, "files": ["index.d.ts"] }\n' > "$tmp/ts/tsconfig.json"
if tools/docs/node_modules/.bin/typedoc --tsconfig "$tmp/ts/tsconfig.json" --entryPoints "$tmp/ts/index.d.ts" --name check \
     --out "$tmp/td" --treatWarningsAsErrors --disableSources --logLevel Warn >"$tmp/td.log" 2>&1; then
  fail "typedoc --treatWarningsAsErrors accepted a broken {@link}"
fi
grep -q "Nowhere" "$tmp/td.log" || fail "typedoc failed for another reason: $(tail -3 "$tmp/td.log")"
echo "docs: rustdoc, pdoc and TypeDoc each refuse a warning (4 checks)"
