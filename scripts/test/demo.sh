#!/usr/bin/env bash
# The demo in its short form (CI): every available driver against a fresh emulator, judged by
# `hoopauth-demo run`; fails on any 429, refused grant, repeated refresh or failed call. Also
# the demo crate's own tests (the verdict's rules one by one, the driver against an
# in-process emulator with small limits, the runner on good and broken drivers).
#   DEMO_RUST_ONLY=1 → only the Rust driver.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
say "cargo test -p hoopauth-demo"
cargo test -q -p hoopauth-demo
args=(--short)
[ "${DEMO_RUST_ONLY:-0}" = 1 ] && args+=(--rust-only)
"$ROOT/scripts/demo.sh" "${args[@]}"
