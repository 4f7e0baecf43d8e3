#!/usr/bin/env bash
# Rust toolchain pieces the workspace needs (idempotent).
. "$(dirname "$0")/../lib.sh"
have cargo || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
  rustup component add clippy || true
fi
