// Nothing the public API hands out prints a secret: util.inspect (incl. showHidden), console.log,
// util.format, JSON.stringify, String() and template strings of every object, and every error's
// message, stack and printed forms. The test is driven by the module's export list: every
// export needs an entry in EXPORTS saying how to exercise it, every method of an exported class
// is called (the class's entry names the arguments), and every object a call returns is checked
// together with the objects it holds, and its own methods are called too. A new export, a new
// method or a new returned type without redaction makes this fail.
import test from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { h, IMPL_DIR } from './helpers.mjs';

const SECRET = 'client-secret-XYZZY';
const AT = 'access-token-PLUGH';
const RT = 'refresh-token-FROB';
const CODE = 'auth-code-GRUE';
const AGENCY = 'agency-token-ZORK';
const PIT = 'private-token-BLORB';
const SECRETS = [SECRET, AT, RT, CODE, AGENCY, PIT];

const APP_OPTIONS = { clientId: '65f1c0ffee-x', clientSecret: SECRET, redirectUri: 'https://a.example/cb' };
const TOKEN_BODY = JSON.stringify({ access_token: AT, refresh_token: RT, expires_in: 100, locationId: 'loc_1', userType: 'Location', companyId: 'c1' });
const TOKEN_RESPONSE = { status: 200, body: TOKEN_BODY };

function assertClean(text, what) {
  for (const s of SECRETS) assert.ok(!String(text).includes(s), `${what} leaks ${s}: ${text}`);
}

/** What console.log writes for `v`. */
function consoleText(v) {
  let out = '';
  const sink = new Writable({ write(chunk, _enc, cb) { out += chunk; cb(); } });
  new Console({ stdout: sink, stderr: sink }).log(v);
  return out;
}

function allForms(obj, what) {
  assertClean(util.inspect(obj, { depth: 10, showHidden: true }), `${what} inspect(showHidden)`);
  assertClean(util.inspect(obj, { depth: 10, customInspect: true }), `${what} inspect`);
  assertClean(consoleText(obj), `${what} console.log`);
  assertClean(JSON.stringify(obj) ?? '', `${what} JSON`);
  assertClean(String(obj), `${what} String()`);
  assertClean(`${obj}`, `${what} template`);
  assertClean(util.format('%s %o %O %j', obj, obj, obj, obj), `${what} format`);
  if (obj instanceof Error) {
    assertClean(`${obj.message}\n${obj.stack}`, `${what} message/stack`);
    if (obj.cause != null && typeof obj.cause === 'object') allForms(obj.cause, `${what}.cause`);
  }
}

/** Methods whose purpose is to hand out the raw secret (documented as such). */
const RAW_BY_DESIGN = new Set(['expose', 'toStored', 'storedJson', 'get']);
/** The redactors themselves, and what every object has. */
const SKIP_METHODS = new Set(['constructor', 'toJSON', 'toString', 'valueOf', 'toLocaleString', 'free', '__destroy_into_raw']);

const checked = new Set();
const handedOut = new Set(); // constructor names of the objects checked (reported)

/** Check `v`, the objects it holds, and what its own methods return. */
async function check(v, what, depth = 0, internal = false) {
  if (v == null || (typeof v !== 'object' && typeof v !== 'function')) return;
  if (typeof v === 'function') return; // classes and functions: their source holds no secret
  if (checked.has(v)) return;
  checked.add(v);
  handedOut.add(v.constructor ? v.constructor.name : 'null-prototype');
  allForms(v, what);
  if (depth > 4) return;
  for (const k of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    // Symbol-keyed values are internal (the native object behind a class): printed, not called.
    if (d && 'value' in d) await check(d.value, `${what}.${String(k)}`, depth + 1, internal || typeof k === 'symbol');
  }
  // Methods of returned objects (not of the exported classes: EXPORTS covers those).
  const proto = Object.getPrototypeOf(v);
  if (!internal && proto && proto !== Object.prototype && proto !== Array.prototype && !EXPORTED_PROTOS.has(proto) && !(v instanceof Error)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (SKIP_METHODS.has(name) || RAW_BY_DESIGN.has(name) || typeof Object.getOwnPropertyDescriptor(proto, name).value !== 'function') continue;
      if (Array.isArray(v)) continue;
      await run(() => v[name](), `${what}.${name}()`, depth + 1);
    }
  }
}

