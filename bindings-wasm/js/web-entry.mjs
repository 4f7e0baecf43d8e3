// The web package's entries (run by build.sh after tools/entries.mjs, which writes the
// package.json this completes):
//   index.mjs   browsers, bundlers, Deno, edge workers: `await init()` once. init() takes
//               nothing (fetches the .wasm beside index.mjs), a URL, a Response, bytes or a
//               compiled WebAssembly.Module; without an argument where no URL can be built
//               (workerd: no import.meta.url) it throws a HoopAuthError that says what to pass.
//   workerd.mjs Cloudflare workerd / Workers (the "workerd" export condition, or
//               '@hoopauth/wasm/workerd'): imports the .wasm as a module, which the runtime
//               binds to a WebAssembly.Module, and instantiates it on import; init() then
//               returns at once.
// Usage: node web-entry.mjs <pkg dir> <export names...>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...names] = process.argv.slice(2);
const ident = /^[A-Za-z_$][\w$]*$/;
const exportNames = names.filter((n) => ident.test(n) && n !== 'default');

const index = `// Browsers, bundlers and edge workers: \`await init()\` once, then use the API.
// The shared JS layer (bindings-node/lib) is bundled as lib.mjs (its generateState draws
// the state bytes from crypto.getRandomValues when the caller passes none).
// Cloudflare workerd / Workers: import '@hoopauth/wasm' resolves to workerd.mjs (the "workerd"
// condition), which instantiates on import; or pass the .wasm module yourself:
//   import wasm from '@hoopauth/wasm/hoopauth_wasm_bg.wasm'; await init(wasm);
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

const __HOW = 'in Cloudflare Workers / workerd, import the .wasm as a module and pass it: ' +
  "\`import wasm from '@hoopauth/wasm/hoopauth_wasm_bg.wasm'; await init(wasm)\` (or initSync(wasm)), " +
  "or import '@hoopauth/wasm/workerd', which does that itself";

function __initError(what, cause) {
  const E = __build.HoopAuthError;
  return new E('invalid_config', \`invalid_config: \${what}: \${__HOW}\`, { cause });
}

/** What init() was given → what wasm-bindgen's init takes. */
function __source(input) {
  if (input !== null && typeof input === 'object' && !(input instanceof WebAssembly.Module) &&
    Object.getPrototypeOf(input) === Object.prototype) {
    if ('module_or_path' in input) return input.module_or_path;
    if ('module' in input) return input.module;
  }
  return input;
}

/**
 * Instantiate the WASM module (once; later calls return the same API). \`input\`: a URL, a
 * Response, bytes, a compiled WebAssembly.Module (what worker runtimes bind a .wasm import
 * to), or nothing: then the .wasm is fetched from beside this file.
 */
export default async function init(input) {
  if (__api) return __api;
  let source = __source(await input);
  if (source === undefined || source === null) {
    try {
      source = new URL('hoopauth_wasm_bg.wasm', import.meta.url);
    } catch (e) {
      throw __initError('init() without an argument cannot locate hoopauth_wasm_bg.wasm here (no module URL)', e);
    }
    try {
      await __initWasm({ module_or_path: source });
    } catch (e) {
      throw __initError(\`init() could not load \${source.href}\`, e);
    }
    return __bind();
  }
  await __initWasm({ module_or_path: source });
  return __bind();
}

/** Instantiate synchronously from bytes or a compiled WebAssembly.Module. */
export function initSync(module) {
  if (__api) return __api;
  const source = __source(module);
  if (source === undefined || source === null) {
    throw __initError('initSync() needs the .wasm bytes or a compiled WebAssembly.Module', undefined);
  }
  __initSyncWasm({ module: source });
  return __bind();
}
`;

const workerd = `// Cloudflare workerd / Workers: the runtime binds a .wasm import to a compiled
// WebAssembly.Module, so this entry instantiates the package on import (no fetch, no URL);
// \`await init()\` then returns the API at once. Selected by the "workerd" export condition
// (wrangler and other workerd bundlers), or import '@hoopauth/wasm/workerd'.
import wasm from './hoopauth_wasm_bg.wasm';
import { initSync } from './index.mjs';

initSync(wasm);

export * from './index.mjs';
export { default } from './index.mjs';
`;

writeFileSync(join(dir, 'index.mjs'), index);
writeFileSync(join(dir, 'workerd.mjs'), workerd);
writeFileSync(join(dir, 'workerd.d.ts'), "export * from './index.js';\nexport { default } from './index.js';\n");

const pkgPath = join(dir, 'package.json');
const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
const dot = pkg.exports['.'];
// The workerd condition goes first: workerd bundlers match it before "default".
pkg.exports['.'] = { types: dot.types, workerd: { types: './workerd.d.ts', default: './workerd.mjs' }, ...dot };
const rest = { ...pkg.exports };
delete rest['.'];
pkg.exports = { '.': pkg.exports['.'], './workerd': { types: './workerd.d.ts', default: './workerd.mjs' }, ...rest };
for (const f of ['workerd.mjs', 'workerd.d.ts']) if (!pkg.files.includes(f)) pkg.files.push(f);
writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
