#!/usr/bin/env bash
# Every Rust test: core (vectors, property tests, unit), emulator, demo; clippy; wasm build of the core.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
say "cargo clippy (core denies unwrap/expect/panic/indexing)"
cargo clippy -q -p hoopauth -p hoopauth-emulator -p hoopauth-demo --all-targets -- -D warnings
say "cargo test (core, emulator; the demo crate runs in scripts/test/demo.sh)"
cargo test -q -p hoopauth -p hoopauth-emulator
say "core builds for wasm32-unknown-unknown"
cargo build -q -p hoopauth --target wasm32-unknown-unknown
if cargo fuzz --version >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q nightly; then
  say "fuzz smoke run"
  "$ROOT/scripts/fuzz-smoke.sh"
else
  say "fuzz smoke run skipped (needs cargo-fuzz and a nightly toolchain); the proptest garbage-in tests ran above"
fi
