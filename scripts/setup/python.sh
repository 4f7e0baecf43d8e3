#!/usr/bin/env bash
# Python binding: a venv at $ROOT/.venv with maturin, pytest, httpx, redis, mypy, pyright,
# fastapi/uvicorn (the README quickstart's test) and the benchmark peers; then the extension
# built into it (idempotent: installs only what is missing).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
have python3 || { echo "python3 not found" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  say "python3 -m venv $VENV"
  python3 -m venv "$VENV" || { as_root apt-get install -y --no-install-recommends python3-venv && python3 -m venv "$VENV"; }
fi
PY="$VENV/bin/python"
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
# package==version (or bare name) → import/dist check; install only the missing ones.
# pyright: PyPI's wrapper fetches its npm package on first run (cached in ~/.cache after).
# fastapi + uvicorn: the README's quickstart runs as written in the tests.
# gohighlevel-api-client: the official PyPI SDK, run over hoopauth.AsyncTransport (tests/test_transport.py).
want=(maturin==1.16.0 pytest httpx sniffio mypy oauthlib authlib requests redis pyright fastapi uvicorn gohighlevel-api-client==3.0.0)
missing=()
for spec in "${want[@]}"; do
  name="${spec%%==*}"; ver="${spec#*==}"; [ "$ver" = "$spec" ] && ver=""
  have_ver="$("$PY" -c "import importlib.metadata as m,sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass" "$name")"
  if [ -z "$have_ver" ] || { [ -n "$ver" ] && [ "$have_ver" != "$ver" ]; }; then missing+=("$spec"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "pip install ${missing[*]}"
  "$PY" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi
say "maturin develop --release (bindings-python)"
(cd "$ROOT/bindings-python" && maturin develop --release -q)
