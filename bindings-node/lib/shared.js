'use strict';
// Coordinated mode (many processes, one client): the shared stores a Client takes as
// `shared`. A store keeps one record per resource (the core's format: token session + rate
// limiter, sealed when the client has keys) and offers a read at the store's clock and a
// compare-and-set on the record's revision; the core decides everything, the client runs
// each step as a transaction on it (client.js). The Redis scripts, key names and time-to-live
// come from the core through the native module: never copied here.
//
// No Redis code is loaded by this file: RedisStore takes the application's own ioredis
// client (Redis or Cluster), so the same file serves the Node addon and the WASM package.

const { HoopAuthError } = require('./errors.js');

const DEFAULT_PREFIX = 'hoopauth:';
const DEFAULT_TIMEOUT_MS = 1000;
// ioredis connection states: known down (fail at once), and on the way up (wait, bounded).
const DOWN = new Set(['reconnecting', 'close', 'end']);
const COMING = new Set(['connecting', 'connect']);

function unavailable(what, cause) {
  const why = cause && cause.message ? `: ${String(cause.message).slice(0, 160)}` : '';
  return new HoopAuthError('store_unavailable', `store_unavailable: the shared store is unreachable (${what}${why})`, { cause });
}

function failed(what, cause) {
  const why = cause && cause.message ? `: ${String(cause.message).slice(0, 160)}` : '';
  return new HoopAuthError('store_error', `store_error: the shared store failed (${what}${why})`, { cause });
}

function checkTtl(ttlMs) {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) {
    throw new HoopAuthError('invalid_argument', 'invalid_argument: ttlMs must be a positive whole number of milliseconds');
  }
  return ttlMs;
}

function checkId(id, what) {
  if (typeof id !== 'string' || id === '') {
    throw new HoopAuthError('invalid_argument', `invalid_argument: ${what} must be a non-empty string`);
  }
  return id;
}

/** The `webhookId` of a delivery body (string or bytes), or null. */
function webhookIdOf(body) {
  let text = body;
  try {
    if (typeof text !== 'string') text = new TextDecoder().decode(text);
    const obj = JSON.parse(text);
    if (obj == null || typeof obj !== 'object' || Array.isArray(obj)) return null;
    const v = obj.webhookId;
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return JSON.stringify(v);
  } catch { /* not JSON: no id */ }
  return null;
}

