'use strict';
// HoopAuthError and the conversion of native errors. Shared by the Node addon and the WASM
// package: no Node-only APIs here.

const KINDS = [
  'invalid_config', 'invalid_argument', 'invalid_scope', 'authorization_denied',
  'state_mismatch', 'missing_code', 'invalid_grant', 'invalid_client',
  'invalid_request', 'location_inactive', 'unauthorized', 'insufficient_scope',
  'token_type_mismatch', 'forbidden', 'not_found', 'rate_limited', 'server_error',
  'client_error', 'malformed_response', 'unexpected_status', 'invalid_key',
  'store_error', 'store_unavailable',
];
const KIND_SET = new Set(KINDS);

/** Every failure of hoopauth: `kind` is one of SPEC's snake_case error kinds. */
class HoopAuthError extends Error {
  constructor(kind, message, options) {
    const o = options || {};
    super(message, o.cause !== undefined ? { cause: o.cause } : undefined);
    this.name = 'HoopAuthError';
    this.kind = KIND_SET.has(kind) ? kind : 'invalid_argument';
    this.status = typeof o.status === 'number' ? o.status : null;
    this.retryAfterMs = typeof o.retryAfterMs === 'number' ? o.retryAfterMs : null;
  }
}

function kindOfMessage(message) {
  const m = /^([a-z_]+): /.exec(message);
  return m && KIND_SET.has(m[1]) ? m[1] : null;
}

/** Turn whatever a native function threw into a HoopAuthError. */
function toHoopAuthError(e) {
  if (e instanceof HoopAuthError) return e;
  if (e && typeof e === 'object') {
    const message = typeof e.message === 'string' ? e.message : String(e);
    let kind = typeof e.kind === 'string' && KIND_SET.has(e.kind) ? e.kind : kindOfMessage(message);
    if (!kind) kind = 'invalid_argument'; // argument conversion errors (wrong types)
    const msg = kindOfMessage(message) ? message : `${kind}: ${message}`;
    return new HoopAuthError(kind, msg, {
      status: typeof e.status === 'number' ? e.status : null,
      retryAfterMs: typeof e.retryAfterMs === 'number' ? e.retryAfterMs : null,
    });
  }
  const message = String(e);
  const kind = kindOfMessage(message) || 'invalid_argument';
  return new HoopAuthError(kind, kindOfMessage(message) ? message : `${kind}: ${message}`);
}

/** The error a finished call step carries ({kind, message, status, retryAfterMs}). */
function fromErrorInfo(info, cause) {
  if (!info) return new HoopAuthError('unexpected_status', 'unexpected_status: the call failed', { cause });
  return new HoopAuthError(info.kind, info.message, { status: info.status, retryAfterMs: info.retryAfterMs, cause });
}

/** Call fn, converting any throw into a HoopAuthError. */
function wrapNative(fn) {
  try {
    return fn();
  } catch (e) {
    throw toHoopAuthError(e);
  }
}

module.exports = { HoopAuthError, KINDS, toHoopAuthError, fromErrorInfo, wrapNative };
