#!/usr/bin/env bash
# The README's first command (`make demo`): the emulator stands in for the platform; each
# driver authorizes three locations (authorization page → callback → code exchange), then
# makes paced API calls across them while the access tokens expire mid-run. Drivers: the
# Rust one (tests/demo), then — when their packages are set up — the Python, Node and WASM
# examples. Each runs against a fresh emulator; the emulator's own counters decide.
#
#   scripts/demo.sh [--short] [--rust-only] [--calls N]
#
# --short: 150 calls, limits 20/1 s, 2 s tokens (CI). Default: 1,000 calls over loc_1..3,
# the platform's 100 per 10 s, 8 s tokens refreshed 1 s early (three refreshes per location).
#
# Driver contract: args `--base-url URL --client-id ID --client-secret S --calls N
# --locations a,b,c`; exit 0 on success; print one JSON line on stdout with at least
# {"driver","calls","wall_ms","ideal_ms"} and, when not 1000, "refresh_leeway_ms".
# A run fails on: a non-zero exit, any 429, any refused grant (invalid_grant), or, for
# some location, more refreshes than token lives crossed in the run
# (floor(wall_ms / (token_ttl − refresh_leeway))): a repeated refresh.
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
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
LOCATIONS=loc_1,loc_2,loc_3
if [ "$short" = 1 ]; then
  CALLS=${calls:-150}; MAX=20; INTERVAL_MS=1000; TTL_SECS=2
else
  CALLS=${calls:-1000}; MAX=100; INTERVAL_MS=10000; TTL_SECS=8
fi
LEEWAY_MS=1000
DRIVER_TIMEOUT=${DEMO_DRIVER_TIMEOUT:-900}

have python3 || { echo "python3 is needed to read the emulator's JSON" >&2; exit 1; }
"$ROOT/scripts/setup/rust.sh"
# Debug build: shares its artefacts with `cargo test`; the run time is pacing, not CPU
# (a cold release build with LTO costs ~90 s more for no change in the numbers).
say "cargo build (emulator, Rust demo driver)"
cargo build -q -p hoopauth-emulator -p hoopauth-demo
DEMO_BIN="$ROOT/target/debug/hoopauth-demo"

