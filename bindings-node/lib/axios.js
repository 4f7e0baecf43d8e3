'use strict';
// An axios adapter over a hoopauth Client: axios requests — including the npm SDK's
// (`@gohighlevel/api-client`, whose `httpClient` is an axios instance) — go through
// `client.request`, so the core paces them on their resource's window, refreshes once when
// due or after a 401, and retries 429s and 5xx. axios is not a dependency: the adapter takes
// axios's request config and resolves to an axios-shaped response (axios itself parses the
// body with its transformResponse and wraps the headers).
//
// The resource, first found wins: the `X-HoopAuth-Resource` header; `locationId` then
// `companyId` (or `location_id` / `company_id`) in the query (`params` or the URL); the npm
// SDK's path parameters (`__pathParams`); the JSON or form body; the path (`/locations/{id}`,
// `/companies/{id}`). A request with none (the SDK's own OAuth calls) is sent by `fetch` as it
// is. `Authorization` belongs to hoopauth: a request without one gets the resource's token; a
// request with one is refused (`invalid_argument`) unless `replaceAuthorization: true`.
//
// Limits of `client.request` (method, path, query, JSON body, Version): paced requests carry
// a JSON body or none; other headers of the axios request are not sent. A call that ends on
// an error answer (404, 422, 429 after the retries) rejects as axios does (an error with
// `response.status`), its `response.data` being `{ statusCode, message, error }` from the
// hoopauth error (`cause`); failures without an answer (reauthorize, store errors) reject
// with the HoopAuthError itself.

const { HoopAuthError } = require('./errors.js');

const RESOURCE_HEADER = 'x-hoopauth-resource';
const LOCATION_KEYS = ['locationId', 'location_id'];
const COMPANY_KEYS = ['companyId', 'company_id'];
const NOT_IDS = new Set(['search', 'timezones', '']);

function pick(get) {
  for (const keys of [LOCATION_KEYS, COMPANY_KEYS]) {
    for (const k of keys) {
      const v = get(k);
      if (typeof v === 'string' && v !== '') return v;
    }
  }
  return null;
}

/** Headers of an axios config (AxiosHeaders or a plain object) as a lower-case record. */
function plainHeaders(h) {
  const out = {};
  if (h == null) return out;
  const obj = typeof h.toJSON === 'function' ? h.toJSON() : h;
  for (const [k, v] of Object.entries(obj)) {
    if (v == null || v === false || typeof v === 'object' || typeof v === 'function') continue;
    out[k.toLowerCase()] = String(v);
  }
  return out;
}

function isAbsolute(url) {
  return /^[a-z][a-z\d+\-.]*:\/\//i.test(url);
}