/** Call fn; check what it returns or throws. */
async function run(fn, what, depth = 0) {
  let out;
  try {
    out = await fn();
  } catch (e) {
    assert.ok(e instanceof h.HoopAuthError, `${what} threw a non-HoopAuthError: ${e}`);
    await check(e, `${what} error`, depth);
    return undefined;
  }
  await check(out, what, depth);
  return out;
}

/** A fetch standing in for the platform: token answers with the secret tokens, API answers `{}`. */
const fakeFetch = async (url) => {
  const u = String(url);
  if (u.includes('/oauth/token') || u.includes('/oauth/locationToken')) {
    return new Response(TOKEN_BODY, { status: 200, headers: { 'content-type': 'application/json' } });
  }
  return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
};

/** An ioredis stand-in: the store's commands, a record holding a token. */
function fakeRedis() {
  const c = {
    status: 'ready',
    defineCommand(name) {
      c[name] = name === 'hoopauthRead'
        ? async () => ['1', `{"x":"${AT}","r":"${RT}"}`, '1700000000', '5000']
        : async () => 1;
    },
    del: async () => 1,
    set: async () => 'OK',
    time: async () => ['1700000000', '5000'],
  };
  return c;
}

// How to exercise each export: `values` (checked as they are), `call` (a function: argument
// lists), or a class: `make` (instances) and `methods` (name → argument lists, for every
// method, getter and static of the class).
const EXPORTS = {
  ERROR_KINDS: { values: () => [h.ERROR_KINDS] },
  KNOWN_SCOPES: { values: () => [h.KNOWN_SCOPES] },
  _internal: { values: () => [h._internal.toHoopAuthError(new Error(`invalid_grant: bad grant`))] },
  HoopAuthError: {
    make: () => [new h.HoopAuthError('store_error', 'store_error: the store failed', { cause: new Error('disk full') })],
    methods: {},
  },
  App: {
    make: () => [new h.App(APP_OPTIONS)],
    methods: {
      clientId: [[]],
      apiBase: [[]],
      authorizationUrl: [[{ scopes: ['contacts.readonly'], state: 'st' }]],
      tokenRequest: [
        [{ grant: 'authorization_code', code: CODE }],
        [{ grant: 'refresh_token', refreshToken: RT, userType: 'Location' }],
        [{ grant: 'refresh_token', refreshToken: `${RT}\n` }],
      ],
      locationTokenRequest: [[{ agencyAccessToken: AGENCY, companyId: 'c1', locationId: 'loc_1' }]],
      apiRequest: [
        [{ method: 'POST', path: '/contacts/', json: { a: 1 }, accessToken: AT }],
        [{ path: 'https://evil.example/', accessToken: AT }],
        [{ path: '/x', accessToken: `${AT}\n` }],
      ],
    },
  },
  parseCallback: { call: [[`https://a/cb?code=${CODE}&state=s`, 's'], [`https://a/cb?code=${CODE}&state=x`, 'y'], [`?code=${CODE}`]] },
  generateState: { call: [[], [new Uint8Array(32)]] },
  parseTokenResponse: {
    call: [
      [TOKEN_RESPONSE, 0],
      [{ status: 400, body: JSON.stringify({ error: 'invalid_grant', refresh_token: RT }) }, 0],
      [{ status: 200, body: `{"access_token":"${AT}","expires_in":-1}` }, 0],
    ],
  },
  classifyResponse: { call: [[{ status: 401, body: '{"message":"Invalid JWT"}' }, 0], [{ status: 429, headers: { 'retry-after': '2' } }]] },
  parseRateLimitHeaders: { call: [[{ 'x-ratelimit-max': '100' }]] },
  RateLimiter: {
    make: () => [new h.RateLimiter({ max: 2, intervalMs: 1000 })],
    methods: { acquire: [[0], [0], [0]], answered: [[0, 1]], check: [[2]], observe: [[3, 200, {}]], limits: [[]] },
  },
  TokenSession: {
    make: () => {
      const s = new h.TokenSession(new h.App(APP_OPTIONS), { refreshLeewayMs: 0 });
      s.load(h.parseTokenResponse(TOKEN_RESPONSE, 0));
      return [s, h.TokenSession.fromStored(new h.App(APP_OPTIONS), s.toStored())];
    },
    methods: {
      fromStored: 'static',
      load: [[{ response: TOKEN_RESPONSE, nowMs: 0 }], [{ accessToken: AT }]],
      loadPrivate: [[`${PIT}\n`]],
      acquire: [[10], [200_000], [200_001]],
      refreshResponse: [[TOKEN_RESPONSE, 200_000], [{ status: 400, body: JSON.stringify({ error: 'invalid_grant', refresh_token: RT }) }, 200_000]],
      apiResponse: [[{ status: 401, body: '{}' }, AT]],
      toStored: 'raw',
      storedJson: 'raw',
      version: [[]],
      isUnsaved: [[]],
      persisted: [[]],
      saveFailed: [[]],
    },
  },
  verifyWebhook: { call: [[{ body: '{}', signature: 'x' }]] },
  WebhookVerifier: { make: () => [new h.WebhookVerifier()], methods: { verify: [['{}', {}, 0]] } },
  parseWebhookEvent: { call: [['{"type":"INSTALL","locationId":"l"}'], ['nope']] },
  suggestScope: { call: [['contacts.read']] },
  configFromEnv: { call: [[{ HOOPAUTH_CLIENT_ID: '65f1c0ffee-lx2k9', HOOPAUTH_CLIENT_SECRET: SECRET, HOOPAUTH_REDIRECT_URI: 'https://a/cb' }], [{ HOOPAUTH_CLIENT_SECRET: SECRET }]] },
  webhookVerifierFromEnv: { call: [[{ HOOPAUTH_WEBHOOK_KEY: 'not-a-key' }], [{}]] },
  MemoryTokenStore: {
    make: () => {
      const s = new h.MemoryTokenStore();
      s.set('loc_1', `{"secret":"${AT}","refresh":"${RT}"}`);
      return [s];
    },
    methods: { get: 'raw', set: [['loc_2', `{"x":"${AT}"}`]], delete: [['loc_2']], size: [[]] },
  },
  RedisStore: {
    make: () => [new h.RedisStore(fakeRedis(), { prefix: 'p:' })],
    methods: {
      read: 'raw', cas: [['loc_1', 1, `{"x":"${AT}"}`]], delete: [['loc_1']], seenFirst: [['w1', 1000]], forgetSeen: [['w1']],
      nowMs: [[]], key: [['loc_1']], webhookKey: [['w1']], prefix: [[]], client: [[]],
    },
  },
  MemorySharedStore: {
    make: () => {
      const s = new h.MemorySharedStore();
      s.cas('loc_1', 0, `{"secret":"${AT}","refresh":"${RT}"}`);
      return [s];
    },
    methods: {
      read: 'raw', cas: [['loc_2', 0, `{"x":"${AT}"}`]], delete: [['loc_2']], seenFirst: [['w1', 1000], ['w1', 1000]], forgetSeen: [['w1']],
      nowMs: [[]], size: [[]],
    },
  },
  SharedWebhookVerifier: {
    make: () => [new h.SharedWebhookVerifier(new h.MemorySharedStore())],
    methods: { verify: [['{"webhookId":"w1"}', {}, 0]], maxAgeMs: [[]] },
  },
  REDIS_READ_SCRIPT: { values: () => [h.REDIS_READ_SCRIPT] },
  REDIS_CAS_SCRIPT: { values: () => [h.REDIS_CAS_SCRIPT] },
  SQLITE_SCHEMA: { values: () => [h.SQLITE_SCHEMA] },
  SHARED_TTL_MS: { values: () => [h.SHARED_TTL_MS] },
  SHARED_LEASE_MS: { values: () => [h.SHARED_LEASE_MS] },
  redisKey: { call: [['hoopauth:', 'loc_1'], ['hoopauth:', 1]] },
  redisWebhookKey: { call: [['hoopauth:', 'w1']] },
  Client: {
    make: async () => {
      const c = new h.Client({ app: APP_OPTIONS, fetch: fakeFetch });
      await c.setTokens(h.parseTokenResponse(TOKEN_RESPONSE, Date.now()));
      const coordinated = new h.Client({
        app: APP_OPTIONS, fetch: fakeFetch, shared: new h.MemorySharedStore(), keys: [new Uint8Array(32).fill(1)],
      });
      await coordinated.setTokens(h.parseTokenResponse(TOKEN_RESPONSE, Date.now()));
      const failing = new h.Client({
        app: APP_OPTIONS, fetch: fakeFetch,
        store: { get: () => null, set: () => { throw new Error('database is locked'); } },
        session: { refreshLeewayMs: 0 },
      });
      return [c, failing, coordinated];
    },
    methods: {
      app: [[]],
      handoff: [[]],
      authorizationUrl: [[{ scopes: ['contacts.readonly'] }]],
      stats: [[]],
      exchangeCode: [[CODE], [`https://a/cb?code=${CODE}&state=x`, { expectedState: 'y' }]],
      setTokens: [[h.parseTokenResponse(TOKEN_RESPONSE, 0), 'loc_9']],
      usePrivateToken: [['loc_p', PIT]],
      locationToken: [['c1', 'loc_1']],
      handleWebhook: [['{"type":"INSTALL","companyId":"c1","webhookId":"w1"}', { 'x-ghl-signature': 'AAAA' }]],
      request: [['loc_1', { path: '/contacts/' }], ['nowhere', { path: '/contacts/' }]],
      flush: [[]],
      forget: [['loc_9']],
      shared: [[]],
    },
  },
  axiosAdapter: { call: [[new h.Client({ app: APP_OPTIONS, fetch: fakeFetch })], [{ request: 1 }]] },
  axiosRequestResource: {
    call: [[{ url: '/contacts/', params: { locationId: 'loc_1' }, headers: { Authorization: `Bearer ${AT}` } }], [{ url: `/x?access_token=${AT}` }]],
  },
  AXIOS_RESOURCE_HEADER: { values: () => [h.AXIOS_RESOURCE_HEADER] },
};
// The axios adapter is exported by @hoopauth/node only (the npm SDK runs on Node).
const NODE_ONLY = ['axiosAdapter', 'axiosRequestResource', 'AXIOS_RESOURCE_HEADER'];
const WASM = IMPL_DIR.includes('bindings-wasm');
if (WASM) for (const k of NODE_ONLY) delete EXPORTS[k];
// `Config` is `App` under the name Rust and Python use: the same class, the same checks.
EXPORTS.Config = { ...EXPORTS.App, make: () => [new h.Config(APP_OPTIONS)] };
const EXPORTED_PROTOS = new Set(Object.values(h).filter((v) => typeof v === 'function' && v.prototype).map((v) => v.prototype));

