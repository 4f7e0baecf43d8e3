// Every vector of HOOPAUTH_VECTORS through the JS API.
import test from 'node:test';
import assert from 'node:assert/strict';
import { h, vectorFiles } from './helpers.mjs';

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const snake = (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camelObj = (o) => Object.fromEntries(Object.entries(o || {}).map(([k, v]) => [camel(k), v]));
const snakeObj = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), v]));

const decodeQuery = (q) => [...new URLSearchParams(q)].map(([k, v]) => [k, v]);

function requestJson(r) {
  const i = r.url.indexOf('?');
  const [originPath, query] = i >= 0 ? [r.url.slice(0, i), r.url.slice(i + 1)] : [r.url, ''];
  const ct = (r.headers.find(([k]) => k.toLowerCase() === 'content-type') || [, ''])[1];
  const out = { method: r.method, url: r.url, origin_path: originPath, url_query: decodeQuery(query), headers: r.headers };
  if (r.body === '') out.body = null;
  else if (ct.startsWith('application/x-www-form-urlencoded')) { out.form = decodeQuery(r.body); out.body = r.body; }
  else { out.json = JSON.parse(r.body); out.body = r.body; }
  return out;
}

function tokenSetJson(t) {
  const o = snakeObj({ ...t });
  delete o.extra;
  return o;
}

const sortedPairs = (v) => (v || []).map((p) => `${p[0]}\u0000${p[1]}`).sort();

function compare(expect, actual) {
  for (const [k, ev] of Object.entries(expect)) {
    const av = actual[k] === undefined ? null : actual[k];
    let ok;
    if (k === 'query' || k === 'form' || k === 'url_query') {
      const key = k === 'query' ? 'url_query' : k;
      ok = JSON.stringify(sortedPairs(ev)) === JSON.stringify(sortedPairs(actual[key]));
    } else if (k === 'headers') {
      ok = Object.entries(ev).every(([n, v]) => actual.headers.some(([an, av2]) => an.toLowerCase() === n.toLowerCase() && av2 === v));
    } else if (k === 'absent_headers') {
      ok = ev.every((n) => !actual.headers.some(([an]) => an.toLowerCase() === n.toLowerCase()));
    } else if (k === 'form_includes') {
      const have = sortedPairs(actual.form);
      ok = sortedPairs(ev).every((p) => have.includes(p));
    } else {
      try { assert.deepStrictEqual(av, ev); ok = true; } catch { ok = false; }
    }
    if (!ok) throw new Error(`field \`${k}\`: expected ${JSON.stringify(ev)}, got ${JSON.stringify(av)}`);
  }
}

const app = (input) => new h.App(camelObj(input.config));
const headersOf = (v) => v || {};

function runRateLimiter(input) {
  const l = new h.RateLimiter(camelObj(input.limits));
  // SPEC §9: a send holds its slot until its answer is reported with answered(sendId, at).
  const answered = (id, at) => l.answered(id, at);
  const sends = []; // the sendId of each allowed send, in the order the script allowed them
  input.steps.forEach((step, i) => {
    if (step.op === 'acquire') {
      const count = step.count ?? 1;
      for (let n = 0; n < count; n++) {
        const d = l.acquire(step.at);
        if (d.allow) {
          assert.ok(Number.isSafeInteger(d.sendId), `step ${i}: an allowed send has a sendId`);
          sends.push(d.sendId);
          // Without `in_flight` the answer arrives at once, at the same time.
          if (!step.in_flight) answered(d.sendId, step.at);
        }
        const actual = d.allow ? { allow: true } : { allow: false, wait_ms: d.waitMs, daily_exhausted: d.dailyExhausted };
        try { compare(step.expect, actual); } catch (e) { throw new Error(`step ${i} (acquire ${n} of ${count} at ${step.at}): ${e.message}`); }
      }
    } else if (step.op === 'answered') {
      for (const n of step.sends) {
        if (n >= sends.length) throw new Error(`step ${i}: no allowed send ${n}`);
        answered(sends[n], step.at);
      }
    } else if (step.op === 'observe') {
      l.observe(step.at, step.status, headersOf(step.headers));
    } else throw new Error(`unknown step op ${step.op}`);
  });
  return {};
}

