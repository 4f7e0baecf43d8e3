#!/usr/bin/env bash
# Python binding: build (release, incremental), emulator, pytest (vectors, API, redaction,
# every kind maps, stubtest, end to end over httpx), then a PEP 517 install in a clean venv.
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
