// Token processing beside the peers, same bodies, same run (mitata):
//   hoopauth parseTokenResponse (native parse, result object built natively)
//   oauth4webapi processRefreshTokenResponse, simple-oauth2 createToken / authorizeURL, bare JSON.parse.
// Run: (cd bindings-node && node bench/token.mjs)   [HOOPAUTH_JS_IMPL=<package dir> to bench another build]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, bench, group, summary, do_not_optimize } from 'mitata';
import * as oauth from 'oauth4webapi';
import { AuthorizationCode } from 'simple-oauth2';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const h = require(path.resolve(ROOT, process.env.HOOPAUTH_JS_IMPL || 'bindings-node'));

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

const as = { issuer: 'https://services.leadconnectorhq.com', token_endpoint: 'https://services.leadconnectorhq.com/oauth/token' };
const oclient = { client_id: '65f1c0ffee-lx2k9' };
const soClient = new AuthorizationCode({
  client: { id: '65f1c0ffee-lx2k9', secret: 's3cr3t' },
  auth: { tokenHost: 'https://services.leadconnectorhq.com', authorizeHost: 'https://marketplace.gohighlevel.com', authorizePath: '/oauth/chooselocation' },
});
const app = new h.App({ clientId: '65f1c0ffee-lx2k9', clientSecret: 's3cr3t', redirectUri: 'https://myapp.com/oauth/callback' });
const SCOPES = ['contacts.readonly', 'contacts.write', 'locations.readonly'];

// sanity: every contender reads the same body
const ours = h.parseTokenResponse({ status: 200, headers: HEADERS, body: BODY }, NOW);
const theirs = await oauth.processRefreshTokenResponse(as, oclient, new Response(BODY, { status: 200, headers: HEADERS }));
if (ours.accessToken !== theirs.access_token || ours.refreshToken !== theirs.refresh_token) throw new Error('contenders disagree');

group('token response processing', () => {
  summary(() => {
    bench('JSON.parse (bare)', () => do_not_optimize(JSON.parse(BODY)));
    bench('hoopauth parseTokenResponse (body string)', () =>
      do_not_optimize(h.parseTokenResponse({ status: 200, headers: HEADERS, body: BODY }, NOW)));
    bench('oauth4webapi processRefreshTokenResponse (Response)', async () =>
      do_not_optimize(await oauth.processRefreshTokenResponse(as, oclient, new Response(BODY, { status: 200, headers: HEADERS }))));
    bench('hoopauth from a Response (await text() + parse)', async () => {
      const r = new Response(BODY, { status: 200, headers: HEADERS });
      do_not_optimize(h.parseTokenResponse({ status: r.status, body: await r.text() }, NOW));
    });
    bench('simple-oauth2 createToken(JSON.parse(body))', () => do_not_optimize(soClient.createToken(JSON.parse(BODY))));
  });
});

group('authorization URL', () => {
  summary(() => {
    bench('hoopauth app.authorizationUrl', () => do_not_optimize(app.authorizationUrl({ scopes: SCOPES, state: 'st4te-st4te-st4te' })));
    bench('simple-oauth2 authorizeURL', () => do_not_optimize(soClient.authorizeURL({
      redirect_uri: 'https://myapp.com/oauth/callback', scope: SCOPES, state: 'st4te-st4te-st4te',
    })));
  });
});

await run({ colors: false });