TMP="$(mktemp -d)"
EMU_PID=""
stop_emulator() {
  if [ -n "$EMU_PID" ]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=""
  fi
}
cleanup() { stop_emulator; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start a fresh emulator; sets BASE_URL CLIENT_ID CLIENT_SECRET.
start_emulator() {
  : >"$TMP/emu.out"
  "$HOOPAUTH_EMULATOR_BIN" --port 0 --locations "$LOCATIONS" --max "$MAX" --interval-ms "$INTERVAL_MS" \
    --token-ttl-secs "$TTL_SECS" >"$TMP/emu.out" 2>"$TMP/emu.err" &
  EMU_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$TMP/emu.out" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$TMP/emu.err" >&2; echo "the emulator exited" >&2; exit 1; }
    sleep 0.05
  done
  read -r BASE_URL CLIENT_ID CLIENT_SECRET < <(python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
print(d["base_url"], d["client_id"], d["client_secret"])' "$TMP/emu.out")
}

FAILED=0
ROWS="$TMP/rows.jsonl"
: >"$ROWS"

# run_driver NAME CMD...: the driver gets the common args appended.
run_driver() {
  local name="$1"; shift
  start_emulator
  say "demo: $name driver — $CALLS calls over $LOCATIONS (limits $MAX/$INTERVAL_MS ms, tokens ${TTL_SECS}s)"
  local rc=0 t0 t1
  t0=$(date +%s%3N)
  timeout "$DRIVER_TIMEOUT" "$@" --base-url "$BASE_URL" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
    --calls "$CALLS" --locations "$LOCATIONS" >"$TMP/$name.out" || rc=$?
  t1=$(date +%s%3N)
  # The verdict: the driver's line for timing, the emulator's counters for everything else.
  python3 - "$name" "$rc" "$((t1 - t0))" "$TMP/$name.out" "$BASE_URL" "$CALLS" "$MAX" "$INTERVAL_MS" \
    "$TTL_SECS" "$LEEWAY_MS" "$LOCATIONS" >>"$ROWS" <<'EOF' || FAILED=1
import json, math, sys, urllib.request
name, rc, shell_ms, out, base, calls, mx, interval, ttl, leeway, locs = sys.argv[1:]
rc, shell_ms, calls, mx, interval = int(rc), int(shell_ms), int(calls), int(mx), int(interval)
ttl_ms, locs = int(ttl) * 1000, locs.split(",")
line = {}
for l in open(out, encoding="utf-8", errors="replace"):
    l = l.strip()
    if l.startswith("{"):
        try:
            line = json.loads(l)
        except ValueError:
            pass
stats = json.load(urllib.request.urlopen(base + "/_emulator/stats", timeout=10))
res, tot = stats.get("resources", {}), stats.get("totals", {})
wall = int(line.get("wall_ms") or shell_ms)
leeway = int(line.get("refresh_leeway_ms") or leeway)
per = [calls // len(locs) + (1 if i < calls % len(locs) else 0) for i in range(len(locs))]
ideal = line.get("ideal_ms")
if ideal is None:
    ideal = max(((math.ceil(n / mx) - 1) * interval if n else 0) for n in per)
life = ttl_ms - leeway
bound = wall // life if life > 0 else 0
refreshes = {l: res.get(l, {}).get("refreshes", 0) for l in locs}
ok = sum(res.get(l, {}).get("ok", 0) for l in locs)
problems = []
if rc != 0:
    problems.append("driver exited %d" % rc)
if not line:
    problems.append("no JSON line from the driver")
if ok < calls:
    problems.append("%d of %d calls answered 200" % (ok, calls))
if tot.get("rate_limited", 0):
    problems.append("%d answers 429" % tot["rate_limited"])
if tot.get("invalid_grants", 0):
    problems.append("%d refused grants" % tot["invalid_grants"])
for l, n in refreshes.items():
    if n > bound:
        problems.append("%s: %d refreshes for %d token lives (repeated refresh)" % (l, n, bound))
row = {"driver": name, "calls": calls, "ok": ok, "rate_limited": tot.get("rate_limited", 0),
       "refreshes": refreshes, "max_refreshes": bound, "invalid_grants": tot.get("invalid_grants", 0),
       "wall_ms": wall, "ideal_ms": ideal, "problems": problems}
print(json.dumps(row))
for p in problems:
    print("FAIL %s: %s" % (name, p), file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
  stop_emulator
}

run_driver rust "$DEMO_BIN" --refresh-leeway-ms "$LEEWAY_MS"

# The bindings' drivers are told the limits and the leeway (they pace from the first call,
# before the server's headers arrive).
BINDING_ARGS=(--max "$MAX" --interval-ms "$INTERVAL_MS" --refresh-leeway-ms "$LEEWAY_MS")

# A binding's demo runs when its example exists and its package is (or gets) built.
setup_part() { if [ -x "$ROOT/scripts/setup/$1.sh" ]; then "$ROOT/scripts/setup/$1.sh"; fi; }
if [ "$rust_only" = 0 ]; then
  if [ -f bindings-python/examples/demo.py ]; then
    setup_part python || echo "python set-up failed: skipping the Python demo" >&2
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import hoopauth' 2>/dev/null; then
      run_driver python "$VENV/bin/python" bindings-python/examples/demo.py "${BINDING_ARGS[@]}"
    else
      echo "(Python package not built: Python demo skipped)"
    fi
  fi
  if [ -f bindings-node/examples/demo.mjs ] && have node; then
    setup_part node || echo "node set-up failed: skipping the Node demo" >&2
    if (cd bindings-node && node -e 'require(".")') >/dev/null 2>&1; then
      run_driver node node bindings-node/examples/demo.mjs "${BINDING_ARGS[@]}"
    else
      echo "(Node package not built: Node demo skipped)"
    fi
  fi
  if have node && { [ -f bindings-wasm/examples/demo.mjs ] || [ -f bindings-node/examples/demo.mjs ]; }; then
    setup_part wasm || echo "wasm set-up failed: skipping the WASM demo" >&2
    if [ -d bindings-wasm/pkg-node ] && (cd bindings-wasm/pkg-node && node -e 'require(".")') >/dev/null 2>&1; then
      if [ -f bindings-wasm/examples/demo.mjs ]; then
        run_driver wasm node bindings-wasm/examples/demo.mjs "${BINDING_ARGS[@]}"
      else
        HOOPAUTH_JS_IMPL="$ROOT/bindings-wasm/pkg-node" run_driver wasm node bindings-node/examples/demo.mjs "${BINDING_ARGS[@]}"
      fi
    else
      echo "(WASM package not built: WASM demo skipped)"
    fi
  fi
fi

say "demo summary"
python3 - "$ROWS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
head = ("driver", "calls", "429s", "refreshes (max)", "invalid grants", "wall", "ideal", "result")
table = [head]
for r in rows:
    refr = "/".join(str(v) for v in r["refreshes"].values())
    table.append((r["driver"], "%d/%d" % (r["ok"], r["calls"]), str(r["rate_limited"]),
                  "%s (%d)" % (refr, r["max_refreshes"]), str(r["invalid_grants"]),
                  "%.2f s" % (r["wall_ms"] / 1000), "%.2f s" % (r["ideal_ms"] / 1000),
                  "ok" if not r["problems"] else "FAIL"))
w = [max(len(row[i]) for row in table) for i in range(len(head))]
for i, row in enumerate(table):
    print("  ".join(c.ljust(w[j]) for j, c in enumerate(row)))
    if i == 0:
        print("  ".join("-" * x for x in w))
EOF
if [ "$FAILED" != 0 ]; then
  echo "demo FAILED" >&2
  exit 1
fi
say "demo passed"