function makeShared(ctx) {
  const { native, WebhookVerifier, wrapNative: w, redactClass } = ctx;
  const READ_SCRIPT = w(() => native.redisReadScript());
  const CAS_SCRIPT = w(() => native.redisCasScript());
  const TTL_MS = w(() => native.sharedTtlMs());
  const redisKey = (prefix, id) => w(() => native.redisKey(prefix, id));
  const redisWebhookKey = (prefix, id) => w(() => native.redisWebhookKey(prefix, id));

  /**
   * A shared store on Redis through the application's ioredis client (`new Redis(url, {
   * enableOfflineQueue: false, maxRetriesPerRequest: 0 })` fails fast while Redis is down; a
   * `Cluster` works the same: each resource's keys sit in one hash slot). Keys:
   * `{prefix}{<resource>}` (a hash rev/data, expiring SHARED_TTL_MS after its last write) and
   * `{prefix}webhook:{<id>}`. Shared decisions use the Redis server's clock (TIME).
   */
  class RedisStore {
    #client; #prefix; #timeoutMs;
    constructor(client, options) {
      const o = options || {};
      if (client == null || typeof client !== 'object' || typeof client.defineCommand !== 'function') {
        throw new HoopAuthError('invalid_config',
          'invalid_config: RedisStore needs an ioredis client (new Redis(...) or new Redis.Cluster(...))');
      }
      const prefix = o.prefix == null ? DEFAULT_PREFIX : o.prefix;
      if (typeof prefix !== 'string') throw new HoopAuthError('invalid_config', 'invalid_config: prefix must be a string');
      const t = o.timeoutMs == null ? DEFAULT_TIMEOUT_MS : o.timeoutMs;
      if (!Number.isFinite(t) || t <= 0) throw new HoopAuthError('invalid_config', 'invalid_config: timeoutMs must be a positive number');
      this.#client = client;
      this.#prefix = prefix;
      this.#timeoutMs = t;
      // EVALSHA with a fallback to EVAL (ioredis caches the script's digest); once per client.
      if (typeof client.hoopauthRead !== 'function') client.defineCommand('hoopauthRead', { numberOfKeys: 1, lua: READ_SCRIPT });
      if (typeof client.hoopauthCas !== 'function') client.defineCommand('hoopauthCas', { numberOfKeys: 1, lua: CAS_SCRIPT });
    }

    get prefix() { return this.#prefix; }
    get client() { return this.#client; }

    /** The Redis key of `resourceId`'s record. */
    key(resourceId) { return redisKey(this.#prefix, checkId(resourceId, 'resourceId')); }
    webhookKey(webhookId) { return redisWebhookKey(this.#prefix, checkId(webhookId, 'webhookId')); }

    /** Run one command: fast store_unavailable while the connection is down, or after timeoutMs. */
    async #op(what, run) {
      const c = this.#client;
      if (c.status === 'wait') {
        // lazyConnect: connect now (bounded like any command).
        await this.#bounded(what, c.connect().catch((e) => { if (c.status !== 'ready') throw e; }));
      } else if (DOWN.has(c.status)) {
        throw unavailable(what, new Error(`connection ${c.status}`));
      } else if (COMING.has(c.status) && typeof c.once === 'function') {
        // A first connection (or a reconnection) under way: wait for it, bounded.
        await this.#bounded(what, new Promise((resolve, reject) => {
          const done = (ok) => () => {
            for (const [ev, fn] of handlers) c.removeListener(ev, fn);
            if (ok) resolve(); else reject(new Error(`connection ${c.status}`));
          };
          const handlers = [['ready', done(true)], ['close', done(false)], ['end', done(false)]];
          for (const [ev, fn] of handlers) c.once(ev, fn);
        }));
      }
      return this.#bounded(what, run());
    }

    #bounded(what, p) {
      let timer;
      const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(unavailable(what, new Error(`no answer in ${this.#timeoutMs} ms`))), this.#timeoutMs);
      });
      return Promise.race([p, limit]).then(
        (v) => { clearTimeout(timer); return v; },
        (e) => {
          clearTimeout(timer);
          if (e instanceof HoopAuthError) throw e;
          // A Redis error reply (wrong type, script error) is the store failing, anything else
          // (connection closed, refused, offline queue off, retries exhausted) unreachable.
          if (e && e.name === 'ReplyError') throw failed(what, e);
          throw unavailable(what, e);
        },
      );
    }

    /** `{rev, data, nowMs}`: the record (null when absent), its revision (0 when absent), the server's clock. */
    async read(resourceId) {
      const key = this.key(resourceId);
      const r = await this.#op('read', () => this.#client.hoopauthRead(key));
      if (!Array.isArray(r) || r.length < 4) throw failed('read', new Error('unexpected reply'));
      const data = r[1] == null || r[1] === false ? null : String(r[1]);
      return { rev: Number(r[0]) || 0, data, nowMs: Number(r[2]) * 1000 + Math.floor(Number(r[3]) / 1000) };
    }

    /** Write `data` if the record is still at `rev`; false when another process wrote first. */
    async cas(resourceId, rev, data) {
      const key = this.key(resourceId);
      const r = await this.#op('compare-and-set', () => this.#client.hoopauthCas(key, String(rev), data, String(TTL_MS)));
      return Number(r) === 1;
    }

    async delete(resourceId) {
      const key = this.key(resourceId);
      await this.#op('delete', () => this.#client.del(key));
    }

    /** Mark `webhookId` as seen for `ttlMs`; true when no process had seen it. */
    async seenFirst(webhookId, ttlMs) {
      const key = this.webhookKey(webhookId);
      checkTtl(ttlMs);
      const r = await this.#op('webhook', () => this.#client.set(key, '1', 'PX', ttlMs, 'NX'));
      return r === 'OK';
    }

    /** Un-mark `webhookId` (its handling failed): the platform's retry is handled in full. */
    async forgetSeen(webhookId) {
      const key = this.webhookKey(webhookId);
      await this.#op('webhook', () => this.#client.del(key));
    }

    /** The server's clock (TIME), Unix ms. */
    async nowMs() {
      const r = await this.#op('time', () => this.#client.time());
      return Number(r[0]) * 1000 + Math.floor(Number(r[1]) / 1000);
    }
  }
  redactClass(RedisStore, (s) => ({ prefix: s.prefix }));

  /**
   * A shared store in this process's memory: the same interface, for tests and for several
   * clients in one process. `now` (default Date.now) is its clock.
   */
  class MemorySharedStore {
    #records = new Map(); #seen = new Map(); #now;
    constructor(options) {
      const o = options || {};
      this.#now = typeof o.now === 'function' ? o.now : Date.now;
    }
    read(resourceId) {
      checkId(resourceId, 'resourceId');
      const now = this.#now();
      const r = this.#records.get(resourceId);
      if (r == null || r.expiresAt <= now) return { rev: r ? r.rev : 0, data: null, nowMs: now };
      return { rev: r.rev, data: r.data, nowMs: now };
    }
    cas(resourceId, rev, data) {
      checkId(resourceId, 'resourceId');
      if (typeof data !== 'string') throw new HoopAuthError('invalid_argument', 'invalid_argument: data must be a string');
      const r = this.#records.get(resourceId);
      const cur = r ? r.rev : 0;
      if (cur !== rev) return false;
      this.#records.set(resourceId, { rev: cur + 1, data, expiresAt: this.#now() + TTL_MS });
      return true;
    }
    delete(resourceId) { this.#records.delete(resourceId); }
    seenFirst(webhookId, ttlMs) {
      checkId(webhookId, 'webhookId');
      checkTtl(ttlMs);
      const now = this.#now();
      const until = this.#seen.get(webhookId);
      if (until != null && until > now) return false;
      this.#seen.set(webhookId, now + ttlMs);
      if (this.#seen.size > 10000) for (const [k, t] of this.#seen) if (t <= now) this.#seen.delete(k);
      return true;
    }
    forgetSeen(webhookId) {
      checkId(webhookId, 'webhookId');
      this.#seen.delete(webhookId);
    }
    nowMs() { return this.#now(); }
    get size() { return this.#records.size; }
  }
  redactClass(MemorySharedStore, (s) => ({ resources: s.size }));

  /**
   * Webhook verification whose duplicate detection is shared through a store: a `webhookId`
   * accepted by any process is a `duplicate` everywhere for twice the replay window. The core
   * checks signature and age first; only valid deliveries are marked. `verify` is async.
   */
  class SharedWebhookVerifier {
    #store; #inner; #maxAgeMs;
    constructor(store, options) {
      if (store == null || typeof store.seenFirst !== 'function') {
        throw new HoopAuthError('invalid_config', 'invalid_config: SharedWebhookVerifier needs a shared store with seenFirst()');
      }
      const o = options || {};
      this.#store = store;
      this.#maxAgeMs = o.maxAgeMs == null ? DEFAULT_MAX_AGE_MS : o.maxAgeMs;
      this.#inner = new WebhookVerifier({ ...o, maxAgeMs: this.#maxAgeMs, capacity: 0 });
    }
    get maxAgeMs() { return this.#maxAgeMs; }
    /** `{valid, reason}`: ok, bad_signature, stale, … or `duplicate` (seen by any process).
     *  Rejects with store_unavailable when the store cannot be reached. */
    async verify(body, headers, nowMs) {
      const v = this.#inner.verify(body, headers, nowMs);
      if (!v.valid) return v;
      const id = webhookIdOf(body);
      if (id != null && !(await this.#store.seenFirst(id, 2 * this.#maxAgeMs))) return { valid: false, reason: 'duplicate' };
      return v;
    }
  }
  redactClass(SharedWebhookVerifier, (v) => ({ maxAgeMs: v.maxAgeMs }));

  return {
    RedisStore,
    MemorySharedStore,
    SharedWebhookVerifier,
    REDIS_READ_SCRIPT: READ_SCRIPT,
    REDIS_CAS_SCRIPT: CAS_SCRIPT,
    SQLITE_SCHEMA: w(() => native.sqliteSchema()),
    SHARED_TTL_MS: TTL_MS,
    SHARED_LEASE_MS: w(() => native.sharedLeaseMs()),
    redisKey: (prefix, resourceId) => redisKey(prefix, resourceId),
    redisWebhookKey: (prefix, webhookId) => redisWebhookKey(prefix, webhookId),
  };
}

/** The core's default replay window of a webhook delivery (ms). */
const DEFAULT_MAX_AGE_MS = 300000;

module.exports = { makeShared, webhookIdOf, DEFAULT_PREFIX };
