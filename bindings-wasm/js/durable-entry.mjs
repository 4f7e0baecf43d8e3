// Adds the Durable Object store to a built package directory (run by build.sh after
// web-entry.mjs): durable-object.mjs and its types, the "./durable-object" export.
// Usage: node durable-entry.mjs <pkg dir>
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
copyFileSync(join(here, 'durable-object.mjs'), join(dir, 'durable-object.mjs'));
copyFileSync(join(here, 'durable-object.d.ts'), join(dir, 'durable-object.d.ts'));

const pkgPath = join(dir, 'package.json');
const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
pkg.exports['./durable-object'] = { types: './durable-object.d.ts', default: './durable-object.mjs' };
for (const f of ['durable-object.mjs', 'durable-object.d.ts']) if (!pkg.files.includes(f)) pkg.files.push(f);
writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
