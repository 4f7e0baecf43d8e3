'use strict';
// Redaction of anything that holds a secret: util.inspect (through the registered symbol,
// so no `require('util')`: this file also runs in browsers and workers), toString, toJSON.

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const REDACTED = '[redacted]';

/** Give a class redacted toString / toJSON / inspect built from `view(obj)` (public fields only). */
function redactClass(cls, view) {
  const name = cls.name;
  Object.defineProperties(cls.prototype, {
    toJSON: { value() { return view(this); }, writable: true, configurable: true },
    toString: { value() { return `${name} ${JSON.stringify(view(this))}`; }, writable: true, configurable: true },
    [INSPECT]: {
      value(depth, options, inspect) {
        const v = view(this);
        if (typeof inspect === 'function') return `${name} ${inspect(v, options)}`;
        return `${name} ${JSON.stringify(v)}`;
      },
      writable: true,
      configurable: true,
    },
  });
}

function redactedTokens(t) {
  const out = {};
  for (const k of Object.keys(t)) out[k] = t[k];
  if (out.accessToken != null) out.accessToken = REDACTED;
  if (out.refreshToken != null) out.refreshToken = REDACTED;
  return out;
}

/** The prototype of every TokenSet handed out: plain data whose printing hides the tokens. */
const TOKEN_SET_PROTO = Object.create(Object.prototype, {
  toJSON: { value() { return redactedTokens(this); }, writable: true, configurable: true },
  toString: { value() { return `TokenSet ${JSON.stringify(redactedTokens(this))}`; }, writable: true, configurable: true },
  [INSPECT]: {
    value(depth, options, inspect) {
      const v = redactedTokens(this);
      return typeof inspect === 'function' ? `TokenSet ${inspect(v, options)}` : `TokenSet ${JSON.stringify(v)}`;
    },
    writable: true,
    configurable: true,
  },
});

/** A TokenSet: the same own fields as the plain data, built by a constructor (one stable
 *  hidden class, far cheaper in V8 than re-prototyping a parsed object). */
function TokenSet(o) {
  this.accessToken = o.accessToken;
  this.tokenType = o.tokenType;
  this.expiresIn = o.expiresIn;
  this.expiresAtMs = o.expiresAtMs;
  this.refreshToken = o.refreshToken;
  this.scopes = o.scopes;
  this.userType = o.userType;
  this.locationId = o.locationId;
  this.companyId = o.companyId;
  this.approvedLocations = o.approvedLocations;
  this.planId = o.planId;
  this.isBulkInstallation = o.isBulkInstallation;
  this.userId = o.userId;
  this.extra = o.extra;
}
TokenSet.prototype = TOKEN_SET_PROTO;
Object.defineProperty(TOKEN_SET_PROTO, 'constructor', { value: TokenSet, writable: true, configurable: true });

function asTokenSet(obj) {
  return new TokenSet(obj);
}

/** The same TokenSet built from positional fields (what a native fast path calls with `new`);
 *  `extraJson` is the unknown fields as JSON text, or null. */
function TokenSetFields(accessToken, tokenType, expiresIn, expiresAtMs, refreshToken, scopes, userType,
  locationId, companyId, approvedLocations, planId, isBulkInstallation, userId, extraJson) {
  this.accessToken = accessToken;
  this.tokenType = tokenType;
  this.expiresIn = expiresIn;
  this.expiresAtMs = expiresAtMs;
  this.refreshToken = refreshToken;
  this.scopes = scopes;
  this.userType = userType;
  this.locationId = locationId;
  this.companyId = companyId;
  this.approvedLocations = approvedLocations;
  this.planId = planId;
  this.isBulkInstallation = isBulkInstallation;
  this.userId = userId;
  this.extra = extraJson == null ? {} : JSON.parse(extraJson);
}
TokenSetFields.prototype = TOKEN_SET_PROTO;

// ---- request objects, session actions, callback results -----------------------------------
// They carry secrets (client secret, refresh token, code in a form body; a bearer token in
// `authorization`; an access token; an authorization code). Printing shows `[redacted]`;
// the raw values stay reachable by property (`request.body`, `action.accessToken`,
// `callback.code`: getters, not own enumerable fields) and as plain data through `expose()`.

const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const SECRET_FORM = new Set(['client_secret', 'refresh_token', 'code', 'access_token', 'client_assertion', 'password']);

function inspectWith(name, v, options, inspect) {
  return typeof inspect === 'function' ? `${name} ${inspect(v, options)}` : `${name} ${JSON.stringify(v)}`;
}

