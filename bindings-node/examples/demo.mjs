#!/usr/bin/env node
// The journey against the platform emulator, from Node:
//   authorization URL → consent (fetch, redirect: 'manual', read Location) → parseCallback →
//   exchange, one per location → N paced calls spread over the locations → one summary JSON line.
//
//   node bindings-node/examples/demo.mjs --base-url URL --client-id ID --client-secret S \
//        [--calls N] [--locations loc_1,loc_2,loc_3] [--max 100 --interval-ms 10000]
//   node bindings-node/examples/demo.mjs --spawn-emulator [--calls N]   (starts target/debug/hoopauth-emulator)
//
// HOOPAUTH_JS_IMPL = the package dir to use (default bindings-node; bindings-wasm/pkg-node works too).
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const implDir = path.resolve(ROOT, process.env.HOOPAUTH_JS_IMPL || 'bindings-node');
const { App, Client, MemoryTokenStore, parseCallback, generateState } = require(implDir);

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true'];
    out[k] = v;
  }
  return out;
}

async function spawnEmulator(flags) {
  const bin = process.env.HOOPAUTH_EMULATOR_BIN || path.join(ROOT, 'target', 'debug', 'hoopauth-emulator');
  const child = spawn(bin, ['--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`emulator exited (${c})`)));
  });
  return { info: JSON.parse(line), stop: () => child.kill('SIGTERM') };
}

async function main() {
  const a = args(process.argv.slice(2));
  let emulator = null;
  let max = Number(a.max || 100);
  let intervalMs = Number(a['interval-ms'] || 10000);
  if (a['spawn-emulator']) {
    max = Number(a.max || 30);
    intervalMs = Number(a['interval-ms'] || 1000);
    emulator = await spawnEmulator(['--max', String(max), '--interval-ms', String(intervalMs)]);
    a['base-url'] = emulator.info.base_url;
    a['client-id'] = emulator.info.client_id;
    a['client-secret'] = emulator.info.client_secret;
  }
  try {
    const baseUrl = a['base-url'];
    if (!baseUrl || !a['client-id'] || !a['client-secret']) {
      throw new Error('usage: demo.mjs --base-url URL --client-id ID --client-secret S [--calls N --locations a,b,c]');
    }
    const calls = Number(a.calls || 30);
    const locations = (a.locations || 'loc_1,loc_2,loc_3').split(',').filter(Boolean);
    const app = new App({
      clientId: a['client-id'], clientSecret: a['client-secret'],
      redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: baseUrl, marketplace: baseUrl,
    });
    const session = a['refresh-leeway-ms'] ? { refreshLeewayMs: Number(a['refresh-leeway-ms']) } : undefined;
    const client = new Client({ app, store: new MemoryTokenStore(), limits: { max, intervalMs }, session });
    const t0 = Date.now();
    for (const loc of locations) {
      const state = generateState();
      const consent = new URL(client.authorizationUrl({ scopes: ['contacts.readonly', 'contacts.write', 'locations.readonly'], state }));
      consent.searchParams.set('location_id', loc); // emulator-only: which location installs
      const resp = await fetch(consent, { redirect: 'manual' });
      const callback = resp.headers.get('location');
      if (!callback) throw new Error(`the consent page did not redirect (HTTP ${resp.status})`);
      const { code } = parseCallback(callback, state);
      await client.exchangeCode(code);
    }
    const results = await Promise.allSettled(Array.from({ length: calls }, (_, i) => {
      const loc = locations[i % locations.length];
      return client.request(loc, { path: '/contacts/', query: { locationId: loc } });
    }));
    const failed = results.filter((r) => r.status === 'rejected');
    const wallMs = Date.now() - t0;
    const stats = await (await fetch(`${baseUrl}/_emulator/stats`)).json();
    const summary = {
      impl: path.relative(ROOT, implDir) || '.',
      locations: locations.length,
      calls,
      ok: results.length - failed.length,
      failed: failed.length,
      rate_limited: stats.totals.rate_limited,
      refreshes: stats.totals.refreshes,
      invalid_grants: stats.totals.invalid_grants,
      token_exchanges: stats.totals.token_exchanges,
      wall_ms: wallMs,
    };
    console.log(JSON.stringify(summary));
    if (failed.length) {
      for (const f of failed.slice(0, 3)) console.error(`call failed: ${f.reason && f.reason.message}`);
      process.exitCode = 1;
    }
  } finally {
    if (emulator) emulator.stop();
  }
}

main().catch((e) => { console.error(e && e.message ? e.message : e); process.exit(1); });
