#!/usr/bin/env bash
# Every Rust test: core (vectors, property tests, unit), emulator, demo; clippy; wasm build of the core.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
say "cargo clippy --workspace -D warnings (every crate and binding; the core also denies unwrap/expect/panic/indexing)"
cargo clippy -q --workspace --all-targets -- -D warnings
say "cargo doc: every public item of the core documented (missing_docs denied)"
RUSTDOCFLAGS="-D warnings -D missing_docs" cargo doc -q -p hoopauth --no-deps
say "cargo test (core, emulator; the demo crate runs in scripts/test/demo.sh)"
cargo test -q -p hoopauth -p hoopauth-emulator
say "core builds for wasm32-unknown-unknown"
cargo build -q -p hoopauth --target wasm32-unknown-unknown
say "fuzz smoke run (stable toolchain; installs cargo-fuzz if missing; every target ${FUZZ_SECONDS:-10}s)"
"$ROOT/scripts/fuzz-smoke.sh"
