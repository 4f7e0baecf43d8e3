// Race driver: hoopauth's JS API over global fetch (the core paces and refreshes).
// HOOPAUTH_JS_IMPL = the package dir (default bindings-node; bindings-wasm/pkg-node for WASM).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REDIRECT, authorizeCode, emit, parseArgs, race, reset } from './race_common.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const impl = process.env.HOOPAUTH_JS_IMPL || 'bindings-node';
const { App, Client, MemoryTokenStore } = require(path.resolve(ROOT, impl));

const a = parseArgs();
const app = new App({ clientId: a.clientId, clientSecret: a.clientSecret, redirectUri: REDIRECT, apiBase: a.baseUrl, marketplace: a.baseUrl });
const client = new Client({
  app, store: new MemoryTokenStore(),
  limits: { max: a.max, intervalMs: a.intervalMs },
  session: { refreshLeewayMs: a.refreshLeewayMs },
  // Diagnosis knob (unset in `make bench`): calls stepping or sending at once (default 16).
  ...(process.env.HOOPAUTH_BENCH_MAX_IN_FLIGHT ? { maxInFlight: Number(process.env.HOOPAUTH_BENCH_MAX_IN_FLIGHT) } : {}),
});
const exchanged = {};
for (const loc of a.locations) {
  await client.exchangeCode(await authorizeCode(a.baseUrl, a.clientId, loc));
  exchanged[loc] = Date.now();
}
await reset(a.baseUrl);
const out = await race(a, async (loc) => {
  const r = await client.request(loc, { path: '/contacts/', query: { locationId: loc } });
  r.json();
});
emit({ ...out, driver: a.driver || `hoopauth-js(${impl})`, exchanged_unix_ms: exchanged, client_stats: client.stats() });
