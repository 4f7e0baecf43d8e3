// The install scene's driver for the JS packages (the Node addon, or the WASM package with
// HOOPAUTH_JS_IMPL=bindings-wasm/pkg-node): `hoopauth-demo install -- node tests/demo/drivers/install.mjs`
// appends the scene's arguments (see tests/demo/src/install.rs) and judges the run.
//
// The app: a node:http webhook endpoint answering each delivery with Client.handleWebhook; a
// company-wide bulk install (the emulator's consent page with approved_locations, the code
// exchanged as Company); the emulator's bulk INSTALL delivered twice; paced calls spread over
// the approved locations while their minted tokens come due; UNINSTALL of one location
// delivered twice; then what its store holds and one call to the uninstalled location.
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const h = require(path.resolve(ROOT, process.env.HOOPAUTH_JS_IMPL || 'bindings-node'));

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else out[a.slice(2)] = argv[++i];
  }
  for (const k of ['base-url', 'client-id', 'client-secret', 'webhook-key', 'calls', 'approved', 'uninstall', 'max', 'interval-ms']) {
    if (out[k] == null) throw new Error(`--${k} is required`);
  }
  return out;
}

/** A store that can list what it holds (for the report: ids only). */
class ListingStore extends h.MemoryTokenStore {
  #ids = new Set();
  set(id, stored) { this.#ids.add(id); return super.set(id, stored); }
  delete(id) { this.#ids.delete(id); return super.delete(id); }
  ids() { return [...this.#ids].filter((id) => this.get(id) != null).sort(); }
}

async function main() {
  const o = args(process.argv.slice(2));
  const base = o['base-url'].replace(/\/$/, '');
  const approved = o.approved.split(',').filter(Boolean);
  const calls = Number(o.calls);
  const store = new ListingStore();
  const client = new h.Client({
    app: new h.App({
      clientId: o['client-id'], clientSecret: o['client-secret'],
      redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: base, marketplace: base,
    }),
    store,
    webhook: { publicKey: o['webhook-key'] },
    limits: { max: Number(o.max), intervalMs: Number(o['interval-ms']) },
  });

  // The app's webhook endpoint.
  const webhooks = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let type = null;
      try { type = JSON.parse(body).type; } catch { /* not JSON: the handler answers 400 */ }
      try {
        const out = await client.handleWebhook(body, req.headers);
        webhooks.push({ type, status: out.status, reason: out.reason, minted: out.minted, forgotten: out.forgotten });
        res.writeHead(out.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ reason: out.reason }));
      } catch (e) {
        webhooks.push({ type, status: 500, reason: e && e.kind ? e.kind : 'error' });
        res.writeHead(500);
        res.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${server.address().port}/webhooks`;
  const send = async (payload) => {
    const r = await fetch(`${base}/_emulator/webhooks/send`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hookUrl, ...payload }),
    });
    if (r.status !== 200) throw new Error(`webhooks/send answered ${r.status}: ${await r.text()}`);
    return r.json();
  };

  const started = Date.now();
  // 1. The agency installs the app on the approved locations at once.
  const state = h.generateState();
  const consent = new URL(client.authorizationUrl({ scopes: ['contacts.readonly', 'contacts.write', 'locations.readonly'], state }));
  consent.searchParams.set('approved_locations', approved.join(','));
  const redirect = await fetch(consent, { redirect: 'manual' });
  const company = await client.exchangeCode(redirect.headers.get('location'), { expectedState: state, userType: 'Company' });
  console.error(`install: company ${company.companyId} approved ${company.approvedLocations.join(',')}`);
  // 2. The platform's bulk INSTALL, delivered twice (a retry).
  await send({ type: 'INSTALL', bulk: true, times: 2 });
  console.error(`install: INSTALL answered ${webhooks.map((w) => `${w.status} ${w.reason}`).join(', ')}; minted ${webhooks[0] && webhooks[0].minted}`);
  // 3. Paced calls over the approved locations while their minted tokens come due.
  let ok = 0;
  let reauthorizations = 0;
  const failures = {};
  await Promise.all(Array.from({ length: calls }, async (_, i) => {
    const loc = approved[i % approved.length];
    try {
      const r = await client.request(loc, { path: '/contacts/', query: { locationId: loc } });
      if (r.status === 200) ok++;
      else failures[`status_${r.status}`] = (failures[`status_${r.status}`] || 0) + 1;
    } catch (e) {
      if (e && e.reauthorize) reauthorizations++;
      const k = e && e.kind ? e.kind : 'error';
      failures[k] = (failures[k] || 0) + 1;
    }
  }));
  const wallMs = Date.now() - started;
  // 4. One location uninstalled, delivered twice.
  await send({ type: 'UNINSTALL', locationId: o.uninstall, revoke: true, times: 2 });
  console.error(`install: UNINSTALL answered ${webhooks.slice(2).map((w) => `${w.status} ${w.reason}`).join(', ')}`);
  let uninstalledCall;
  try {
    await client.request(o.uninstall, { path: '/contacts/', query: { locationId: o.uninstall } });
    uninstalledCall = 'ok';
  } catch (e) {
    uninstalledCall = e && e.kind ? e.kind : 'error';
  }
  await new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
  const s = client.stats();
  console.error(`install: ${ok}/${calls} calls ok in ${wallMs} ms, ${s.mints} mints again, ${s.refreshes} refreshes; store holds ${store.ids().join(',')}`);
  console.log(JSON.stringify({
    calls, ok, failed: calls - ok, failures, wall_ms: wallMs,
    webhooks: webhooks.map(({ type, status, reason }) => ({ type, status, reason })),
    reauthorizations,
    stored_after_uninstall: store.ids(),
    uninstalled_call: uninstalledCall,
    mints_again: s.mints,
  }));
}

main().catch((e) => {
  console.error(`install driver: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
