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

module.exports = { INSPECT, REDACTED, redactClass, asTokenSet, TokenSetFields, TOKEN_SET_PROTO };