/** The request's URL as axios would build it: baseURL + url + params. */
function fullUrl(config) {
  const url = config.url == null ? '' : String(config.url);
  let full = url;
  if (config.baseURL && !isAbsolute(url)) {
    full = url ? `${String(config.baseURL).replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : String(config.baseURL);
  }
  let u;
  try {
    u = new URL(full);
  } catch {
    // The URL is not quoted: it may carry a token in its query.
    throw new HoopAuthError('invalid_argument', 'invalid_argument: the axios request has no absolute URL (give `baseURL` or an absolute `url`)');
  }
  const p = config.params;
  if (p != null) {
    if (typeof config.paramsSerializer === 'function') {
      const s = config.paramsSerializer(p);
      if (s) u.search = u.search ? `${u.search}&${s}` : s;
    } else if (typeof URLSearchParams !== 'undefined' && p instanceof URLSearchParams) {
      p.forEach((v, k) => u.searchParams.append(k, v));
    } else {
      for (const [k, v] of Object.entries(p)) {
        if (v == null) continue;
        for (const one of Array.isArray(v) ? v : [v]) {
          u.searchParams.append(k, one instanceof Date ? one.toISOString() : typeof one === 'object' ? JSON.stringify(one) : String(one));
        }
      }
    }
  }
  return u;
}

/** The request body: {kind: 'none' | 'json' | 'form' | 'other', value, text}. */
function bodyOf(config, headers) {
  const d = config.data;
  if (d == null || d === '') return { kind: 'none' };
  const ctype = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  let text = null;
  if (typeof d === 'string') text = d;
  else if (typeof URLSearchParams !== 'undefined' && d instanceof URLSearchParams) return { kind: 'form', value: d, text: d.toString() };
  else if (d instanceof Uint8Array || d instanceof ArrayBuffer) text = new TextDecoder().decode(d);
  else if (typeof d === 'object' && Object.getPrototypeOf(d) === Object.prototype) return { kind: 'json', value: d, text: JSON.stringify(d) };
  if (text == null) return { kind: 'other' };
  if (ctype === 'application/x-www-form-urlencoded') return { kind: 'form', value: new URLSearchParams(text), text };
  try {
    return { kind: 'json', value: JSON.parse(text), text };
  } catch {
    return { kind: 'other', text };
  }
}

/** The resource a request is for, or null (the rules in the file's comment). */
function requestResource(config, options) {
  const o = options || {};
  const header = (o.resourceHeader || RESOURCE_HEADER).toLowerCase();
  const headers = plainHeaders(config.headers);
  if (headers[header]) return headers[header];
  const url = fullUrl(config);
  let found = pick((k) => url.searchParams.get(k));
  if (found) return found;
  const pp = config.__pathParams;
  if (pp != null && typeof pp === 'object') {
    found = pick((k) => pp[k]);
    if (found) return found;
  }
  const body = bodyOf(config, headers);
  if (body.kind === 'json' && body.value != null && typeof body.value === 'object') found = pick((k) => body.value[k]);
  else if (body.kind === 'form') found = pick((k) => body.value.get(k));
  if (found) return found;
  const parts = url.pathname.split('/');
  for (let i = 0; i < parts.length - 1; i++) {
    if ((parts[i] === 'locations' || parts[i] === 'companies') && !NOT_IDS.has(parts[i + 1])) {
      try {
        return decodeURIComponent(parts[i + 1]);
      } catch {
        return parts[i + 1];
      }
    }
  }
  return null;
}

/** The path to give `client.request` (which sends to its app's apiBase): the request must be
 *  for that origin, so the adapter never moves a request to another host. */
function apiPath(client, url) {
  const base = client.app && typeof client.app.apiBase === 'string' ? new URL(client.app.apiBase) : null;
  if (base == null) return url.pathname;
  if (base.origin !== url.origin) {
    throw new HoopAuthError('invalid_argument', `invalid_argument: the request is for ${url.origin}, the hoopauth Client's apiBase is ${base.origin}: give both the same base URL`);
  }
  const prefix = base.pathname.replace(/\/+$/, '');
  return prefix && url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
}

function statusOk(config, status) {
  return typeof config.validateStatus === 'function' ? config.validateStatus(status) : status >= 200 && status < 300;
}

/** An error as axios's own adapters reject with (AxiosError when the caller gave its class). */
function axiosError(options, message, config, response, cause) {
  const code = response.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST';
  const AxiosError = options.AxiosError;
  let e;
  if (typeof AxiosError === 'function') {
    e = new AxiosError(message, code, config, response.request, response);
  } else {
    e = new Error(message);
    e.name = 'AxiosError';
    e.isAxiosError = true;
    e.code = code;
    e.config = config;
    e.request = response.request;
    e.response = response;
    e.status = response.status;
  }
  if (cause !== undefined) {
    Object.defineProperty(e, 'cause', { value: cause, configurable: true, writable: true });
    e.kind = cause.kind;
    if (cause.reauthorize) e.reauthorize = true;
  }
  return e;
}

function settle(options, config, response, cause) {
  if (statusOk(config, response.status)) return response;
  throw axiosError(options, `Request failed with status code ${response.status}`, config, response, cause);
}

