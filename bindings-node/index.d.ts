// Types of @hoopauth/node: the shared JS API of hoopauth, declared once in tests/js/api.d.ts
// and copied into the package as api.d.ts by scripts/setup/node.sh (the WASM package ships
// the same file), so the two packages cannot drift apart.
export * from './api.js';
export * from './lib/axios.js';
