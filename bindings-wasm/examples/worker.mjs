// A fetch-only edge worker (module-worker shape: `export default { fetch(request, env) }`):
// no Node APIs, only fetch / Request / Response / URL / crypto. It starts the authorization,
// exchanges the code on the callback (state checked against a cookie), and calls the API
// on behalf of a location with pacing and refresh handled by the core.
//
//   GET /oauth/start?location=loc_1   → 302 to the authorization page (state cookie set)
//   GET /oauth/callback?code=…&state=… → exchanges the code, stores the tokens
//   GET /contacts?location=loc_1       → GET /contacts/ on behalf of the location
//   GET /stats                         → the client's counters
//
// env: CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, API_BASE? (default: the platform),
//      MARKETPLACE?, TOKENS? (a TokenStore, e.g. over a KV namespace; default: memory),
//      SESSION?, LIMITS? (JSON bindings: SessionOptions, Limits)
//
// One module-level Client serves every request of the isolate (shared pacing and tokens).
// The WASM: in Cloudflare Workers / workerd the package's "workerd" entry imports the .wasm
// as a module and instantiates it on import, so `init()` returns at once; in browsers and
// other runtimes `init()` fetches it beside the package (or pass it: `init(wasmModule)`).
import init, { Client, HoopAuthError, generateState } from '@hoopauth/wasm';

let client = null;

async function getClient(env) {
  if (client) return client;
  await init();
  // Concurrent first requests all await init(): the first to resume makes the one client.
  client ??= new Client({
    app: {
      clientId: env.CLIENT_ID,
      clientSecret: env.CLIENT_SECRET,
      redirectUri: env.REDIRECT_URI,
      apiBase: env.API_BASE,
      marketplace: env.MARKETPLACE,
    },
    store: env.TOKENS,
    session: env.SESSION,
    limits: env.LIMITS,
  });
  return client;
}

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

function cookie(request, name) {
  for (const part of (request.headers.get('cookie') || '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

export default {
  async fetch(request, env) {
    const c = await getClient(env);
    const url = new URL(request.url);
    try {
      if (url.pathname === '/oauth/start') {
        const state = generateState();
        const target = new URL(c.authorizationUrl({ scopes: ['contacts.readonly', 'locations.readonly'], state }));
        if (url.searchParams.get('location')) target.searchParams.set('location_id', url.searchParams.get('location'));
        return new Response(null, {
          status: 302,
          headers: { location: target.href, 'set-cookie': `hoopauth_state=${state}; Path=/oauth; HttpOnly; Secure; SameSite=Lax` },
        });
      }
      if (url.pathname === '/oauth/callback') {
        const tokens = await c.exchangeCode(request.url, { expectedState: cookie(request, 'hoopauth_state') ?? '' });
        return json({ installed: tokens.locationId ?? tokens.companyId, scopes: tokens.scopes });
      }
      if (url.pathname === '/contacts') {
        const location = url.searchParams.get('location');
        const r = await c.request(location, { path: '/contacts/', query: { locationId: location } });
        return new Response(r.text, { status: r.status, headers: { 'content-type': 'application/json' } });
      }
      if (url.pathname === '/stats') return json(c.stats());
      return json({ error: 'not found' }, 404);
    } catch (e) {
      if (e instanceof HoopAuthError) {
        const status = e.kind === 'rate_limited' ? 429 : e.kind === 'unauthorized' || e.kind === 'state_mismatch' ? 401 : 502;
        return json({ error: e.kind, message: e.message }, status);
      }
      throw e;
    }
  },
};
