'use strict';
// The public JavaScript API of hoopauth (tests/js/api.d.ts), built once over a native module:
// the napi addon (bindings-node) or the wasm-bindgen module (bindings-wasm).
//   module.exports = (native) => ({ App, Client, HoopAuthError, ... })
// No Node-only APIs here: the same file runs in Node, browsers and edge workers.

const { HoopAuthError, KINDS, wrapNative, toHoopAuthError } = require('./errors.js');
const {
  redactClass, asTokenSet, TokenSetFields, REDACTED, asHttpRequest, asSessionAction, Callback, HttpRequest,
} = require('./redact.js');
const { opt, toPairs, toResponse, toApiRequest, randomBytes, toTokenInput } = require('./util.js');
const { makeClient } = require('./client.js');
const { makeShared } = require('./shared.js');

const NATIVE = Symbol('hoopauth.native');

function hidden(obj, value) {
  Object.defineProperty(obj, NATIVE, { value, enumerable: false, writable: false, configurable: false });
}

function createApi(native) {
  const w = wrapNative;

  class App {
    constructor(options) {
      if (options == null || typeof options !== 'object') {
        throw new HoopAuthError('invalid_config', 'invalid_config: App options must be an object');
      }
      const o = {
        clientId: options.clientId,
        clientSecret: opt(options.clientSecret),
        redirectUri: opt(options.redirectUri),
        marketplace: opt(options.marketplace),
        apiBase: opt(options.apiBase),
        apiVersion: opt(options.apiVersion),
      };
      if (typeof o.clientId !== 'string') {
        throw new HoopAuthError('invalid_config', 'invalid_config: clientId must be a string');
      }
      hidden(this, w(() => new native.App(o)));
      Object.defineProperty(this, 'hasSecret', { value: o.clientSecret != null, enumerable: false });
    }
    get clientId() { return this[NATIVE].clientId; }
    get apiBase() { return this[NATIVE].apiBase; }
    authorizationUrl(options) {
      const o = options || {};
      return w(() => this[NATIVE].authorizationUrl({
        scopes: o.scopes,
        state: opt(o.state),
        loginWindowOpenMode: opt(o.loginWindowOpenMode),
        versionId: opt(o.versionId),
      }));
    }
    tokenRequest(options) {
      const o = options || {};
      return asHttpRequest(w(() => this[NATIVE].tokenRequest({
        grant: o.grant,
        code: opt(o.code),
        refreshToken: opt(o.refreshToken),
        userType: opt(o.userType),
      })));
    }
    locationTokenRequest(options) {
      const o = options || {};
      return asHttpRequest(w(() => this[NATIVE].locationTokenRequest({
        agencyAccessToken: o.agencyAccessToken, companyId: o.companyId, locationId: o.locationId,
      })));
    }
    apiRequest(options) {
      return asHttpRequest(w(() => this[NATIVE].apiRequest(toApiRequest(options, options && options.accessToken))));
    }
  }
  redactClass(App, (a) => ({ clientId: a.clientId, apiBase: a.apiBase, clientSecret: a.hasSecret ? REDACTED : null }));

  const asApp = (app) => (app instanceof App ? app : new App(app));

  function parseCallback(url, expectedState) {
    return new Callback(w(() => native.parseCallback(url, opt(expectedState))));
  }
  function generateState(bytes) {
    return w(() => native.generateState(bytes == null ? randomBytes(32) : bytes));
  }
  const fastParse = typeof native.parseTokenBody === 'function';
  const fastNew = typeof native.parseTokenNew === 'function';
  function parseTokenResponse(response, nowMs) {
    if (fastNew && response != null && typeof response === 'object') {
      // The core reads status and body only; it builds the TokenSet through its constructor.
      const body = response.body == null ? '' : String(response.body);
      try {
        return native.parseTokenNew(TokenSetFields, response.status >>> 0, body, nowMs);
      } catch (e) {
        throw toHoopAuthError(e);
      }
    }
    if (fastParse && response != null && typeof response === 'object') {
      // The core reads status and body only; the token set crosses as one JSON string.
      const body = response.body == null ? '' : String(response.body);
      let text;
      try {
        text = native.parseTokenBody(response.status >>> 0, body, nowMs);
      } catch (e) {
        throw toHoopAuthError(e);
      }
      return asTokenSet(JSON.parse(text));
    }
    return asTokenSet(w(() => native.parseTokenResponse(toResponse(response), nowMs)));
  }
  function classifyResponse(response, nowMs) {
    return w(() => native.classifyResponse(toResponse(response), opt(nowMs)));
  }
  function parseRateLimitHeaders(headers) {
    return w(() => native.parseRateLimitHeaders(toPairs(headers)));
  }
  function verifyWebhook(options) {
    const o = options || {};
    return w(() => native.verifyWebhook({
      body: o.body,
      signature: opt(o.signature),
      publicKey: opt(o.publicKey),
      nowMs: opt(o.nowMs),
      maxAgeMs: opt(o.maxAgeMs),
    }));
  }
  function parseWebhookEvent(body) {
    return w(() => native.parseWebhookEvent(body));
  }
  function suggestScope(scope) {
    return w(() => native.suggestScope(String(scope)));
  }

  class RateLimiter {
    constructor(limits) { hidden(this, w(() => new native.RateLimiter(limits || null))); }
    acquire(nowMs) { return w(() => this[NATIVE].acquire(nowMs)); }
    /** Report the answer (or transport error) of the send `sendId` that acquire allowed. */
    answered(sendId, nowMs) { w(() => this[NATIVE].answered(sendId, nowMs)); }
    check(nowMs) { return w(() => this[NATIVE].check(nowMs)); }
    observe(nowMs, status, headers) { w(() => this[NATIVE].observe(nowMs, status, toPairs(headers))); }
    get limits() { return this[NATIVE].limits; }
  }

  function sessionOptions(o) { return opt(o); }

  class TokenSession {
    constructor(app, options, _native) {
      const a = asApp(app);
      hidden(this, _native || w(() => new native.TokenSession(a[NATIVE], sessionOptions(options))));
    }
    static fromStored(app, stored, options) {
      const a = asApp(app);
      const n = w(() => native.TokenSession.fromStored(a[NATIVE], stored, sessionOptions(options)));
      return new TokenSession(a, options, n);
    }
    load(tokens) {
      let t = tokens;
      if (t && typeof t === 'object' && 'response' in t && 'nowMs' in t) t = parseTokenResponse(t.response, t.nowMs);
      w(() => this[NATIVE].load(toTokenInput(t)));
    }
    loadPrivate(token) { w(() => this[NATIVE].loadPrivate(token)); }
    acquire(nowMs) { return asSessionAction(w(() => this[NATIVE].acquire(nowMs))); }
    /** Whether the session holds tokens its store does not (after a failed save). */
    isUnsaved() { return w(() => this[NATIVE].isUnsaved()); }
    /** After a 'save' action (or a refresh): the store now holds `toStored()`. */
    persisted() { w(() => this[NATIVE].persisted()); }
    /** The save failed: the tokens stay in memory, unsaved ('save' comes again). */
    saveFailed() { w(() => this[NATIVE].saveFailed()); }
    refreshResponse(response, sentAtMs) {
      return asTokenSet(w(() => this[NATIVE].refreshResponse(toResponse(response), sentAtMs)));
    }
    apiResponse(response, accessToken) { return w(() => this[NATIVE].apiResponse(toResponse(response), accessToken)); }
    /** The stored form (JSON text holding the tokens: keep it as secret as they are). */
    storedJson() { return this[NATIVE].toStored(); }
    /** @deprecated Old name of `storedJson()`. */
    toStored() { return this[NATIVE].toStored(); }
    get version() { return this[NATIVE].version; }
  }
  redactClass(TokenSession, (s) => ({ version: s.version, tokens: REDACTED }));

  class WebhookVerifier {
    constructor(options) {
      const o = options || {};
      hidden(this, w(() => new native.WebhookVerifier({
        publicKey: opt(o.publicKey),
        legacyRsaKey: opt(o.legacyRsaKey),
        maxAgeMs: opt(o.maxAgeMs),
        capacity: opt(o.capacity),
      })));
    }
    verify(body, headers, nowMs) {
      return w(() => this[NATIVE].verify(body, toPairs(headers), nowMs == null ? Date.now() : nowMs));
    }
  }

  const ERROR_KINDS = Object.freeze(w(() => native.errorKinds()));
  const KNOWN_SCOPES = Object.freeze(w(() => native.knownScopes()));

  const { Client, MemoryTokenStore } = makeClient({
    native, NATIVE, App, asApp, parseCallback, parseTokenResponse, redactClass, REDACTED,
  });
  const shared = makeShared({ native, WebhookVerifier, wrapNative: w, redactClass });

  return {
    ERROR_KINDS,
    KNOWN_SCOPES,
    HoopAuthError,
    // One name per thing across languages: `Config` (as in Rust and Python); `App` is the old name.
    Config: App,
    App,
    parseCallback,
    generateState,
    parseTokenResponse,
    classifyResponse,
    parseRateLimitHeaders,
    RateLimiter,
    TokenSession,
    verifyWebhook,
    WebhookVerifier,
    parseWebhookEvent,
    suggestScope,
    MemoryTokenStore,
    Client,
    // coordinated mode (lib/shared.js): stores, shared webhook duplicates, the core's constants
    RedisStore: shared.RedisStore,
    MemorySharedStore: shared.MemorySharedStore,
    SharedWebhookVerifier: shared.SharedWebhookVerifier,
    REDIS_READ_SCRIPT: shared.REDIS_READ_SCRIPT,
    REDIS_CAS_SCRIPT: shared.REDIS_CAS_SCRIPT,
    SQLITE_SCHEMA: shared.SQLITE_SCHEMA,
    SHARED_TTL_MS: shared.SHARED_TTL_MS,
    SHARED_LEASE_MS: shared.SHARED_LEASE_MS,
    redisKey: shared.redisKey,
    redisWebhookKey: shared.redisWebhookKey,
    // configuration from the HOOPAUTH_* environment variables (end of this file)
    ...envHelpers(App, WebhookVerifier),
    // for tests and advanced use: the kinds this JS layer knows, the error converter
    _internal: { KINDS, toHoopAuthError },
  };
}

