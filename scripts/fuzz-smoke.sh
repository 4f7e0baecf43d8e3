#!/usr/bin/env bash
# Run each cargo-fuzz target briefly (needs cargo-fuzz and a nightly toolchain; skipped otherwise).
. "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
secs="${FUZZ_SECONDS:-10}"
for t in token_response callback_url headers webhook; do
  say "fuzz $t for ${secs}s"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=1024
done
