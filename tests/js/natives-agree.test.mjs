// The two natives agree: the napi addon (bindings-node/native.js) and the WASM module in Node
// (bindings-wasm/pkg-node) are fed the same inputs — every case of the shared vectors and the
// call lifecycle of tests/lifecycle.json driven through Pool.step — and must hand back
// deep-equal objects: the same keys (an absent key is not a key set to undefined or null),
// the same value types (a number is never a BigInt or a string) and the same values. Every
// native function that returns an object is covered. Errors must agree on their kind.
//
// Both natives convert the core's serde forms generically (snake_case keys to camelCase), so
// this test is the runtime half of the type check (tests/js/types/native-*.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, vectorFiles } from './helpers.mjs';

const require = createRequire(import.meta.url);
const LIFECYCLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'lifecycle.json'), 'utf8'));

const ADDON = path.join(ROOT, 'bindings-node', 'native.js');
const WASM = path.join(ROOT, 'bindings-wasm', 'pkg-node', 'hoopauth_wasm.js');
const built = (p) => fs.existsSync(p) && (p !== ADDON || fs.readdirSync(path.dirname(p)).some((f) => f.endsWith('.node')));
const missing = [ADDON, WASM].filter((p) => !built(p)).map((p) => path.relative(ROOT, p));
// Both are built by the set-up of `make test` (scripts/setup/node.sh, bindings-wasm/build.sh).
const skip = missing.length ? `not built: ${missing.join(', ')}` : false;
const natives = skip ? [] : [['addon', require(ADDON)], ['wasm', require(WASM)]];

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const camelObj = (o) => Object.fromEntries(Object.entries(o || {}).map(([k, v]) => [camel(k), v]));
const pairs = (h) => (Array.isArray(h) ? h : Object.entries(h || {}).map(([k, v]) => [k, String(v)]));

/** The result of `run` or the kind of what it threw (the only part both must share). */
function outcome(run) {
  try {
    return { value: run() };
  } catch (e) {
    return { error: e && e.kind ? e.kind : `untyped: ${e && e.message}` };
  }
}

/** Every key path of `v` with the type found there: catches a key present in one, absent in the other. */
function shape(v, at = '$', out = []) {
  const t = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  out.push(`${at}: ${t}`);
  if (t === 'array') v.forEach((x, i) => shape(x, `${at}[${i}]`, out));
  else if (t === 'object') for (const k of Object.keys(v).sort()) shape(v[k], `${at}.${k}`, out);
  return out;
}

/** Run `fn(native)` on both natives; their outcomes must be deep-equal, key sets included. */
function agree(what, fn) {
  const [[, a], [, b]] = natives.map(([, n]) => [n, outcome(() => fn(n))]);
  assert.deepStrictEqual(shape(a), shape(b), `${what}: key sets or value types differ`);
  assert.deepStrictEqual(a, b, `${what}: values differ`);
  return a.value;
}

/** Run a stateful script against each native's own objects, comparing every answer. */
function lockstep(what, make, steps) {
  const states = natives.map(([, n]) => make(n));
  steps.forEach((step, i) => {
    const [a, b] = states.map((s, j) => outcome(() => step(s, natives[j][1])));
    assert.deepStrictEqual(shape(a), shape(b), `${what}, step ${i}: key sets or value types differ`);
    assert.deepStrictEqual(a, b, `${what}, step ${i}: values differ`);
  });
}

const vectors = skip ? [] : vectorFiles();
const casesOf = (op) => vectors.filter((v) => v.doc.op === op).flatMap((v) => v.doc.cases);
const appOf = (n, input) => new n.App(camelObj(input.config));

test('both natives are loaded', { skip }, () => {
  assert.equal(natives.length, 2);
  assert.ok(vectors.length > 0, 'no shared vectors');
});

test('parseCallback', { skip }, () => {
  for (const c of casesOf('parse_callback')) agree(c.name, (n) => n.parseCallback(c.input.url, c.input.expected_state ?? null));
});

test('parseTokenResponse', { skip }, () => {
  for (const c of casesOf('parse_token_response')) {
    const r = { status: c.input.status, headers: pairs(c.input.headers), body: c.input.body };
    agree(c.name, (n) => n.parseTokenResponse(r, c.input.now_ms ?? 0));
  }
});

test('classifyResponse', { skip }, () => {
  for (const c of casesOf('classify_response')) {
    const r = { status: c.input.status, headers: pairs(c.input.headers), body: c.input.body ?? '' };
    agree(c.name, (n) => n.classifyResponse(r, c.input.now_ms ?? null));
  }
});