module.exports = createApi;
module.exports.createApi = createApi;
// Usable before a WASM module is instantiated (the web entry's init() errors).
module.exports.HoopAuthError = HoopAuthError;
module.exports.HttpRequest = HttpRequest;

// ---- configuration from the environment ------------------------------------------------
// The variables (and their meaning) are those of the Python package's config_from_env() and
// webhook_verifier_from_env(): HOOPAUTH_CLIENT_ID, HOOPAUTH_CLIENT_SECRET, HOOPAUTH_REDIRECT_URI,
// HOOPAUTH_MARKETPLACE, HOOPAUTH_API_BASE, HOOPAUTH_WEBHOOK_KEY; unset or empty: the default.
// `env`: another object than process.env (a worker's bindings); where there is no
// process.env (browsers, workers), pass it.
function envHelpers(App, WebhookVerifier) {
  const source = (env) => {
    if (env != null) return env;
    // Node's environment where there is one; no reference to a Node global by name (the web
    // build runs in browsers and workers).
    const host = globalThis['process'];
    return (host && typeof host === 'object' && host.env) || {};
  };
  const get = (env, name) => {
    const v = env[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  function configFromEnv(env) {
    const e = source(env);
    const clientId = get(e, 'HOOPAUTH_CLIENT_ID');
    if (clientId === undefined) {
      throw new HoopAuthError('invalid_config', 'invalid_config: HOOPAUTH_CLIENT_ID is not set');
    }
    return new App({
      clientId,
      clientSecret: get(e, 'HOOPAUTH_CLIENT_SECRET'),
      redirectUri: get(e, 'HOOPAUTH_REDIRECT_URI'),
      marketplace: get(e, 'HOOPAUTH_MARKETPLACE'),
      apiBase: get(e, 'HOOPAUTH_API_BASE'),
    });
  }
  function webhookVerifierFromEnv(env, options) {
    const o = options || {};
    return new WebhookVerifier({ ...o, publicKey: get(source(env), 'HOOPAUTH_WEBHOOK_KEY') ?? o.publicKey });
  }
  return { configFromEnv, webhookVerifierFromEnv };
}
