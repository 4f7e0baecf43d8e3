#!/usr/bin/env bash
# tsc over a worker that uses @hoopauth/wasm/durable-object (durable.ts), resolved as a
# dependency (node_modules/@hoopauth/wasm → bindings-wasm/pkg) under node10, node16,
# nodenext and bundler module resolution.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../../.." && pwd)"
mkdir -p "$here/node_modules/@hoopauth"
ln -sfn "$root/bindings-wasm/pkg" "$here/node_modules/@hoopauth/wasm"
tsc="$root/bindings-wasm/node_modules/.bin/tsc"
for r in node10 node16 nodenext bundler; do
  echo "tsc -p tests/workerd/types/tsconfig.$r.json"
  "$tsc" -p "$here/tsconfig.$r.json"
done
