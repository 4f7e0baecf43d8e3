#!/usr/bin/env bash
# Set up everything a fresh machine needs, then run every test of every crate and binding.
. "$(dirname "$0")/lib.sh"
parts=(rust redis python node wasm docs install demo coord)
[ $# -gt 0 ] && parts=("$@")
start=$(date +%s)
for p in "${parts[@]}"; do
  if [ -x "$ROOT/scripts/setup/$p.sh" ]; then say "set-up: $p"; "$ROOT/scripts/setup/$p.sh"; fi
done
for p in "${parts[@]}"; do
  if [ -x "$ROOT/scripts/test/$p.sh" ]; then say "tests: $p"; "$ROOT/scripts/test/$p.sh"; fi
done
say "all tests passed ($(( $(date +%s) - start )) s)"