/**
 * An axios adapter (`instance.defaults.adapter = axiosAdapter(client, options)`) sending
 * through `client.request`. Options: `replaceAuthorization` (replace a caller-set
 * Authorization instead of refusing the request), `resource(config)` (the resource id, or
 * null for the built-in rules), `resourceHeader` (default `X-HoopAuth-Resource`), `fetch`
 * (for requests with no resource; default globalThis.fetch), `AxiosError` (axios's class, to
 * reject with real AxiosErrors).
 */
function axiosAdapter(client, options) {
  if (client == null || typeof client.request !== 'function') {
    throw new HoopAuthError('invalid_argument', 'invalid_argument: axiosAdapter needs a hoopauth Client');
  }
  const o = options || {};
  if (o.resource != null && typeof o.resource !== 'function') {
    throw new HoopAuthError('invalid_argument', 'invalid_argument: options.resource must be a function (axios config → resource id or null)');
  }
  const header = (o.resourceHeader || RESOURCE_HEADER).toLowerCase();
  const replace = !!o.replaceAuthorization;

  async function passThrough(config, url, headers) {
    const f = o.fetch || globalThis.fetch;
    delete headers[header];
    const body = bodyOf(config, headers);
    const method = String(config.method || 'get').toUpperCase();
    const init = { method, headers };
    if (body.kind !== 'none' && method !== 'GET' && method !== 'HEAD') init.body = body.text != null ? body.text : config.data;
    if (config.signal != null) init.signal = config.signal;
    const r = await f(url.toString(), init);
    const text = await r.text();
    const h = {};
    r.headers.forEach((v, k) => { h[k] = v; });
    return settle(o, config, { data: text, status: r.status, statusText: r.statusText || '', headers: h, config, request: {} });
  }

  return async function hoopauthAxiosAdapter(config) {
    const headers = plainHeaders(config.headers);
    const url = fullUrl(config);
    let resource = o.resource ? o.resource(config) : null;
    if (resource != null && (typeof resource !== 'string' || resource === '')) {
      throw new HoopAuthError('invalid_argument', 'invalid_argument: options.resource() must return a non-empty string or null');
    }
    if (resource == null) resource = requestResource(config, { resourceHeader: header });
    if (resource == null) return passThrough(config, url, headers);
    if (headers.authorization != null && !replace) {
      throw new HoopAuthError('invalid_argument', 'invalid_argument: the request carries its own Authorization header: ' +
        'hoopauth sets the resource\'s token itself (so only one party refreshes). Drop it, or pass replaceAuthorization: true');
    }
    const body = bodyOf(config, headers);
    if (body.kind === 'form' || body.kind === 'other') {
      throw new HoopAuthError('invalid_argument', 'invalid_argument: hoopauth sends a JSON body or none on a paced call (this request has another body)');
    }
    const query = [];
    url.searchParams.forEach((v, k) => query.push([k, v]));
    const request = {
      method: String(config.method || 'get').toUpperCase(),
      path: apiPath(client, url),
      query,
    };
    if (body.kind === 'json') request.json = body.value;
    if (headers.version) request.version = headers.version;
    // axios's `timeout` bounds one HTTP exchange, not a paced call's waits for its window (the
    // npm SDK sets 30 s, less than a busy location's queue): it is not given to the call.
    // Cancelling goes through `signal`.
    if (config.signal != null && typeof config.signal.addEventListener === 'function') request.signal = config.signal;
    let resp;
    try {
      resp = await client.request(resource, request);
    } catch (e) {
      // (By name: the WASM package's copy of lib/ has its own HoopAuthError class.)
      if (e != null && e.name === 'HoopAuthError' && typeof e.status === 'number') {
        const data = JSON.stringify({ statusCode: e.status, message: e.message, error: e.kind });
        const response = { data, status: e.status, statusText: '', headers: { 'content-type': 'application/json' }, config, request: {} };
        throw axiosError(o, `Request failed with status code ${e.status}`, config, response, e);
      }
      throw e;
    }
    return settle(o, config, { data: resp.text, status: resp.status, statusText: '', headers: { ...resp.headers }, config, request: {} });
  };
}

module.exports = { axiosAdapter, axiosRequestResource: requestResource, AXIOS_RESOURCE_HEADER: 'X-HoopAuth-Resource' };
