#!/usr/bin/env bash
# `make bench`: every benchmark in one run, then BENCHMARKS.md and bench/race.svg rewritten.
#
#   scripts/bench.sh [--quick] [--race-only] [--no-race]
#
# 1. core: criterion (`cargo bench -p hoopauth --bench core`) and memory per tracked resource
#    at 100,000 resources; the WASM package's size (raw, gzip -9)
# 2. each binding's own script beside its peers (bindings-*/bench/), output kept verbatim
# 3. the pacing race (bench/race.py): hoopauth's Python, Node and WASM drivers and the official
#    SDKs (npm @gohighlevel/api-client, PyPI gohighlevel-api-client), plain and each over hoopauth
#    (axiosAdapter / AsyncTransport under its HTTP client), against the emulator with
#    the platform's limits (100 per 10 s per location), and, as references measured in the same
#    run, Node's fetch and httpx alone sending one window's calls. Takes ~20 minutes.
#    --quick: limits scaled down (20 per 2 s), fewer calls, criterion --quick: a smoke check.
# 4. bench/report.py: BENCHMARKS.md (the hand-written intro above its marker is kept) + SVG.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

quick=0; race=1; others=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --race-only) others=0 ;;
    --no-race) race=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
OUT="$ROOT/bench/results"
mkdir -p "$OUT/bindings"
PY="$VENV/bin/python"

say "set-up (idempotent): rust, python, node, wasm"
for part in rust python node wasm; do
  [ -x "$ROOT/scripts/setup/$part.sh" ] || [ -f "$ROOT/scripts/setup/$part.sh" ] && bash "$ROOT/scripts/setup/$part.sh"
done
[ -f "$ROOT/bindings-wasm/build.sh" ] && { say "build the WASM package"; bash "$ROOT/bindings-wasm/build.sh"; }
say "the emulator, release build (the race's stand-in for the platform should not be the slow side)"
cargo build -q --release -p hoopauth-emulator

say "the peers for the race (bench/ only): npm @gohighlevel/api-client (+ axios), PyPI gohighlevel-api-client"
if [ ! -d "$ROOT/bench/node_modules/@gohighlevel/api-client" ] || [ ! -d "$ROOT/bench/node_modules/axios" ]; then
  (cd "$ROOT/bench" && npm install --no-audit --no-fund)
fi
"$PY" -c 'import highlevel' 2>/dev/null || "$VENV/bin/pip" install -q "gohighlevel-api-client==3.0.0"

if [ "$others" = 1 ]; then
  say "core: criterion"
  crit=()
  [ "$quick" = 1 ] && crit=(-- --quick)
  cargo bench -q -p hoopauth --bench core "${crit[@]}" 2>&1 | tee "$OUT/core-criterion.txt" | grep -E "^[a-z_].*time:" || true
  say "core: memory per tracked resource at 100,000 resources"
  cargo test -q -p hoopauth --test properties memory -- --nocapture 2>&1 | tee "$OUT/core-memory.txt" | grep -i "bytes" || true

  say "bindings: each one's script beside its peers"
  if [ -f bindings-python/bench/bench.py ]; then
    "$PY" bindings-python/bench/bench.py >"$OUT/bindings/python.txt" 2>&1 || echo "(python bench exited $?)" >>"$OUT/bindings/python.txt"
  fi
  for f in bindings-node/bench/*.mjs; do
    [ -f "$f" ] || continue
    (cd bindings-node && node "bench/$(basename "$f")") >"$OUT/bindings/node-$(basename "$f" .mjs).txt" 2>&1 \
      || echo "(exit $?)" >>"$OUT/bindings/node-$(basename "$f" .mjs).txt"
  done
  if [ -f bindings-wasm/bench/bench.mjs ]; then
    # Always --quick: the script's full mode ran over 10 minutes here.
    { echo "(run with --quick: the script's full mode ran over 10 minutes on this machine)"
      node bindings-wasm/bench/bench.mjs --quick 2>&1 || echo "(exit $?)"; } >"$OUT/bindings/wasm.txt"
  fi
  # mitata colours its tables: keep plain text.
  sed -i 's/\x1b\[[0-9;]*m//g' "$OUT"/bindings/*.txt 2>/dev/null || true
fi

if [ "$race" = 1 ]; then
  say "the pacing race$([ "$quick" = 1 ] && echo ' (quick)')"
  rq=(); [ "$quick" = 1 ] && rq=(--quick)
  "$PY" bench/race.py "${rq[@]}" --out "$OUT/race.json"
fi

say "report: BENCHMARKS.md, bench/race.svg"
cmd="make bench"; [ "$quick" = 1 ] && cmd="bash scripts/bench.sh --quick"
"$PY" bench/report.py --results "$OUT" --command "$cmd"
