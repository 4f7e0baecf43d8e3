#!/usr/bin/env bash
# `make docs` tooling (idempotent): pdoc (pinned) in the project venv, with the Python extension
# built into it (scripts/setup/python.sh, when `import hoopauth` fails), and TypeDoc (pinned in
# tools/docs/package.json) in tools/docs/node_modules. rustdoc comes with the Rust toolchain.
. "$(dirname "$0")/../lib.sh"
have cargo || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
have npm || { echo "npm not found: install Node 20 first" >&2; exit 1; }
PDOC=16.0.0
PY="$VENV/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c 'import hoopauth._hoopauth, httpx' >/dev/null 2>&1; then
  "$ROOT/scripts/setup/python.sh"
fi
if [ "$("$PY" -c 'import importlib.metadata as m
try: print(m.version("pdoc"))
except m.PackageNotFoundError: pass')" != "$PDOC" ]; then
  say "pip install pdoc==$PDOC"
  "$PY" -m pip install -q --disable-pip-version-check "pdoc==$PDOC"
fi
D="$ROOT/tools/docs"
stamp="$D/node_modules/.hoopauth-package-json"
if [ ! -x "$D/node_modules/.bin/typedoc" ] || [ ! -f "$stamp" ] || ! cmp -s "$D/package.json" "$stamp"; then
  say "npm install (tools/docs: typedoc)"
  (cd "$D" && npm install --no-audit --no-fund)
  cp "$D/package.json" "$stamp"
fi
