#!/usr/bin/env bash
# tsc over a consumer of each package (node.ts, wasm.ts) with every module resolution a user
# may have: node10 (classic "node"), node16, nodenext, bundler. The packages are resolved as
# dependencies the way a user gets them: node_modules/@hoopauth/{node,wasm} symlinks to
# bindings-node and bindings-wasm/pkg (package.json exports, types conditions).
# Usage: run.sh node|wasm
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../../../.." && pwd)"
pkg="$1"
case "$pkg" in node) target="$root/bindings-node";; wasm) target="$root/bindings-wasm/pkg";; *) echo "node|wasm" >&2; exit 2;; esac
mkdir -p "$here/node_modules/@hoopauth"
ln -sfn "$target" "$here/node_modules/@hoopauth/$pkg"
tsc="$root/bindings-node/node_modules/.bin/tsc"
[ -x "$tsc" ] || tsc="$root/bindings-wasm/node_modules/.bin/tsc"
for r in node10 node16 nodenext bundler; do
  echo "tsc -p tsconfig.$pkg.$r.json"
  "$tsc" -p "$here/tsconfig.$pkg.$r.json"
done
