#!/usr/bin/env bash
# Node binding: npm tooling (napi CLI, TypeScript, bench peers) and the release addon.
. "$(dirname "$0")/../lib.sh"
have node || { echo "node not found: install Node >= 18 (20 recommended)" >&2; exit 1; }
have cargo || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
cd "$ROOT/bindings-node"

# The package version must be the workspace version.
ws_version=$(awk '/^\[workspace.package\]/{p=1} p && /^version/{gsub(/version *= *|"/,""); print; exit}' "$ROOT/Cargo.toml")
pkg_version=$(node -p "require('./package.json').version")
if [ "$ws_version" != "$pkg_version" ]; then
  echo "bindings-node/package.json version $pkg_version != workspace version $ws_version" >&2; exit 1
fi

# npm install only when node_modules is missing or package.json changed since the last install.
stamp=node_modules/.hoopauth-package-json
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || ! cmp -s package.json "$stamp"; then
  say "npm install (bindings-node)"
  npm install --no-audit --no-fund
  cp package.json "$stamp"
fi

# axios and the npm SDK (@gohighlevel/api-client) for tests/js/axios.test.mjs and the race:
# installed in bench/ only (@hoopauth/node does not depend on axios); skipped when present.
if [ ! -d "$ROOT/bench/node_modules/@gohighlevel/api-client" ] || [ ! -d "$ROOT/bench/node_modules/axios" ]; then
  say "npm install (bench: axios, @gohighlevel/api-client)"
  (cd "$ROOT/bench" && npm install --no-audit --no-fund)
fi

# The package's types are the shared contract (index.d.ts re-exports it).
cp "$ROOT/tests/js/api.d.ts" api.d.ts

# napi build: cargo is incremental, so a build with nothing changed takes a second or two.
say "napi build --release (bindings-node)"
npx napi build --platform --release --js native.js --dts native.d.ts
