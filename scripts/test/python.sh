#!/usr/bin/env bash
# Python binding: build (release, incremental), emulator, pytest (vectors, API, redaction,
# every kind maps, stubtest, end to end over httpx, the README's code run as written), the types
# (pyright --verifytypes at 100 %, mypy --strict on the README's code), then a PEP 517 install in a clean venv.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "no venv at $VENV: run scripts/setup/python.sh" >&2; exit 1; }
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
say "maturin develop --release (no-op when nothing changed)"
(cd "$ROOT/bindings-python" && maturin develop --release -q)
say "build the emulator"
build_emulator
say "pytest bindings-python (vectors from $HOOPAUTH_VECTORS)"
(cd "$ROOT/bindings-python" && "$PY" -m pytest -q -p no:cacheprovider tests)
say "types: pyright --verifytypes hoopauth (100 % required), mypy --strict on the README's Python code"
(cd "$ROOT/bindings-python" && pyright --verifytypes hoopauth --ignoreexternal) > "$ROOT/target/pyright-verifytypes.txt" 2>&1 || true
grep -q "Type completeness score: 100%" "$ROOT/target/pyright-verifytypes.txt" || { cat "$ROOT/target/pyright-verifytypes.txt" >&2; echo "pyright --verifytypes hoopauth is below 100 %" >&2; exit 1; }
blocks="$(mktemp -d)"
"$PY" "$ROOT/bindings-python/tests/readme_blocks.py" "$blocks" > /dev/null
"$PY" -m mypy --strict --no-error-summary "$blocks"/*.py
rm -rf "$blocks"
say "pip install ./bindings-python in a clean venv (PEP 517 via maturin)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
# The build backend comes from the registry (or a configured mirror); the Rust build reuses the workspace target dir.
CARGO_TARGET_DIR="$ROOT/target" "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$ROOT/bindings-python"
(cd "$tmp" && "$tmp/venv/bin/python" -c "
import hoopauth, json
t = hoopauth.parse_token_response(200, json.dumps({'access_token': 'a', 'expires_in': 1}), 0)
assert t.expires_at_ms == 1000 and hoopauth.__version__
assert hoopauth.error_class('invalid_grant').__name__ == 'InvalidGrantError'
print('clean-venv install OK:', hoopauth.__version__, hoopauth.__file__)
")
