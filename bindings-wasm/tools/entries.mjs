// Write the entry files of a built package directory.
// Usage: node entries.mjs <node|web> <dir> <version> <export names...>
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [mode, dir, version, ...names] = process.argv.slice(2);
const ident = /^[A-Za-z_$][\w$]*$/;
const exportNames = names.filter((n) => ident.test(n) && n !== 'default');
const description =
  'HoopAI / HighLevel platform API client core on WebAssembly (browsers, edge workers, Node): ' +
  'OAuth, single-use refresh tokens, pacing, error classification, webhook verification.';
const initDts = (sync) => `
/** Where the .wasm comes from: a URL/path/Response/bytes/compiled module (default: beside this file). */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
/** Instantiate the WASM module (${sync ? 'a no-op in Node: it loads on import' : 'required once before any other call'}). */
export default function init(input?: InitInput | Promise<InitInput>): Promise<typeof import('./api.js')>;
/** Instantiate from bytes or a compiled module, synchronously (edge runtimes bind .wasm as a module). */
export function initSync(module?: BufferSource | WebAssembly.Module): typeof import('./api.js');
`;
const dts = (sync) => `// The public API is tests/js/api.d.ts of hoopauth (shared with the Node addon), copied as api.d.ts.
export * from './api.js';
${initDts(sync)}`;

if (mode === 'node') {
  // A static import (not createRequire(import.meta.url)) so bundlers can follow it (esbuild
  // --platform=node); Node hands a CommonJS module's exports over as the default import.
  const mjs = `// ESM entry: re-exports the CommonJS entry (the nodejs wasm-bindgen target is CommonJS).
import api from './index.js';
/** Nothing to do in Node (the module is instantiated on import); kept for code shared with browsers. */
export default async function init() { return api; }
export function initSync() { return api; }
export const { ${exportNames.join(', ')} } = api;
`;
  writeFileSync(join(dir, 'index.mjs'), mjs);
  writeFileSync(join(dir, 'index.d.ts'), dts(true));
  const pkg = {
    name: '@hoopauth/wasm-node',
    version,
    description,
    license: 'MIT OR Apache-2.0',
    main: 'index.js',
    types: 'index.d.ts',
    exports: {
      '.': { types: './index.d.ts', import: './index.mjs', require: './index.js' },
      './package.json': './package.json',
    },
    sideEffects: false,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
} else if (mode === 'web') {
  const mjs = `// Browsers, bundlers and edge workers: \`await init()\` once, then use the API.
// The shared JS layer (bindings-node/lib) is bundled as lib.mjs (its generateState draws
// the state bytes from crypto.getRandomValues when the caller passes none).
import __initWasm, { initSync as __initSyncWasm } from './hoopauth_wasm.js';
import * as __native from './hoopauth_wasm.js';
import __build from './lib.mjs';

let __api = null;
export let ${exportNames.join(', ')};

function __bind() {
  if (__api) return __api;
  const api = __build(__native);
  (${'{ ' + exportNames.join(', ') + ' }'} = api);
  __api = api;
  return __api;
}

/** Instantiate the WASM module (once; later calls return the same API). */
export default async function init(input) {
  if (__api) return __api;
  await __initWasm(input === undefined ? undefined : { module_or_path: input });
  return __bind();
}

/** Instantiate synchronously from bytes or a compiled WebAssembly.Module. */
export function initSync(module) {
  if (__api) return __api;
  __initSyncWasm({ module });
  return __bind();
}
`;
  writeFileSync(join(dir, 'index.mjs'), mjs);
  writeFileSync(join(dir, 'index.d.ts'), dts(false));
  const pkg = {
    name: '@hoopauth/wasm',
    version,
    // The top level is ES modules (web target); node/ has its own {"type": "commonjs"}.
    type: 'module',
    description,
    license: 'MIT OR Apache-2.0',
    main: './node/index.js',
    module: './index.mjs',
    browser: './index.mjs',
    types: './index.d.ts',
    exports: {
      '.': {
        types: './index.d.ts',
        node: { types: './node/index.d.ts', import: './node/index.mjs', require: './node/index.js' },
        default: './index.mjs',
      },
      './web': { types: './index.d.ts', default: './index.mjs' },
      './node': { types: './node/index.d.ts', import: './node/index.mjs', require: './node/index.js' },
      './hoopauth_wasm_bg.wasm': './hoopauth_wasm_bg.wasm',
      './package.json': './package.json',
    },
    files: ['index.mjs', 'index.d.ts', 'api.d.ts', 'lib.mjs', 'hoopauth_wasm.js', 'hoopauth_wasm.d.ts',
      'hoopauth_wasm_bg.wasm', 'hoopauth_wasm_bg.wasm.d.ts', 'node/', 'README.md'],
    sideEffects: false,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
} else {
  console.error('mode must be node or web');
  process.exit(2);
}
