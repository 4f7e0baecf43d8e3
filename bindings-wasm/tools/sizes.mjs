// Code size per crate of a (non-stripped) wasm module: parses the code section and the
// "name" section, attributes each function body to the crate its demangled name starts with.
// Usage: node sizes.mjs <file.wasm> [top-n-functions]
import { readFileSync } from 'node:fs';

const buf = readFileSync(process.argv[2]);
const top = Number(process.argv[3] || 0);
let pos = 8;
const u32 = () => { let r = 0, s = 0, b; do { b = buf[pos++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80); return r >>> 0; };
let imports = 0; const bodies = []; const names = new Map(); let dataBytes = 0;
while (pos < buf.length) {
  const id = buf[pos++]; const size = u32(); const end = pos + size;
  if (id === 2) { const n = u32(); for (let i = 0; i < n; i++) { const m = u32(); pos += m; const f = u32(); pos += f; const kind = buf[pos++];
      if (kind === 0) { u32(); imports++; } else if (kind === 1) { pos++; const fl = u32(); u32(); if (fl & 1) u32(); } else if (kind === 2) { const fl = u32(); u32(); if (fl & 1) u32(); } else if (kind === 3) { pos += 2; } } }
  else if (id === 10) { const n = u32(); for (let i = 0; i < n; i++) { const s = u32(); bodies.push(s); pos += s; } }
  else if (id === 11) dataBytes += size;
  else if (id === 0) { const nl = u32(); const name = buf.slice(pos, pos + nl).toString(); pos += nl;
    if (name === 'name') { while (pos < end) { const sid = buf[pos++]; const ss = u32(); const se = pos + ss;
        if (sid === 1) { const n = u32(); for (let i = 0; i < n; i++) { const idx = u32(); const l = u32(); names.set(idx, buf.slice(pos, pos + l).toString()); pos += l; } }
        pos = se; } } }
  pos = end;
}
const crate = (n) => {
  if (!n) return '?';
  if (n.startsWith('_R')) { const m = n.match(/C[sn]?[0-9a-zA-Z]*_(\d+)/) || n.match(/C(\d+)/); if (m) { const i = n.indexOf(m[1], m.index) + m[1].length; return n.slice(i, i + Number(m[1])); } return n.slice(0, 30); }
  if (n.startsWith('_ZN')) {
    const m = n.slice(3).match(/^(\d+)/); if (!m) return '?';
    let seg = n.slice(3 + m[1].length, 3 + m[1].length + Number(m[1]));
    seg = seg.replace(/^_?\$LT\$/, '').replace(/^\$RF\$/, '').replace(/^mut\$u20\$/, '').replace(/^\$u5b\$/, '');
    const c = seg.match(/^([A-Za-z_][A-Za-z0-9_]*)/); return c ? c[1] : seg.slice(0, 30);
  }
  const c = n.match(/^([A-Za-z_][\w-]*)/); return c ? c[1] : n.slice(0, 30);
};
const per = new Map(); const fns = [];
bodies.forEach((s, i) => { const n = names.get(imports + i); const c = crate(n); per.set(c, (per.get(c) || 0) + s); fns.push([s, n]); });
const total = bodies.reduce((a, b) => a + b, 0);
console.log(`code ${total} bytes in ${bodies.length} functions, data ${dataBytes} bytes, file ${buf.length}`);
for (const [c, s] of [...per].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(String(s).padStart(8), (100 * s / total).toFixed(1).padStart(5) + '%', c);
if (top) for (const [s, n] of fns.sort((a, b) => b[0] - a[0]).slice(0, top)) console.log(String(s).padStart(8), (n || '?').slice(0, 140));
