// Race driver: the official Node SDK (npm @gohighlevel/api-client) with rateLimitRetry: true,
// BASE_URL pointed at the emulator, OAuth tokens in its MemorySessionStorage; each call is
// its Contacts service's getContacts (GET /contacts/?locationId=X).
import { createRequire } from 'node:module';
import { REDIRECT, authorizeCode, emit, parseArgs, race, reset } from './race_common.mjs';

const require = createRequire(import.meta.url);
const sdk = require('@gohighlevel/api-client');
const HighLevel = sdk.HighLevel || sdk.default;

const a = parseArgs();
HighLevel.BASE_URL = a.baseUrl;
const ghl = new HighLevel({ clientId: a.clientId, clientSecret: a.clientSecret, rateLimitRetry: true, logLevel: process.env.SDK_LOG_LEVEL || 'error' });
const seen = {};
// Observation only: count every HTTP answer the SDK's axios instance receives (adapter level,
// so its own retries are each counted once).
const axios = require('axios');
const send = axios.getAdapter(ghl.httpClient.defaults.adapter);
const note = (config, status) => {
  const k = `${new URL(config.url, config.baseURL).pathname} ${status}`;
  seen[k] = (seen[k] || 0) + 1;
};
ghl.httpClient.defaults.adapter = async (config) => {
  try {
    const r = await send(config);
    note(config, r.status);
    return r;
  } catch (e) {
    note(config, e.response ? e.response.status : 'transport_error');
    throw e;
  }
};
const exchanged = {};
for (const loc of a.locations) {
  const code = await authorizeCode(a.baseUrl, a.clientId, loc);
  const tokens = await ghl.oauth.getAccessToken({
    client_id: a.clientId, client_secret: a.clientSecret, grant_type: 'authorization_code',
    code, user_type: 'Location', redirect_uri: REDIRECT,
  });
  await ghl.getSessionStorage().setSession(loc, tokens);
  exchanged[loc] = Date.now();
}
await reset(a.baseUrl);
for (const k of Object.keys(seen)) delete seen[k];
const out = await race(a, async (loc) => {
  await ghl.contacts.getContacts({ locationId: loc });
});
emit({ ...out, driver: a.driver || 'sdk-node', exchanged_unix_ms: exchanged, responses_seen: seen });
