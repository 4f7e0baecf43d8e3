// Wrap the shared CommonJS JS layer (bindings-node/lib/*.js) into one ES module, so that
// browsers and edge workers (no `require`) can load it: each file becomes a function
// (module, exports, require) in a table; `require` resolves only among these files and
// throws MODULE_NOT_FOUND for anything else (lib/ guards its optional Node-only imports).
// Usage: node cjs-to-esm.mjs <lib dir> <out.mjs> [entry=api.js]
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [libDir, out, entry = 'api.js'] = process.argv.slice(2);
if (!libDir || !out) {
  console.error('usage: cjs-to-esm.mjs <lib dir> <out.mjs> [entry]');
  process.exit(2);
}
const files = readdirSync(libDir).filter((f) => f.endsWith('.js')).sort();
if (!files.includes(entry)) {
  console.error(`cjs-to-esm: ${entry} not found in ${libDir}`);
  process.exit(1);
}
let body = '// Generated from bindings-node/lib/*.js by bindings-wasm/tools/cjs-to-esm.mjs: do not edit.\n';
body += 'const __defs = Object.create(null);\n';
for (const f of files) {
  const src = readFileSync(join(libDir, f), 'utf8');
  if (/\bimport\s*\(|^\s*import\s|^\s*export\s/m.test(src)) {
    console.error(`cjs-to-esm: ${f} is not CommonJS`);
    process.exit(1);
  }
  body += `__defs[${JSON.stringify(f)}] = function (module, exports, require) {\n${src}\n};\n`;
}
body += `
const __cache = Object.create(null);
function __require(spec) {
  let name = String(spec).replace(/^\\.\\//, '');
  if (!name.endsWith('.js')) name += '.js';
  if (!(name in __defs)) {
    const e = new Error("Cannot find module '" + spec + "'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  if (name in __cache) return __cache[name].exports;
  const module = { exports: {} };
  __cache[name] = module;
  __defs[name].call(module.exports, module, module.exports, __require);
  return module.exports;
}
const __entry = __require(${JSON.stringify(entry)});
export default __entry;
`;
writeFileSync(out, body);
