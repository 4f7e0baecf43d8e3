// Per-operation cost of the WASM package beside the Node addon and the pure-JS peers, same
// inputs, same process, same run. Each figure is the median over batches of the mean time per
// call (ns/op). Ratios: WASM / Node addon (target ≤ 3×).
//
//   node bindings-wasm/bench/bench.mjs [--quick]
//   env: HOOPAUTH_WASM_PKG (default bindings-wasm/pkg-node), HOOPAUTH_WASM_ALT=<dir>[,<label>]
//        (a second WASM build, e.g. an opt-level "z" one), HOOPAUTH_NODE_PKG (default bindings-node)
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
const oauth = require('oauth4webapi');
const { AuthorizationCode } = require('simple-oauth2');

const impls = [];
const load = (label, dir) => {
  try { impls.push({ label, h: require(path.resolve(ROOT, dir)) }); } catch (e) { console.error(`(${label}: ${dir} not loadable: ${e.message.split('\n')[0]})`); }
};
load('node addon', process.env.HOOPAUTH_NODE_PKG || 'bindings-node');
load('wasm', process.env.HOOPAUTH_WASM_PKG || 'bindings-wasm/pkg-node');
if (process.env.HOOPAUTH_WASM_ALT) {
  const [dir, label] = process.env.HOOPAUTH_WASM_ALT.split(',');
  load(label || 'wasm (alt)', dir);
}