test('every export has an entry, and every method of each exported class is exercised', () => {
  const missing = Object.keys(h).filter((k) => !(k in EXPORTS));
  assert.deepEqual(missing, [], `exports without a secrets check: ${missing.join(', ')} (add them to EXPORTS)`);
  for (const [name, entry] of Object.entries(EXPORTS)) {
    if (!entry.make) continue;
    const cls = h[name];
    const members = [
      ...Object.getOwnPropertyNames(cls.prototype).filter((m) => !SKIP_METHODS.has(m) && typeof m === 'string'),
      ...Object.getOwnPropertyNames(cls).filter((m) => !['length', 'name', 'prototype'].includes(m)),
    ];
    const unlisted = members.filter((m) => !(m in entry.methods));
    assert.deepEqual(unlisted, [], `${name}: methods without a secrets check: ${unlisted.join(', ')}`);
  }
});

test('no public object, returned value or error prints a secret', async () => {
  for (const [name, entry] of Object.entries(EXPORTS)) {
    if (entry.values) for (const v of entry.values()) await check(v, name);
    if (entry.call) for (const args of entry.call) await run(() => h[name](...args), `${name}(…)`);
    if (!entry.make) continue;
    const instances = await entry.make();
    for (const [i, obj] of instances.entries()) {
      await check(obj, `${name}#${i}`);
      for (const [m, argLists] of Object.entries(entry.methods)) {
        if (argLists === 'raw' || argLists === 'static') continue;
        const d = Object.getOwnPropertyDescriptor(h[name].prototype, m);
        for (const args of argLists) {
          if (d && d.get) await run(() => obj[m], `${name}#${i}.${m}`);
          else await run(() => obj[m](...args), `${name}#${i}.${m}(…)`);
        }
        await check(obj, `${name}#${i} after ${m}`);
      }
    }
  }
  // The kinds of object the API handed out: each was checked in every printed form.
  for (const must of ['App', 'TokenSet', 'TokenSession', 'Client', 'HttpRequest', 'UseAction', 'Callback', 'HoopAuthError', 'MemoryTokenStore', 'ApiResponse']) {
    assert.ok(handedOut.has(must), `${must} was not among the checked objects: ${[...handedOut].join(', ')}`);
  }
});