/** A header pair `[name, value]` (an Array, so `fetch` and destructuring read it as before) whose printing hides a secret value. */
class HeaderPair extends Array {
  static get [Symbol.species]() { return Array; }
  toJSON() { return [this[0], SECRET_HEADERS.has(String(this[0]).toLowerCase()) ? REDACTED : this[1]]; }
  toString() { return this.toJSON().join(','); }
  [INSPECT](depth, options, inspect) {
    return typeof inspect === 'function' ? inspect(this.toJSON(), options) : JSON.stringify(this.toJSON());
  }
}

/** The headers of a request: an Array of HeaderPairs (HeadersInit for `fetch`); prints redacted. */
class HeaderPairs extends Array {
  static get [Symbol.species]() { return Array; }
  toJSON() { return Array.prototype.map.call(this, (p) => (p instanceof HeaderPair ? p.toJSON() : p)); }
  toString() { return JSON.stringify(this.toJSON()); }
  [INSPECT](depth, options, inspect) {
    return typeof inspect === 'function' ? inspect(this.toJSON(), options) : JSON.stringify(this.toJSON());
  }
}

function headerPairs(pairs) {
  const out = new HeaderPairs();
  if (pairs != null) {
    for (const p of pairs) {
      if (SECRET_HEADERS.has(String(p[0]).toLowerCase())) {
        // The value behind a getter: even an inspect that skips the redactors
        // (customInspect: false, console.dir) shows [Getter], while fetch reads it as usual.
        const pair = new HeaderPair();
        const value = p[1];
        pair.push(p[0], '');
        Object.defineProperty(pair, 1, { get: () => value, enumerable: true, configurable: false });
        out.push(pair);
      } else {
        out.push([p[0], p[1]]);
      }
    }
  }
  return out;
}

/** A form body with its secret fields' values replaced (anything else printed as is). */
function redactBody(body) {
  if (typeof body !== 'string' || body === '' || body[0] === '{' || body[0] === '[') return body;
  return body.split('&').map((kv) => {
    const i = kv.indexOf('=');
    const k = i < 0 ? kv : kv.slice(0, i);
    let name = k;
    try { name = decodeURIComponent(k.replace(/\+/g, ' ')); } catch { /* keep */ }
    return SECRET_FORM.has(name) ? `${k}=${REDACTED}` : kv;
  }).join('&');
}

/** A request for the host's HTTP client: `{method, url, headers, body}`, printed redacted. */
class HttpRequest {
  #body;
  constructor(r) {
    this.method = r.method;
    this.url = r.url;
    this.headers = headerPairs(r.headers);
    this.#body = r.body == null ? '' : r.body;
  }
  /** The exact text to send ('' for none): may hold secrets. */
  get body() { return this.#body; }
  /** Plain data with the raw values (for code that copies or serialises the request itself). */
  expose() {
    return { method: this.method, url: this.url, headers: this.headers.map((p) => [p[0], p[1]]), body: this.#body };
  }
}
Object.defineProperty(HttpRequest.prototype, 'body', { enumerable: false });
redactClass(HttpRequest, (r) => ({ method: r.method, url: r.url, headers: r.headers.toJSON(), body: redactBody(r.body) }));

function asHttpRequest(r) {
  return r instanceof HttpRequest || r == null ? r : new HttpRequest(r);
}

/** `{action: 'use', accessToken}` of TokenSession.acquire; prints the token redacted. */
class UseAction {
  #token;
  constructor(accessToken) {
    this.action = 'use';
    this.#token = accessToken;
  }
  get accessToken() { return this.#token; }
  expose() { return { action: 'use', accessToken: this.#token }; }
}
redactClass(UseAction, (a) => ({ action: a.action, accessToken: REDACTED }));

/** A session action from the native side → its public form (secrets behind getters). */
function asSessionAction(a) {
  if (a == null || typeof a !== 'object') return a;
  if (a.action === 'use') return new UseAction(a.accessToken);
  if (a.action === 'refresh') return { action: 'refresh', request: asHttpRequest(a.request) };
  if ('stored' in a) {
    const out = {};
    for (const k of Object.keys(a)) if (k !== 'stored') out[k] = a[k];
    Object.defineProperty(out, 'stored', { value: a.stored, enumerable: false });
    return out;
  }
  return a;
}

/** `{code, state}` of parseCallback; prints the code redacted. */
class Callback {
  #code;
  constructor(c) {
    this.#code = c.code;
    this.state = c.state == null ? null : c.state;
  }
  /** The authorization code (single use, short-lived: exchange it, never log it). */
  get code() { return this.#code; }
  expose() { return { code: this.#code, state: this.state }; }
}
redactClass(Callback, (c) => ({ code: REDACTED, state: c.state }));

module.exports = {
  INSPECT, REDACTED, redactClass, asTokenSet, TokenSetFields, TOKEN_SET_PROTO,
  HttpRequest, asHttpRequest, UseAction, asSessionAction, Callback, HeaderPairs, HeaderPair, redactBody,
};
