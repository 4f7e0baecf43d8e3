// Shared helpers of the JS suite: which implementation to test, the vectors, the emulator.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IMPL_DIR = path.resolve(ROOT, process.env.HOOPAUTH_JS_IMPL || 'bindings-node');
/** The implementation under test (its package entry, CommonJS). */
export const h = require(IMPL_DIR);
export const VECTORS = process.env.HOOPAUTH_VECTORS || path.resolve(ROOT, '..', 'shared', 'vectors');
export const EMULATOR_BIN = process.env.HOOPAUTH_EMULATOR_BIN || path.join(ROOT, 'target', 'debug', 'hoopauth-emulator');

export function vectorFiles() {
  return fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ file: f, doc: JSON.parse(fs.readFileSync(path.join(VECTORS, f), 'utf8')) }));
}

/** Start the emulator with --port 0 and flags; resolves {baseUrl, info, stop, stats, control, reset}. */
export async function startEmulator(flags = []) {
  if (!fs.existsSync(EMULATOR_BIN)) throw new Error(`emulator binary missing: ${EMULATOR_BIN} (cargo build -p hoopauth-emulator)`);
  const child = spawn(EMULATOR_BIN, ['--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout });
  const line = await new Promise((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
  });
  const info = JSON.parse(line);
  const baseUrl = info.base_url;
  const getJson = async (p, init) => (await fetch(baseUrl + p, init)).json();
  return {
    info,
    baseUrl,
    stop() { child.kill('SIGTERM'); },
    stats: () => getJson('/_emulator/stats'),
    reset: () => fetch(baseUrl + '/_emulator/reset', { method: 'POST' }).then((r) => r.text()),
    control: (knobs) => getJson('/_emulator/control', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(knobs),
    }),
  };
}

/** Authorize the app for one location through the emulator's consent page; returns the callback URL. */
export async function authorize(client, baseUrl, { locationId, state, scopes }) {
  const url = new URL(client.authorizationUrl({ scopes, state }));
  if (locationId) url.searchParams.set('location_id', locationId);
  const resp = await fetch(url, { redirect: 'manual' });
  const loc = resp.headers.get('location');
  if (resp.status !== 302 || !loc) throw new Error(`consent did not redirect: ${resp.status}`);
  return loc;
}

export const SCOPES = ['contacts.readonly', 'contacts.write', 'locations.readonly'];
