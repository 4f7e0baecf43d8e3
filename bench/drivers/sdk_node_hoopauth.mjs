// Race driver: the official Node SDK (npm @gohighlevel/api-client) with hoopauth under its
// httpClient (axiosAdapter over a hoopauth Client): each call is its Contacts service's
// getContacts, as in sdk_node.mjs; hoopauth holds the tokens (the SDK carries a placeholder
// that the adapter replaces), paces the calls on each location's window and refreshes.
// HOOPAUTH_JS_IMPL = the package dir (default bindings-node).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REDIRECT, authorizeCode, emit, parseArgs, race, reset } from './race_common.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const impl = process.env.HOOPAUTH_JS_IMPL || 'bindings-node';
const { App, Client, MemoryTokenStore, axiosAdapter } = require(path.resolve(ROOT, impl));
const sdk = require('@gohighlevel/api-client');
const HighLevel = sdk.HighLevel || sdk.default;
const axios = require('axios');

const a = parseArgs();
const app = new App({ clientId: a.clientId, clientSecret: a.clientSecret, redirectUri: REDIRECT, apiBase: a.baseUrl, marketplace: a.baseUrl });
const client = new Client({
  app, store: new MemoryTokenStore(),
  limits: { max: a.max, intervalMs: a.intervalMs },
  session: { refreshLeewayMs: a.refreshLeewayMs },
});
HighLevel.BASE_URL = a.baseUrl;
const ghl = new HighLevel({ privateIntegrationToken: 'hoopauth-managed', logLevel: process.env.SDK_LOG_LEVEL || 'error' });
ghl.httpClient.defaults.baseURL = a.baseUrl;
const adapter = axiosAdapter(client, { replaceAuthorization: true, AxiosError: axios.AxiosError });
const seen = {};
// Observation only: count every answer the SDK's axios instance receives (adapter level).
const note = (config, status) => {
  const k = `${new URL(config.url, config.baseURL).pathname} ${status}`;
  seen[k] = (seen[k] || 0) + 1;
};
ghl.httpClient.defaults.adapter = async (config) => {
  try {
    const r = await adapter(config);
    note(config, r.status);
    return r;
  } catch (e) {
    note(config, e.response ? e.response.status : (e.kind || 'transport_error'));
    throw e;
  }
};
const exchanged = {};
for (const loc of a.locations) {
  await client.exchangeCode(await authorizeCode(a.baseUrl, a.clientId, loc));
  exchanged[loc] = Date.now();
}
await reset(a.baseUrl);
const out = await race(a, async (loc) => {
  await ghl.contacts.getContacts({ locationId: loc });
});
emit({ ...out, driver: a.driver || 'sdk-node-hoopauth', exchanged_unix_ms: exchanged, responses_seen: seen, client_stats: client.stats() });
