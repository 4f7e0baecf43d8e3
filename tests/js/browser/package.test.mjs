// The built npm package (bindings-wasm/pkg): one package for browsers, edge workers and Node.
// Node resolves the "node" export condition (CommonJS + ESM, no init needed); everything else
// gets the web entry. Version = the workspace version; the wasm within the size budget.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { PKG, ROOT } from './server.mjs';

const pkg = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));

test('package version is the workspace version', () => {
  const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  const version = /\[workspace\.package\][^[]*?\nversion\s*=\s*"([^"]+)"/.exec(cargo)[1];
  assert.equal(pkg.version, version);
  for (const p of ['bindings-wasm/package.json', 'bindings-wasm/pkg-node/package.json']) {
    assert.equal(JSON.parse(fs.readFileSync(path.join(ROOT, p), 'utf8')).version, version, p);
  }
});

test('Node resolves the package to the nodejs build (require and import), browsers to the web entry', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoopauth-wasm-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules', '@hoopauth'), { recursive: true });
    fs.symlinkSync(PKG, path.join(dir, 'node_modules', '@hoopauth', 'wasm'), 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), '{}');
    const req = createRequire(path.join(dir, 'x.js'));
    const cjs = req('@hoopauth/wasm');
    assert.equal(fs.realpathSync(req.resolve('@hoopauth/wasm')), path.join(PKG, 'node', 'index.js'));
    assert.equal(typeof cjs.Client, 'function');
    assert.equal(cjs.ERROR_KINDS.length, 23);
    fs.writeFileSync(path.join(dir, 'probe.mjs'), "export * as m from '@hoopauth/wasm'; export { default as init } from '@hoopauth/wasm';");
    const esm = await import(pathToFileURL(path.join(dir, 'probe.mjs')).href);
    assert.equal(typeof esm.m.App, 'function');
    const api = await esm.init();
    assert.equal(api.App, esm.m.App);
    assert.equal(pkg.exports['.'].default, './index.mjs');
    assert.equal(pkg.exports['.'].types, './index.d.ts');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the web entry needs init() and then offers the same API', async () => {
  const web = await import(pathToFileURL(path.join(PKG, 'index.mjs')).href);
  assert.equal(web.App, undefined, 'bound only after init');
  const api = web.initSync(fs.readFileSync(path.join(PKG, 'hoopauth_wasm_bg.wasm')));
  const node = createRequire(import.meta.url)(path.join(ROOT, 'bindings-wasm', 'pkg-node'));
  assert.deepEqual(Object.keys(api).sort(), Object.keys(node).sort());
  assert.equal(web.App, api.App);
  assert.equal(web.parseCallback('?code=c&state=s', 's').code, 'c');
});

test('size: report raw and gzipped wasm', () => {
  const wasm = fs.readFileSync(path.join(PKG, 'hoopauth_wasm_bg.wasm'));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  console.log(`# wasm: ${wasm.length} bytes raw, ${gz} bytes gzipped (target ≤ 153600)`);
  assert.ok(gz < 400 * 1024, 'gzipped wasm grew beyond 400 KB');
});