test('parseRateLimitHeaders', { skip }, () => {
  for (const c of casesOf('parse_rate_limit_headers')) agree(c.name, (n) => n.parseRateLimitHeaders(pairs(c.input.headers)));
});

test('verifyWebhook, WebhookVerifier.verify, parseWebhookEvent', { skip }, () => {
  for (const c of casesOf('verify_webhook')) {
    const i = c.input;
    const o = { body: i.body, signature: i.signature, publicKey: i.public_key, nowMs: i.now_ms, maxAgeMs: i.max_age_ms };
    for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
    agree(c.name, (n) => n.verifyWebhook(o));
    const headers = i.signature == null ? [] : [['x-wh-signature', i.signature]];
    agree(`${c.name} (verifier)`, (n) => new n.WebhookVerifier(i.public_key ? { publicKey: i.public_key } : null)
      .verify(i.body, headers, i.now_ms ?? Date.parse('2026-11-22T10:00:00.000Z')));
    agree(`${c.name} (event)`, (n) => n.parseWebhookEvent(i.body));
  }
  const bodies = [
    { type: 'INSTALL', appId: 'app_1', installType: 'Company', companyId: 'comp_1', isBulkInstallation: true, approvedLocations: ['loc_1', 'loc_2'] },
    { type: 'UNINSTALL', appId: 'app_1', locationId: 'loc_1', webhookId: 'wh_1' },
    { type: 'ContactCreate', locationId: 'loc_1', some_field: { nested_key: 1 } },
  ];
  for (const b of bodies) agree(`parseWebhookEvent ${b.type}`, (n) => n.parseWebhookEvent(JSON.stringify(b)));
});

test('App: tokenRequest, locationTokenRequest, apiRequest', { skip }, () => {
  for (const c of casesOf('token_request')) {
    const i = c.input;
    agree(c.name, (n) => appOf(n, i).tokenRequest({ grant: i.grant, code: i.code, refreshToken: i.refresh_token, userType: i.user_type }));
  }
  for (const c of casesOf('location_token_request')) {
    const i = c.input;
    agree(c.name, (n) => appOf(n, i).locationTokenRequest({ agencyAccessToken: i.agency_access_token, companyId: i.company_id, locationId: i.location_id }));
  }
  for (const c of casesOf('api_request')) {
    const i = c.input;
    const o = { method: i.method, path: i.path, query: i.query, accessToken: i.access_token };
    if ('json' in i) o.json = typeof i.json === 'string' ? i.json : JSON.stringify(i.json);
    agree(c.name, (n) => appOf(n, i).apiRequest(o));
  }
});

test('RateLimiter: acquire, check, limits', { skip }, () => {
  for (const c of casesOf('rate_limiter')) {
    const steps = [(l) => l.limits];
    const sent = [];
    for (const s of c.input.steps) {
      if (s.op === 'acquire') {
        for (let k = 0; k < (s.count ?? 1); k++) {
          steps.push((l) => l.check(s.at));
          steps.push((l) => {
            const d = l.acquire(s.at);
            (l.sent ||= []).push(d.sendId);
            if (d.allow && !s.in_flight) l.answered(d.sendId, s.at);
            return d;
          });
        }
      } else if (s.op === 'answered') {
        steps.push((l) => s.sends.forEach((k) => l.answered(l.sent.filter((x) => x !== undefined)[k], s.at)));
      } else if (s.op === 'observe') {
        steps.push((l) => l.observe(s.at, s.status, pairs(s.headers)));
      }
    }
    steps.push((l) => l.limits);
    void sent;
    lockstep(c.name, (n) => new n.RateLimiter(camelObj(c.input.limits)), steps);
  }
});

test('TokenSession: acquire, refreshResponse, apiResponse', { skip }, () => {
  for (const c of casesOf('token_session')) {
    const i = c.input;
    const options = camelObj(i.options);
    const steps = [];
    for (const s of i.steps) {
      const r = { status: s.status, headers: [], body: s.body ?? '' };
      if (s.op === 'load') {
        steps.push(({ n, s: ts }) => (s.private_token != null ? ts.loadPrivate(s.private_token) : ts.load(n.parseTokenResponse(r, s.at))));
      } else if (s.op === 'acquire') steps.push(({ s: ts }) => ts.acquire(s.at));
      else if (s.op === 'refresh_response') steps.push(({ s: ts }) => ts.refreshResponse(r, s.at));
      else if (s.op === 'api_response') steps.push(({ s: ts }) => ts.apiResponse(r, s.access_token));
      else if (s.op === 'roundtrip') steps.push((st) => { st.s = st.n.TokenSession.fromStored(st.app, st.s.toStored(), options); });
    }
    lockstep(c.name, (n) => { const app = appOf(n, i); return { n, app, s: new n.TokenSession(app, options) }; }, steps);
  }
});