// ---- the same inputs for everyone --------------------------------------------------------
const BODY = JSON.stringify({
  access_token: 'ab12dc0ae1234a7898f9ff06d4f69gh.eyJhdXRoQ2xhc3MiOiJMb2NhdGlvbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
  token_type: 'Bearer',
  expires_in: 86399,
  refresh_token: 'xy34dc0ae1234a4858f9ff06d4f66ba.eyJ0eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJlLXJlZnJlc2g',
  scope: 'contacts.readonly contacts.write locations.readonly conversations.readonly conversations/message.write',
  userType: 'Location',
  companyId: 'l1C08ntBrFjLS0elLIYU',
  locationId: 'Ve9EPM428h8vShlRW1KT',
  userId: 'u1C08ntBrFjLS0elLIYU',
  approvedLocations: ['Ve9EPM428h8vShlRW1KT'],
  planId: 'p1C08ntBrFjLS0elLIYU',
  isBulkInstallation: false,
});
const HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const NOW = 1767225600000;
const SCOPES = ['contacts.readonly', 'contacts.write', 'locations.readonly'];
const CALLBACK = 'https://myapp.com/oauth/callback?code=7f3c9a1e2b4d6f8a0c1e3b5d7f9a1c3e5b7d9f1a&state=st4te-st4te-st4te-st4te';
const R429 = { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-interval-milliseconds': '10000', 'retry-after': '2' }, body: '{"statusCode":429,"message":"Too many requests"}' };
const API_OK = { status: 200, headers: [['content-type', 'application/json'], ['x-ratelimit-remaining', '97']], body: '{"contacts":[{"id":"c1"}],"meta":{"total":1}}' };
const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
const PEM = publicKey.export({ type: 'spki', format: 'pem' });
const HOOK = JSON.stringify({ type: 'INSTALL', appId: 'app_1', locationId: 'loc_1', companyId: 'comp_1', installType: 'Location', timestamp: new Date(NOW).toISOString(), webhookId: 'wh_1' });
const SIG = crypto.sign(null, Buffer.from(HOOK), privateKey).toString('base64');

const as = { issuer: 'https://services.leadconnectorhq.com', token_endpoint: 'https://services.leadconnectorhq.com/oauth/token' };
const oclient = { client_id: '65f1c0ffee-lx2k9' };
const soClient = new AuthorizationCode({
  client: { id: '65f1c0ffee-lx2k9', secret: 's3cr3t' },
  auth: { tokenHost: 'https://services.leadconnectorhq.com', authorizeHost: 'https://marketplace.gohighlevel.com', authorizePath: '/oauth/chooselocation' },
});

// ---- timing -------------------------------------------------------------------------------
let sink = 0;
function measure(fn) {
  for (let i = 0; i < 300; i++) sink ^= fn() ? 1 : 0;
  let n = 1;
  for (;;) { // batch size: ~20 ms per batch
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink ^= fn() ? 1 : 0;
    if (Number(process.hrtime.bigint() - t) > 2e7) break;
    n *= 2;
  }
  const means = [];
  for (let b = 0; b < (quick ? 7 : 25); b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink ^= fn() ? 1 : 0;
    means.push(Number(process.hrtime.bigint() - t) / n);
  }
  means.sort((a, b) => a - b);
  return means[means.length >> 1];
}
async function measureAsync(fn) {
  for (let i = 0; i < 200; i++) await fn();
  const means = [];
  const n = quick ? 200 : 1000;
  for (let b = 0; b < (quick ? 5 : 15); b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    means.push(Number(process.hrtime.bigint() - t) / n);
  }
  means.sort((a, b) => a - b);
  return means[means.length >> 1];
}

// ---- operations, each built per implementation ------------------------------------------------
function ops(h) {
  const app = new h.App({ clientId: '65f1c0ffee-lx2k9', clientSecret: 's3cr3t', redirectUri: 'https://myapp.com/oauth/callback' });
  const verifier = new h.WebhookVerifier({ publicKey: PEM, capacity: 0 });
  const tokens = h.parseTokenResponse({ status: 200, headers: HEADERS, body: BODY }, NOW);
  let t = NOW;
  const limiter = new h.RateLimiter({ max: 1e9, intervalMs: 10000 });
  return {
    'parseTokenResponse (700-byte body)': () => h.parseTokenResponse({ status: 200, headers: HEADERS, body: BODY }, NOW),
    'authorizationUrl (3 scopes + state)': () => app.authorizationUrl({ scopes: SCOPES, state: 'st4te-st4te-st4te' }),
    'parseCallback (URL + expected state)': () => h.parseCallback(CALLBACK, 'st4te-st4te-st4te-st4te'),
    'tokenRequest (refresh)': () => app.tokenRequest({ grant: 'refresh_token', refreshToken: tokens.refreshToken, userType: 'Location' }),
    'apiRequest (GET + query)': () => app.apiRequest({ path: '/contacts/', query: { locationId: 'Ve9EPM428h8vShlRW1KT', limit: 20 }, accessToken: tokens.accessToken }),
    'classifyResponse (429 + headers)': () => h.classifyResponse(R429, NOW),
    'RateLimiter.acquire': () => limiter.acquire((t += 1)),
    'verifyWebhook (Ed25519, 170 bytes)': () => verifier.verify(HOOK, { 'x-ghl-signature': SIG }, NOW).valid,
  };
}

const table = new Map();
for (const { label, h } of impls) {
  for (const [name, fn] of Object.entries(ops(h))) {
    if (!table.has(name)) table.set(name, {});
    table.get(name)[label] = measure(fn);
  }
}
// One API call through the driver (Client.request over an in-process fetch answering 200).
const fakeFetch = async () => new Response(API_OK.body, { status: 200, headers: API_OK.headers });
for (const { label, h } of impls) {
  const client = new h.Client({ app: { clientId: '65f1c0ffee-lx2k9', clientSecret: 's3cr3t' }, fetch: fakeFetch, limits: { max: 1e9 } });
  await client.usePrivateToken('loc_1', 'pit-0123456789abcdef');
  const name = 'Client.request (driver loop, fake fetch)';
  if (!table.has(name)) table.set(name, {});
  table.get(name)[label] = await measureAsync(() => client.request('loc_1', { path: '/contacts/', query: { locationId: 'loc_1' } }));
}
// Peers on the same inputs.
const peer = (name, label, v) => { if (!table.has(name)) table.set(name, {}); table.get(name)[label] = v; };
peer('parseTokenResponse (700-byte body)', 'JSON.parse (bare)', measure(() => JSON.parse(BODY)));
peer('parseTokenResponse (700-byte body)', 'simple-oauth2 createToken', measure(() => soClient.createToken(JSON.parse(BODY))));
peer('parseTokenResponse (700-byte body)', 'oauth4webapi processRefreshTokenResponse', await measureAsync(() =>
  oauth.processRefreshTokenResponse(as, oclient, new Response(BODY, { status: 200, headers: HEADERS }))));
peer('authorizationUrl (3 scopes + state)', 'simple-oauth2 authorizeURL', measure(() => soClient.authorizeURL({
  redirect_uri: 'https://myapp.com/oauth/callback', scope: SCOPES, state: 'st4te-st4te-st4te' })));
peer('parseCallback (URL + expected state)', 'URL + searchParams (bare)', measure(() => {
  const u = new URL(CALLBACK); return u.searchParams.get('state') === 'st4te-st4te-st4te-st4te' && u.searchParams.get('code');
}));
const pub = crypto.createPublicKey(PEM); const sigBuf = Buffer.from(SIG, 'base64'); const hookBuf = Buffer.from(HOOK);
peer('verifyWebhook (Ed25519, 170 bytes)', 'node:crypto verify (bare)', measure(() => crypto.verify(null, hookBuf, pub, sigBuf)));

// ---- report ----------------------------------------------------------------------------------
const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const labels = impls.map((i) => i.label);
console.log(`node ${process.version}, ${quick ? 'quick' : 'full'} run; ns/op = median of batch means`);
const rows = [];
for (const [name, r] of table) {
  const base = r['node addon'];
  const cells = labels.map((l) => (r[l] == null ? '—' : fmt(r[l]) + (l !== 'node addon' && base ? ` (${(r[l] / base).toFixed(2)}×)` : '')));
  const peers = Object.entries(r).filter(([k]) => !labels.includes(k)).map(([k, v]) => `${k}: ${fmt(v)}`).join('; ');
  rows.push(`| ${name} | ${cells.join(' | ')} | ${peers} |`);
}
console.log(`| operation | ${labels.join(' | ')} | peers (same input) |`);
console.log(`|---|${labels.map(() => '---').join('|')}|---|`);
console.log(rows.join('\n'));
const worst = Math.max(...[...table.values()].filter((r) => r['node addon'] && r.wasm).map((r) => r.wasm / r['node addon']));
console.log(`\nworst wasm / node addon ratio: ${worst.toFixed(2)}× (target ≤ 3×)`);
if (sink === 42) console.log('');
