// The fenced code blocks of a README, for the tests that run them as written
// (tests/js/readme.test.mjs: ```js; tests/js/browser/readme-pages.test.mjs: ```html).
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './server.mjs';

/** The blocks of `file` (relative to the repository) whose info string's first word is one of
 *  `langs`: [{ file, info, code, line, nocheck }] (blocks marked `nocheck` included). */
export function codeBlocks(file, langs) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const out = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  let m;
  while ((m = re.exec(text))) {
    const info = m[1].trim().split(/\s+/);
    if (!langs.includes(info[0])) continue;
    out.push({ file, info, code: m[2], line: text.slice(0, m.index).split('\n').length, nocheck: info.includes('nocheck') });
  }
  return out;
}
