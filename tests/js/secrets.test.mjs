// Nothing that holds a secret prints it: util.inspect, JSON.stringify, toString, error messages.
import test from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { h } from './helpers.mjs';

const SECRET = 'client-secret-XYZZY';
const AT = 'access-token-PLUGH';
const RT = 'refresh-token-FROB';
const CODE = 'auth-code-GRUE';

function assertClean(text, what) {
  for (const s of [SECRET, AT, RT, CODE]) assert.ok(!text.includes(s), `${what} leaks ${s}: ${text}`);
}

function allForms(obj, what) {
  assertClean(util.inspect(obj, { depth: 10, showHidden: true }), `${what} inspect`);
  assertClean(JSON.stringify(obj) ?? '', `${what} JSON`);
  assertClean(String(obj), `${what} toString`);
  assertClean(`${obj}`, `${what} template`);
  assertClean(util.format('%s %o %O %j', obj, obj, obj, obj), `${what} format`);
}

test('App, TokenSet, TokenSession, Client never print secrets', async () => {
  const app = new h.App({ clientId: '65f1c0ffee-x', clientSecret: SECRET, redirectUri: 'https://a.example/cb' });
  allForms(app, 'App');
  assert.match(util.inspect(app), /\[redacted\]/);

  const body = JSON.stringify({ access_token: AT, refresh_token: RT, expires_in: 100, locationId: 'loc_1', userType: 'Location' });
  const tokens = h.parseTokenResponse({ status: 200, body }, 0);
  allForms(tokens, 'TokenSet');
  assert.equal(tokens.accessToken, AT); // the data itself stays reachable
  assert.match(util.inspect(tokens), /\[redacted\]/);

  const s = new h.TokenSession(app);
  s.load(tokens);
  allForms(s, 'TokenSession');
  const refreshed = s.refreshResponse({ status: 200, body }, 0);
  allForms(refreshed, 'refreshed TokenSet');

  const client = new h.Client({ app, fetch: async () => { throw new Error('offline'); } });
  await client.setTokens(tokens);
  allForms(client, 'Client');
});

test('error messages never hold secrets', () => {
  const app = new h.App({ clientId: '65f1c0ffee-x', clientSecret: SECRET, redirectUri: 'https://a.example/cb' });
  const errors = [];
  const grab = (fn) => { try { fn(); } catch (e) { errors.push(e); } };
  grab(() => h.parseTokenResponse({ status: 400, body: JSON.stringify({ error: 'invalid_grant', refresh_token: RT }) }, 0));
  grab(() => h.parseTokenResponse({ status: 200, body: `{"access_token":"${AT}","expires_in":-1}` }, 0));
  grab(() => h.parseCallback(`https://a/cb?code=${CODE}&state=x`, 'y'));
  grab(() => app.apiRequest({ path: 'https://evil.example/', accessToken: AT }));
  grab(() => app.apiRequest({ path: '/x', accessToken: `${AT}\n` }));
  grab(() => new h.App({ clientId: 'bad id', clientSecret: SECRET }));
  assert.equal(errors.length, 6);
  for (const e of errors) {
    assert.ok(e instanceof h.HoopAuthError);
    assertClean(`${e.message} ${e.stack} ${util.inspect(e)} ${JSON.stringify(e)}`, `error ${e.kind}`);
  }
});