test('the raw values stay reachable where users need them', () => {
  const app = new h.App(APP_OPTIONS);
  const req = app.tokenRequest({ grant: 'refresh_token', refreshToken: RT });
  assert.match(req.body, new RegExp(RT));
  assert.match(req.expose().body, new RegExp(SECRET));
  const api = app.apiRequest({ path: '/x', accessToken: AT });
  assert.ok(api.headers.some(([k, v]) => k.toLowerCase() === 'authorization' && v === `Bearer ${AT}`));
  assert.equal(h.parseCallback(`?code=${CODE}&state=s`, 's').code, CODE);
  const s = new h.TokenSession(app);
  s.load(h.parseTokenResponse(TOKEN_RESPONSE, Date.now()));
  const a = s.acquire(Date.now());
  assert.equal(a.action, 'use');
  assert.equal(a.accessToken, AT);
  assert.equal(h.parseTokenResponse(TOKEN_RESPONSE, 0).accessToken, AT);
});

test('a store_error carries the store error as cause, and no token', async () => {
  const client = new h.Client({
    app: APP_OPTIONS, fetch: fakeFetch, session: { refreshLeewayMs: 0 },
    store: { get: () => null, set: () => { throw new Error('database is locked'); } },
  });
  await assert.rejects(client.setTokens(h.parseTokenResponse(TOKEN_RESPONSE, 0)), (e) => {
    assert.equal(e.kind, 'store_error');
    assert.equal(e.cause.message, 'database is locked');
    allForms(e, 'store_error');
    return true;
  });
});