// ---- the call lifecycle through Pool.step ---------------------------------------------------

const LOC = 'loc_agree';
const TOKENS = (at, rt, expiresIn = 86399) => JSON.stringify({
  access_token: at, refresh_token: rt, expires_in: expiresIn, token_type: 'Bearer', userType: 'Location',
  locationId: LOC, companyId: 'comp_1', scope: 'contacts.readonly', extra_field: { nested_key: 1 },
});
const T0 = 1767225600000;
const json = (status, body, headers = []) => ({ status, headers: [['content-type', 'application/json'], ...headers], body });

/**
 * Scenarios: the answers a fake platform gives, in order, to each send. `event` names the
 * event the driver feeds for that send (tests/lifecycle.json's pool_methods).
 */
const SCENARIOS = [
  ['ok', [json(200, '{"contacts":[]}')]],
  ['401, refresh, retry', [json(401, '{"message":"Invalid JWT"}'), json(200, TOKENS('at-2', 'rt-2')), json(200, '{}')]],
  ['429 burst then ok', [json(429, '{"message":"Too many"}', [['retry-after', '1']]), json(200, '{}')]],
  ['5xx, transport error, ok', [json(503, ''), 'transport_error', json(200, '{}')]],
  ['refresh refused: reauthorize', [json(401, '{}'), json(400, '{"error":"invalid_grant"}')]],
  ['persist fails', [json(401, '{}'), json(200, TOKENS('at-3', 'rt-3')), 'persist_failed']],
  ['conflict after the refresh', [json(401, '{}'), json(200, TOKENS('at-4', 'rt-4')), 'conflict', json(200, '{}')]],
  ['404 fails', [json(404, '{"message":"not found"}')]],
];

test('the lifecycle events are the ones tests/lifecycle.json lists', { skip }, () => {
  const used = new Set(['start', 'resume', 'response', ...SCENARIOS.flatMap(([, a]) => a.filter((x) => typeof x === 'string'))]);
  for (const e of used) assert.ok(LIFECYCLE.pool_methods.includes(e), `${e} is not a lifecycle method`);
});

for (const [name, answers] of SCENARIOS) {
  test(`Pool.step, Call.stats: ${name}`, { skip }, () => {
    // Each native is driven by the same script; the script reads only the first native's steps
    // (lockstep fails at the first step where the second differs).
    const steps = [];
    const script = { answers: [...answers], now: T0 + 1000, event: { type: 'start' }, done: false };
    for (let i = 0; i < 40; i++) {
      steps.push((st) => {
        if (st.done) return 'done';
        const step = st.pool.step(st.call, LOC, st.event, st.now, 7);
        st.now += 1;
        if (step.step === 'send' || step.step === 'send_refresh') {
          const a = st.answers.shift();
          if (a === undefined) throw new Error('the script ran out of answers');
          st.event = typeof a === 'string' ? { type: a } : { type: 'response', response: a };
        } else if (step.step === 'persist') {
          const a = typeof st.answers[0] === 'string' && st.answers[0] !== 'transport_error' ? st.answers.shift() : 'resume';
          if (a === 'conflict') st.pool.loadStored(LOC, step.stored);
          st.event = { type: a };
        } else if (step.step === 'wait') {
          st.now += step.waitMs;
          st.event = { type: 'resume' };
        } else st.done = true;
        return { step, stats: st.call.stats(), finished: st.call.isFinished(), unsaved: st.pool.unsavedResources() };
      });
    }
    lockstep(name, (n) => {
      const pool = new n.Pool(new n.App({ clientId: 'cid', clientSecret: 'agree-secret' }), null, { max: 5, intervalMs: 1000 });
      pool.loadTokens(null, n.parseTokenResponse(json(200, TOKENS('at-1', 'rt-1')), T0));
      return { ...structuredClone(script), pool, call: new n.Call({ method: 'GET', path: '/contacts/', query: [['locationId', LOC]] }, null) };
    }, steps);
  });
}