function runSession(input) {
  const a = app(input);
  const options = camelObj(input.options);
  let s = new h.TokenSession(a, options);
  input.steps.forEach((step, i) => {
    const body = step.body ?? '';
    switch (step.op) {
      case 'load':
        if (step.private_token != null) s.loadPrivate(step.private_token);
        else s.load({ response: { status: step.status, body }, nowMs: step.at });
        break;
      case 'acquire': {
        const act = s.acquire(step.at);
        let actual;
        if (act.action === 'use') actual = { action: 'use', access_token: act.accessToken };
        else if (act.action === 'refresh') actual = { ...requestJson(act.request), action: 'refresh' };
        else actual = { action: act.action };
        try { compare(step.expect, actual); } catch (e) { throw new Error(`step ${i} (acquire at ${step.at}): ${e.message}`); }
        break;
      }
      case 'refresh_response':
        try { s.refreshResponse({ status: step.status, body }, step.at); } catch (e) { if (!(e instanceof h.HoopAuthError)) throw e; }
        break;
      case 'api_response':
        s.apiResponse({ status: step.status, body }, step.access_token);
        break;
      case 'roundtrip':
        s = h.TokenSession.fromStored(a, s.toStored(), options);
        break;
      default: throw new Error(`unknown step op ${step.op}`);
    }
  });
  return {};
}

function runCase(op, input) {
  switch (op) {
    case 'authorization_url': {
      const url = app(input).authorizationUrl({
        scopes: input.scopes, state: input.state, loginWindowOpenMode: input.login_window_open_mode, versionId: input.version_id,
      });
      const i = url.indexOf('?');
      return { origin_path: url.slice(0, i), url_query: decodeQuery(url.slice(i + 1)) };
    }
    case 'parse_callback': {
      const cb = h.parseCallback(input.url, input.expected_state);
      return { code: cb.code, state: cb.state ?? null };
    }
    case 'token_request':
      return requestJson(app(input).tokenRequest({ grant: input.grant, code: input.code, refreshToken: input.refresh_token, userType: input.user_type }));
    case 'location_token_request':
      return requestJson(app(input).locationTokenRequest({ agencyAccessToken: input.agency_access_token, companyId: input.company_id, locationId: input.location_id }));
    case 'api_request': {
      const o = { method: input.method, path: input.path, query: input.query, accessToken: input.access_token };
      if ('json' in input) o.json = input.json;
      return requestJson(app(input).apiRequest(o));
    }
    case 'parse_token_response':
      return tokenSetJson(h.parseTokenResponse({ status: input.status, headers: headersOf(input.headers), body: input.body }, input.now_ms));
    case 'classify_response': {
      const c = h.classifyResponse({ status: input.status, headers: headersOf(input.headers), body: input.body ?? '' }, input.now_ms);
      return { kind: c.kind, retryable: c.retryable, rate_limit_scope: c.rateLimitScope, retry_after_ms: c.retryAfterMs };
    }
    case 'parse_rate_limit_headers':
      return snakeObj(h.parseRateLimitHeaders(headersOf(input.headers)));
    case 'verify_webhook':
      return h.verifyWebhook({ body: input.body, signature: input.signature, publicKey: input.public_key, nowMs: input.now_ms, maxAgeMs: input.max_age_ms });
    case 'rate_limiter': return runRateLimiter(input);
    case 'token_session': return runSession(input);
    default: throw new Error(`unknown op ${op}`);
  }
}

const files = vectorFiles();
test('the vectors directory has vector files', () => assert.ok(files.length > 0));

for (const { file, doc } of files) {
  test(`vectors: ${file}`, () => {
    const failures = [];
    for (const c of doc.cases) {
      let outcome; let err = null;
      try { outcome = runCase(doc.op, c.input); } catch (e) { err = e; }
      try {
        if (c.expect.error) {
          if (!err) throw new Error(`expected error ${c.expect.error}, got ${JSON.stringify(outcome)}`);
          if (!(err instanceof h.HoopAuthError)) throw new Error(`expected HoopAuthError, got ${err}`);
          if (err.kind !== c.expect.error) throw new Error(`expected error ${c.expect.error}, got ${err.kind} (${err.message})`);
        } else {
          if (err) throw new Error(`unexpected error ${err.kind}: ${err.message}`);
          compare(c.expect, outcome);
        }
      } catch (e) {
        failures.push(`${doc.op} / ${c.name}: ${e.message}`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
  });
}
