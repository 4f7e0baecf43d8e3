// Reference driver: Node's global fetch alone — no hoopauth, no pacing, no refresh. The race
// only uses it for the burst probe (limits lifted): how long fetch itself takes to put one
// window's calls on the wire, the floor under any client built on it.
// BARE_MAX_IN_FLIGHT bounds the requests in flight (default 16, hoopauth's default).
import { REDIRECT, authorizeCode, emit, parseArgs, race, reset } from './race_common.mjs';

const a = parseArgs();
const bound = Number(process.env.BARE_MAX_IN_FLIGHT || 16);
const tokens = {};
const exchanged = {};
for (const loc of a.locations) {
  const code = await authorizeCode(a.baseUrl, a.clientId, loc);
  const r = await fetch(new URL('/oauth/token', a.baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ client_id: a.clientId, client_secret: a.clientSecret, grant_type: 'authorization_code', code, user_type: 'Location', redirect_uri: REDIRECT }),
  });
  if (r.status !== 200) throw new Error(`the token endpoint answered ${r.status}`);
  tokens[loc] = (await r.json()).access_token;
  exchanged[loc] = Date.now();
}
const base = a.baseUrl.replace(/\/$/, '');
let inFlight = 0;
const waiting = [];
await reset(a.baseUrl);
const out = await race(a, async (loc) => {
  if (inFlight >= bound) await new Promise((go) => waiting.push(go));
  else inFlight++;
  try {
    const r = await fetch(`${base}/contacts/?locationId=${encodeURIComponent(loc)}`, { headers: { Authorization: `Bearer ${tokens[loc]}`, Version: '2021-07-28', Accept: 'application/json' } });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    return body;
  } finally {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  }
});
emit({ ...out, driver: a.driver || 'bare-fetch', exchanged_unix_ms: exchanged });