// ---- objects in: option objects and token sets read through serde agree too -----------------

test('App options, authorizationUrl, token sets in: the same answers and error kinds', { skip }, () => {
  for (const c of casesOf('authorization_url')) {
    const i = c.input;
    agree(c.name, (n) => appOf(n, i).authorizationUrl({
      scopes: i.scopes, state: i.state, loginWindowOpenMode: i.login_window_open_mode, versionId: i.version_id,
    }));
  }
  const base = JSON.parse(TOKENS('at-in', 'rt-in'));
  const tokens = (n, patch) => ({ ...n.parseTokenResponse(json(200, JSON.stringify(base)), T0), ...patch });
  const loads = {
    'as parsed': {},
    'userType in lower case': { userType: 'location' },
    'empty refreshToken': { refreshToken: '' },
    'nulls for absent fields': { tokenType: null, planId: null, approvedLocations: null, extra: null },
    'extra kept as sent': { extra: { some_key: { deeper_key: [1, 'two'] }, n: 2 ** 40 } },
    'bad expiresIn': { expiresIn: 1.5 },
    'bad expiresAtMs': { expiresAtMs: -1 },
    'empty accessToken': { accessToken: '' },
    'bad userType': { userType: 'Agency' },
    'scopes not a list': { scopes: 'contacts.readonly' },
    'tokenType not a string': { tokenType: 7 },
  };
  for (const [name, patch] of Object.entries(loads)) {
    agree(`TokenSession.load: ${name}`, (n) => {
      const s = new n.TokenSession(new n.App({ clientId: 'cid' }));
      s.load(tokens(n, patch));
      return JSON.parse(s.toStored());
    });
    agree(`Pool.loadTokens: ${name}`, (n) => {
      const p = new n.Pool(new n.App({ clientId: 'cid' }), null, null);
      const id = p.loadTokens(null, tokens(n, patch));
      return [id, JSON.parse(p.storedJson(id))];
    });
  }
  const apps = {
    'no secret': { clientId: 'cid' },
    'all fields': { clientId: 'cid', clientSecret: 's', redirectUri: 'https://a.example/cb', marketplace: 'https://m.example', apiBase: 'https://api.example', apiVersion: '2021-07-28' },
    'secret not a string': { clientId: 'cid', clientSecret: Buffer.from('agree-secret') },
    'secret a number': { clientId: 'cid', clientSecret: 5 },
    'no clientId': {},
    'bad apiBase': { clientId: 'cid', apiBase: 'ftp://x' },
  };
  for (const [name, o] of Object.entries(apps)) agree(`App: ${name}`, (n) => { const a = new n.App(o); return [a.clientId, a.apiBase]; });
  const requests = {
    'method in lower case': { method: 'post', path: '/contacts/', json: '{"a":1}', accessToken: 'at' },
    'no method: GET': { path: '/contacts/', query: [['locationId', 'loc_1']], accessToken: 'at' },
    'version override': { path: '/x', version: '2021-04-15', accessToken: 'at' },
    'unknown method': { method: 'FETCH', path: '/x', accessToken: 'at' },
    'no path': { accessToken: 'at' },
    'query not pairs': { path: '/x', query: 'q', accessToken: 'at' },
  };
  for (const [name, o] of Object.entries(requests)) {
    agree(`App.apiRequest: ${name}`, (n) => new n.App({ clientId: 'cid' }).apiRequest(o));
    agree(`Call: ${name}`, (n) => new n.Call(o, null).isFinished());
  }
});

test('Pool.step: a minted location session asks for a mint', { skip }, () => {
  lockstep('mint', (n) => {
    const pool = new n.Pool(new n.App({ clientId: 'cid', clientSecret: 'agree-secret' }), null, null);
    pool.loadTokens(null, n.parseTokenResponse(json(200, JSON.stringify({
      access_token: 'at-c', refresh_token: 'rt-c', expires_in: 86399, userType: 'Company', companyId: 'comp_1',
    })), T0));
    return { pool, call: new n.Call({ path: '/contacts/' }, null) };
  }, [
    (st) => st.pool.expectMinted('loc_m', 'comp_1'),
    (st) => st.pool.mintedFrom('loc_m'),
    (st) => st.pool.step(st.call, 'loc_m', { type: 'start' }, T0 + 1000, 1),
    (st) => st.call.stats(),
  ]);
});
