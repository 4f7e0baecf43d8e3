// A tiny static server on 127.0.0.1 for the browser tests: the built web package
// (bindings-wasm/pkg), the shared JS tests (tests/js), and the vectors of HOOPAUTH_VECTORS
// as one JSON document (GET /vectors → [{file, doc}]). .wasm is served as application/wasm.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const VECTORS = process.env.HOOPAUTH_VECTORS || path.resolve(ROOT, '..', 'shared', 'vectors');
export const PKG = path.join(ROOT, 'bindings-wasm', 'pkg');

const TYPES = {
  '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.ts': 'text/plain',
};
const MOUNTS = [['/pkg/', PKG], ['/tests/js/', path.join(ROOT, 'tests', 'js')]];

function vectorsDoc() {
  return fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort()
    .map((file) => ({ file, doc: JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8')) }));
}

/** Start the server on a free loopback port: resolves {url, close()}. */
export function startStatic() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/vectors') return send(200, TYPES['.json'], JSON.stringify(vectorsDoc()));
    if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
    for (const [prefix, dir] of MOUNTS) {
      if (!url.pathname.startsWith(prefix)) continue;
      const rel = decodeURIComponent(url.pathname.slice(prefix.length));
      const file = path.resolve(dir, rel);
      if (!file.startsWith(dir + path.sep)) return send(403, 'text/plain', 'forbidden');
      fs.readFile(file, (err, data) => {
        if (err) return send(404, 'text/plain', 'not found');
        send(200, TYPES[path.extname(file)] || 'application/octet-stream', data);
      });
      return;
    }
    send(404, 'text/plain', 'not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
