#!/usr/bin/env bash
# Coordinated mode (issue 13): the fleet race — real worker processes (Python sync and asyncio,
# plus the Node addon and WASM-in-Node when tests/fleet/worker.mjs exists) share one client
# through a throwaway redis-server (and SQLite for s5) against the emulator.
# Usage: scripts/test/coord.sh [run.py args, e.g. --scenario s2,s3 or --mix py,py,node,wasm]
# Default: every scenario (~5 min: s1 and s5 pace 1,000 calls at 100 per 10 s by nature).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "no venv at $VENV: run scripts/setup/python.sh" >&2; exit 1; }
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
have redis-server || { echo "redis-server not found: run scripts/setup/redis.sh" >&2; exit 1; }
say "maturin develop --release (no-op when nothing changed)"
(cd "$ROOT/bindings-python" && maturin develop --release -q)
say "build the emulator"
build_emulator
tmp="$(mktemp -d)"
trap 'stop_redis; rm -rf "$tmp"' EXIT
start_redis "$tmp/redis"
say "fleet race on $REDIS_URL (tests/fleet/run.py ${*:---scenario all})"
"$PY" tests/fleet/run.py "${@:---scenario=all}" --out "$tmp/fleet.json"
