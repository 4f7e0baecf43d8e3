#!/usr/bin/env bash
# WASM binding tooling (idempotent): rust target, wasm-bindgen CLI pinned to the crate's
# version in Cargo.lock, npm devDependencies (binaryen's wasm-opt, playwright-core), and
# Debian's chromium for the browser tests. Nothing downloads a browser.
. "$(dirname "$0")/../lib.sh"
have cargo || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
have npm || { echo "npm not found: install Node 20 first" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

want="$(wasm_bindgen_version)"
[ -n "$want" ] || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }
have_v="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_v" != "$want" ]; then
  say "cargo install wasm-bindgen-cli =$want (was: ${have_v:-none})"
  cargo install wasm-bindgen-cli --version "=$want" --no-default-features --locked --force \
    || cargo install wasm-bindgen-cli --version "=$want" --no-default-features --force
fi

missing_npm="$(cd "$ROOT/bindings-wasm" && node -e '
  const d = Object.keys(require("./package.json").devDependencies || {});
  const fs = require("fs");
  console.log(d.filter((n) => !fs.existsSync("node_modules/" + n + "/package.json")).join(" "));')"
if [ -n "$missing_npm" ]; then
  say "npm install (bindings-wasm devDependencies; missing: $missing_npm)"
  # playwright-core never downloads browsers; the env var makes sure no tool tries.
  (cd "$ROOT/bindings-wasm" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)
fi

if [ ! -x /usr/bin/chromium ]; then
  say "apt-get install chromium (Debian's; used headless by the browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends chromium \
    || { as_root apt-get update && as_root apt-get install -y --no-install-recommends chromium; }
fi

# Cloudflare's workerd (npm `workerd`, whose per-platform package ships the binary) into
# tests/workerd/node_modules, for the worker example's run in the real edge runtime.
if [ ! -x "$ROOT/tests/workerd/node_modules/.bin/workerd" ]; then
  say "npm install (tests/workerd: workerd)"
  (cd "$ROOT/tests/workerd" && npm install --no-audit --no-fund)
fi

# The package version must be the workspace version.
ws="$(awk '/^\[workspace.package\]/{f=1} f&&/^version *=/{gsub(/version *= *|"/,""); print; exit}' "$ROOT/Cargo.toml")"
pv="$(node -p "require('$ROOT/bindings-wasm/package.json').version")"
[ "$ws" = "$pv" ] || { echo "bindings-wasm/package.json version $pv != workspace version $ws" >&2; exit 1; }

# The package itself, once (the demo and the tests use bindings-wasm/pkg-node; the test
# script rebuilds it every run).
if [ ! -f "$ROOT/bindings-wasm/pkg-node/index.js" ] || [ ! -f "$ROOT/bindings-wasm/pkg/index.mjs" ]; then
  "$ROOT/bindings-wasm/build.sh"
fi