test('the axios adapter prints no secret: its answers, its refusals, its errors', { skip: WASM && 'the axios adapter is in @hoopauth/node only' }, async () => {
  const client = new h.Client({ app: APP_OPTIONS, fetch: fakeFetch });
  await client.setTokens(h.parseTokenResponse(TOKEN_RESPONSE, Date.now()), 'loc_1');
  const adapter = h.axiosAdapter(client);
  const url = 'https://services.leadconnectorhq.com/contacts/';
  // Sent with the client's token (the answer must not carry it).
  const ok = await run(() => adapter({ url, method: 'get', params: { locationId: 'loc_1' }, headers: {} }), 'axiosAdapter(client)(ok)');
  assert.equal(ok.status, 200);
  // A caller's own Authorization is refused without echoing it.
  await run(() => adapter({ url, method: 'get', params: { locationId: 'loc_1' }, headers: { Authorization: `Bearer ${AT}` } }), 'axiosAdapter(client)(authorization)');
  // A resource without tokens: the error names no token.
  let err;
  try { await adapter({ url, method: 'get', params: { locationId: 'loc_none' }, headers: {} }); } catch (e) { err = e; }
  assert.ok(err, 'a resource without tokens must fail');
  await check(err, 'axiosAdapter(client)(no tokens) error');
});
