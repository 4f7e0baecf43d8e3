'use strict';
// Plain-data normalisation shared by api.js and client.js (no Node-only APIs).

/** null → undefined: the native side reads absent optional fields as undefined. */
function opt(v) {
  return v == null ? undefined : v;
}

/** HeadersInit (record, pairs, or anything with forEach(value, key)) → [[name, value], ...]. */
function toPairs(h) {
  if (h == null) return [];
  if (Array.isArray(h)) {
    const out = new Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = [String(h[i][0]), String(h[i][1])];
    return out;
  }
  if (typeof h.forEach === 'function') {
    const out = [];
    h.forEach((value, key) => out.push([String(key), String(value)]));
    return out;
  }
  const out = [];
  for (const k of Object.keys(h)) if (h[k] != null) out.push([k, String(h[k])]);
  return out;
}

const NO_HEADERS = [];

/** HttpResponseInit → the native response shape. */
function toResponse(r) {
  if (r == null || typeof r !== 'object') return { status: 0, headers: NO_HEADERS, body: '' };
  return {
    status: r.status,
    headers: r.headers == null ? NO_HEADERS : toPairs(r.headers),
    body: r.body == null ? '' : String(r.body),
  };
}

/** Query as a record or pairs → pairs; null/undefined values are left out. */
function toQuery(q) {
  if (q == null) return null;
  if (Array.isArray(q)) return q.map((p) => [String(p[0]), String(p[1])]);
  const out = [];
  for (const k of Object.keys(q)) if (q[k] != null) out.push([k, String(q[k])]);
  return out;
}

/** ApiRequestOptions → the native shape (query as pairs, json as text). */
function toApiRequest(o, accessToken) {
  if (o == null || typeof o !== 'object') o = {};
  const out = {
    method: o.method == null ? 'GET' : String(o.method),
    path: o.path,
    query: opt(toQuery(o.query)),
    json: o.json === undefined ? undefined : JSON.stringify(o.json),
    version: opt(o.version),
  };
  if (accessToken !== undefined) out.accessToken = accessToken;
  return out;
}

/** Response headers as a record with lower-case names (repeats joined with ", "). */
function headerRecord(pairs) {
  const out = {};
  for (const [k, v] of pairs) {
    const n = k.toLowerCase();
    out[n] = n in out ? `${out[n]}, ${v}` : v;
  }
  return out;
}

function randomBytes(n) {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== 'function') {
    throw new Error('invalid_argument: no crypto.getRandomValues here: pass random bytes');
  }
  return c.getRandomValues(new Uint8Array(n));
}

module.exports = { opt, toPairs, toResponse, toQuery, toApiRequest, headerRecord, randomBytes };

/** A TokenSet (possibly partial, e.g. from a user's store) → the full native shape. */
function toTokenInput(t) {
  if (t == null || typeof t !== 'object') t = {};
  const n = (v) => (v == null ? null : v);
  return {
    accessToken: t.accessToken,
    tokenType: n(t.tokenType),
    expiresIn: n(t.expiresIn),
    expiresAtMs: n(t.expiresAtMs),
    refreshToken: n(t.refreshToken),
    scopes: Array.isArray(t.scopes) ? t.scopes : [],
    userType: n(t.userType),
    locationId: n(t.locationId),
    companyId: n(t.companyId),
    approvedLocations: n(t.approvedLocations),
    planId: n(t.planId),
    isBulkInstallation: n(t.isBulkInstallation),
    userId: n(t.userId),
    extra: t.extra != null && typeof t.extra === 'object' ? t.extra : {},
  };
}
module.exports.toTokenInput = toTokenInput;
