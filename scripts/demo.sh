#!/usr/bin/env bash
# The README's first command (`make demo`): the emulator stands in for the platform; each
# driver authorizes three locations (authorization page → callback → code exchange), then
# makes paced API calls across them while the access tokens expire mid-run. Drivers: the
# Rust one (tests/demo), then — when their packages are set up — the Python, Node and WASM
# examples. This script only sets up and sequences: `hoopauth-demo run` (tests/demo) starts
# a fresh emulator for each driver, runs it and gives the verdict (tests/demo/src/verdict.rs).
#
#   scripts/demo.sh [--short] [--rust-only] [--calls N]
#
# --short: 150 calls, limits 20/1 s, 2 s tokens (CI). Default: 1,000 calls over loc_1..3,
# the platform's 100 per 10 s, 8 s tokens refreshed 1 s early (four refreshes per location
# in the 30 s the limits take).
#
# Driver contract: args `--base-url URL --client-id ID --client-secret S --calls N
# --locations a,b,c --max N --interval-ms MS --refresh-leeway-ms MS` (the last three: the
# limits to pace by until the server's headers arrive, and the refresh leeway); exit 0 on
# success; print one JSON line on stdout with at least {"calls", "wall_ms"} (or
# "wall_time_s"). A run fails on: a non-zero exit, no JSON line, fewer calls answered 200
# than asked, any 429, any refused grant (invalid_grant), or, for some location, more
# refreshes than token lives crossed in the run (floor(wall_ms / (token_ttl − refresh_leeway))):
# a repeated refresh.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

short=0
rust_only=0
calls=""
while [ $# -gt 0 ]; do
  case "$1" in
    --short) short=1 ;;
    --rust-only) rust_only=1 ;;
    --calls) calls="$2"; shift ;;
    --calls=*) calls="${1#*=}" ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

"$ROOT/scripts/setup/rust.sh"
# Debug build: shares its artefacts with `cargo test`; the run time is pacing, not CPU
# (a cold release build with LTO costs ~90 s more for no change in the numbers).
say "cargo build (Rust demo driver and runner, with the emulator)"
cargo build -q -p hoopauth-demo
DEMO_BIN="$ROOT/target/debug/hoopauth-demo"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
ROWS="$TMP/rows.jsonl"

RUN_ARGS=(--rows "$ROWS" --timeout-secs "${DEMO_DRIVER_TIMEOUT:-900}")
[ "$short" = 1 ] && RUN_ARGS+=(--short)
[ -n "$calls" ] && RUN_ARGS+=(--calls "$calls")

FAILED=0
# run_driver NAME CMD...: a fresh emulator, the driver with the contract's args, the verdict.
run_driver() {
  local name="$1"; shift
  "$DEMO_BIN" run --name "$name" "${RUN_ARGS[@]}" -- "$@" || FAILED=1
}

run_driver rust "$DEMO_BIN"

# A binding's demo runs when its example exists and its package is (or gets) built.
setup_part() { if [ -x "$ROOT/scripts/setup/$1.sh" ]; then "$ROOT/scripts/setup/$1.sh"; fi; }
if [ "$rust_only" = 0 ]; then
  if [ -f bindings-python/examples/demo.py ]; then
    setup_part python || echo "python set-up failed: skipping the Python demo" >&2
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import hoopauth' 2>/dev/null; then
      run_driver python "$VENV/bin/python" bindings-python/examples/demo.py
    else
      echo "(Python package not built: Python demo skipped)"
    fi
  fi
  if [ -f bindings-node/examples/demo.mjs ] && have node; then
    setup_part node || echo "node set-up failed: skipping the Node demo" >&2
    if (cd bindings-node && node -e 'require(".")') >/dev/null 2>&1; then
      run_driver node node bindings-node/examples/demo.mjs
    else
      echo "(Node package not built: Node demo skipped)"
    fi
  fi
  if have node && { [ -f bindings-wasm/examples/demo.mjs ] || [ -f bindings-node/examples/demo.mjs ]; }; then
    setup_part wasm || echo "wasm set-up failed: skipping the WASM demo" >&2
    if [ -d bindings-wasm/pkg-node ] && (cd bindings-wasm/pkg-node && node -e 'require(".")') >/dev/null 2>&1; then
      if [ -f bindings-wasm/examples/demo.mjs ]; then
        run_driver wasm node bindings-wasm/examples/demo.mjs
      else
        HOOPAUTH_JS_IMPL="$ROOT/bindings-wasm/pkg-node" run_driver wasm node bindings-node/examples/demo.mjs
      fi
    else
      echo "(WASM package not built: WASM demo skipped)"
    fi
  fi
fi

# The install scene: the app's whole life over webhooks — a company-level bulk INSTALL
# (delivered twice: the repeat is a duplicate), a location token minted per approved location
# and minted again as each comes due (never refreshed), paced calls, one location uninstalled
# (its tokens gone from the store). `hoopauth-demo install` starts a fresh emulator for each
# driver and judges (tests/demo/src/install.rs): the Rust driver over the core, then the
# packages that are built (tests/demo/drivers/install.py on the Python package,
# tests/demo/drivers/install.mjs on the Node addon and on WASM in Node).
say "install scene: bulk INSTALL, location tokens minted and minted again, UNINSTALL"
run_install() {
  local name="$1"; shift
  "$DEMO_BIN" install --name "$name" --rows "$ROWS" -- "$@" || FAILED=1
}
run_install rust "$DEMO_BIN" install-driver
if [ "$rust_only" = 0 ] && [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import hoopauth' 2>/dev/null; then
  run_install python "$VENV/bin/python" tests/demo/drivers/install.py
fi
if [ "$rust_only" = 0 ] && have node; then
  if (cd bindings-node && node -e 'require(".")') >/dev/null 2>&1; then
    run_install node node tests/demo/drivers/install.mjs
  fi
  if [ -d bindings-wasm/pkg-node ] && (cd bindings-wasm/pkg-node && node -e 'require(".")') >/dev/null 2>&1; then
    HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node run_install wasm node tests/demo/drivers/install.mjs
  fi
fi

# The coordinated scene: several processes (Python sync and asyncio, the Node addon and WASM in
# Node, whichever are built) share one client of the app through a throwaway redis-server:
# one pacing window (0 x 429, at most the limit in any 10 s), then a process killed with -9
# right after the token endpoint answered its refresh, whose chain another process completes
# inside the platform's grace. tests/fleet/run.py starts its own emulator and judges.
if [ "$rust_only" = 0 ] && [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import hoopauth, redis' 2>/dev/null; then
  setup_part redis || echo "redis set-up failed: skipping the coordinated scene" >&2
  if have redis-server; then
    say "coordinated scene: many processes, one client (Redis)"
    COORD_TMP="$(mktemp -d)"
    start_redis "$COORD_TMP/redis"
    if [ "$short" = 1 ]; then coord_calls=300; else coord_calls=1000; fi
    "$VENV/bin/python" tests/fleet/run.py --scenario s1,s3 --calls "$coord_calls" --out "$COORD_TMP/fleet.json" \
      || { echo "coordinated scene FAILED" >&2; FAILED=1; }
    stop_redis
    rm -rf "$COORD_TMP"
  fi
fi

say "demo summary"
"$DEMO_BIN" summary "$ROWS" || FAILED=1
if [ "$FAILED" != 0 ]; then
  echo "demo FAILED" >&2
  exit 1
fi
say "demo passed"
