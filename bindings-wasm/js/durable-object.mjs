// Coordinated mode on Cloudflare Workers: the shared store on Durable Objects.
// (Copied into the package as durable-object.mjs by build.sh; import
// '@hoopauth/wasm/durable-object'.)
//
//   HoopAuthStore       the Durable Object class: holds records and seen webhook ids in its
//                       storage and answers read / compare-and-set / delete / seen / unseen / now.
//                       No rule of the protocol lives here (like the Redis scripts): a read
//                       returns the record, its revision and the object's clock; a
//                       compare-and-set writes when the revision still matches.
//   DurableObjectStore  the store a Client takes as `shared` (the interface of RedisStore and
//                       MemorySharedStore: read, cas, delete, seenFirst, forgetSeen, nowMs), talking to
//                       the objects through their stubs' fetch.
//
// One object per resource (location or company): each resource's record lives in its own
// object, so resources never queue behind each other, an object's single thread serialises
// only the steps of one resource, and a busy app spreads over many objects. Webhook ids are
// spread over a fixed number of objects by a hash of the id; the store's clock for
// exchanges is one object's (`<prefix>clock`).
//
// An object handles one event at a time, and its storage calls inside a transaction commit
// together: a read and the compare-and-set that follows are atomic per resource. The time of
// a read is the object's Date.now(), which every worker that shares the record uses for its
// shared decisions.
import build from './lib.mjs';
import * as api from './index.mjs';

const { HoopAuthError } = build;

const RECORD = 'r:';
const SEEN = 'w:';
const DEFAULT_PREFIX = 'hoopauth:';
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_WEBHOOK_OBJECTS = 16;
// Expired entries are deleted by an alarm at the earliest expiry, at most once a minute.
const PURGE_EVERY_MS = 60_000;
const PAGE = 1000;
const ORIGIN = 'https://hoopauth-store.internal/';

class BadRequest extends Error {}

const isId = (v) => typeof v === 'string' && v !== '' && v.length <= 2048;
const isMs = (v) => Number.isInteger(v) && v > 0;
const live = (entry, now) => entry != null && (entry.exp == null || entry.exp > now);

/**
 * The Durable Object class. Export it from the worker's main module and bind it (wrangler:
 * `[[durable_objects.bindings]] name = "HOOPAUTH_STORE", class_name = "HoopAuthStore"`, and a
 * migration that adds the class). Requests: POST JSON `{op, ...}` from DurableObjectStore.
 */
export class HoopAuthStore {
  #storage; #alarmAt = undefined;

  constructor(state, env) {
    if (state == null || state.storage == null) {
      throw new HoopAuthError('invalid_config', 'invalid_config: HoopAuthStore is a Durable Object class: it needs state.storage (a namespace with storage, not ephemeral)');
    }
    this.#storage = state.storage;
    void env;
  }

  async fetch(request) {
    let msg;
    try {
      msg = await request.json();
    } catch {
      return Response.json({ error: 'the request is not JSON' }, { status: 400 });
    }
    try {
      return Response.json(await this.#handle(msg == null || typeof msg !== 'object' ? {} : msg));
    } catch (e) {
      const status = e instanceof BadRequest ? 400 : 500;
      return Response.json({ error: String((e && e.message) || e).slice(0, 200) }, { status });
    }
  }

  async #handle(m) {
    const s = this.#storage;
    switch (m.op) {
      case 'read': {
        if (!isId(m.id)) throw new BadRequest('read: id must be a non-empty string');
        const entry = await s.get(RECORD + m.id);
        const now = Date.now();
        if (!live(entry, now)) return { rev: 0, data: null, nowMs: now };
        return { rev: entry.rev, data: entry.data, nowMs: now };
      }
      case 'cas': {
        if (!isId(m.id)) throw new BadRequest('cas: id must be a non-empty string');
        if (!Number.isInteger(m.rev) || m.rev < 0) throw new BadRequest('cas: rev must be a whole number');
        if (typeof m.data !== 'string') throw new BadRequest('cas: data must be a string');
        if (!isMs(m.ttlMs)) throw new BadRequest('cas: ttlMs must be a positive whole number');
        const key = RECORD + m.id;
        const exp = await s.transaction(async (txn) => {
          const entry = await txn.get(key);
          const now = Date.now();
          const cur = live(entry, now) ? entry.rev : 0;
          if (cur !== m.rev) return null;
          const until = now + m.ttlMs;
          await txn.put(key, { rev: cur + 1, data: m.data, exp: until });
          return until;
        });
        if (exp != null) await this.#arm(exp);
        return { ok: exp != null };
      }
      case 'delete': {
        if (!isId(m.id)) throw new BadRequest('delete: id must be a non-empty string');
        await s.delete(RECORD + m.id);
        return { ok: true };
      }
      case 'seen': {
        if (!isId(m.id)) throw new BadRequest('seen: id must be a non-empty string');
        if (!isMs(m.ttlMs)) throw new BadRequest('seen: ttlMs must be a positive whole number');
        const key = SEEN + m.id;
        const exp = await s.transaction(async (txn) => {
          const entry = await txn.get(key);
          const now = Date.now();
          if (live(entry, now)) return null;
          const until = now + m.ttlMs;
          await txn.put(key, { exp: until });
          return until;
        });
        if (exp != null) await this.#arm(exp);
        return { first: exp != null };
      }
      case 'unseen': {
        if (!isId(m.id)) throw new BadRequest('unseen: id must be a non-empty string');
        await s.delete(SEEN + m.id);
        return { ok: true };
      }
      case 'now':
        return { nowMs: Date.now() };
      default:
        throw new BadRequest(`unknown op ${JSON.stringify(String(m.op)).slice(0, 40)}`);
    }
  }

  /** An alarm no later than `exp` (and no sooner than a minute from now) deletes expired entries. */
  async #arm(exp) {
    const s = this.#storage;
    if (typeof s.setAlarm !== 'function') return;
    if (this.#alarmAt === undefined) this.#alarmAt = await s.getAlarm();
    const at = Math.max(exp, Date.now() + PURGE_EVERY_MS);
    if (this.#alarmAt != null && this.#alarmAt <= at) return;
    await s.setAlarm(at);
    this.#alarmAt = at;
  }

  async alarm() {
    const s = this.#storage;
    this.#alarmAt = null;
    const now = Date.now();
    let next = null;
    for (const prefix of [RECORD, SEEN]) {
      let after;
      for (;;) {
        const page = await s.list(after === undefined ? { prefix, limit: PAGE } : { prefix, limit: PAGE, startAfter: after });
        const dead = [];
        for (const [key, entry] of page) {
          after = key;
          if (!live(entry, now)) dead.push(key);
          else if (entry.exp != null && (next == null || entry.exp < next)) next = entry.exp;
        }
        for (let i = 0; i < dead.length; i += 128) await s.delete(dead.slice(i, i + 128));
        if (page.size < PAGE) break;
      }
    }
    if (next != null) await this.#arm(next);
  }
}

/** FNV-1a of a string (the webhook object of an id). */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function unavailable(what, cause) {
  const why = cause && cause.message ? `: ${String(cause.message).slice(0, 160)}` : '';
  return new HoopAuthError('store_unavailable', `store_unavailable: the shared store is unreachable (${what}${why})`, { cause });
}

function failed(what, why, cause) {
  return new HoopAuthError('store_error', `store_error: the shared store failed (${what}: ${String(why).slice(0, 160)})`, { cause });
}

function checkId(id, what) {
  if (!isId(id)) {
    throw new HoopAuthError('invalid_argument', `invalid_argument: ${what} must be a non-empty string (at most 2048 characters)`);
  }
  return id;
}

/**
 * The shared store of coordinated mode over HoopAuthStore objects: `new Client({ app,
 * shared: new DurableObjectStore(env.HOOPAUTH_STORE), keys })`. Each resource's record is in
 * the object named `<prefix><resourceId>`. An object that cannot be reached (its call
 * rejects, or no answer within `timeoutMs`) fails with `store_unavailable`; one that answers
 * with an error (its storage failed, a bad request) with `store_error`.
 */
export class DurableObjectStore {
  #ns; #prefix; #timeoutMs; #webhookObjects;

  constructor(namespace, options) {
    if (namespace == null || typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
      throw new HoopAuthError('invalid_config',
        'invalid_config: DurableObjectStore needs a Durable Object namespace binding (env.HOOPAUTH_STORE) of the HoopAuthStore class');
    }
    const o = options || {};
    const prefix = o.prefix == null ? DEFAULT_PREFIX : o.prefix;
    if (typeof prefix !== 'string') throw new HoopAuthError('invalid_config', 'invalid_config: prefix must be a string');
    const t = o.timeoutMs == null ? DEFAULT_TIMEOUT_MS : o.timeoutMs;
    if (!Number.isFinite(t) || t <= 0) throw new HoopAuthError('invalid_config', 'invalid_config: timeoutMs must be a positive number');
    const n = o.webhookObjects == null ? DEFAULT_WEBHOOK_OBJECTS : o.webhookObjects;
    if (!Number.isInteger(n) || n < 1) throw new HoopAuthError('invalid_config', 'invalid_config: webhookObjects must be a positive whole number');
    this.#ns = namespace;
    this.#prefix = prefix;
    this.#timeoutMs = t;
    this.#webhookObjects = n;
  }

  get prefix() { return this.#prefix; }
  get timeoutMs() { return this.#timeoutMs; }

  /** The name of the object holding `resourceId`'s record (`namespace.idFromName(name)`). */
  objectName(resourceId) { return this.#prefix + checkId(resourceId, 'resourceId'); }
  /** The name of the object that remembers `webhookId`. */
  webhookObjectName(webhookId) {
    return `${this.#prefix}webhooks:${fnv1a(checkId(webhookId, 'webhookId')) % this.#webhookObjects}`;
  }

  /** One request to the object `name`; its JSON answer. */
  async #call(what, name, body) {
    let stub;
    try {
      stub = this.#ns.get(this.#ns.idFromName(name));
    } catch (e) {
      throw unavailable(what, e);
    }
    let timer;
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(unavailable(what, new Error(`no answer in ${this.#timeoutMs} ms`))), this.#timeoutMs);
    });
    const answer = (async () => {
      let res;
      try {
        res = await stub.fetch(ORIGIN, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      } catch (e) {
        // The object could not be reached, was reset or overloaded, or threw.
        throw unavailable(what, e);
      }
      let out;
      try {
        out = await res.json();
      } catch (e) {
        throw failed(what, `an answer that is not JSON (HTTP ${res.status})`, e);
      }
      if (!res.ok) throw failed(what, (out && out.error) || `HTTP ${res.status}`);
      if (out == null || typeof out !== 'object') throw failed(what, 'an unexpected answer');
      return out;
    })();
    try {
      return await Promise.race([answer, limit]);
    } finally {
      clearTimeout(timer);
      answer.catch(() => {});
    }
  }

  /** `{rev, data, nowMs}`: the record (null when absent), its revision (0 when absent), the object's clock. */
  async read(resourceId) {
    const r = await this.#call('read', this.objectName(resourceId), { op: 'read', id: resourceId });
    if (!Number.isInteger(r.rev) || !Number.isFinite(r.nowMs) || (r.data != null && typeof r.data !== 'string')) {
      throw failed('read', 'an unexpected answer');
    }
    return { rev: r.rev, data: r.data == null ? null : r.data, nowMs: r.nowMs };
  }

  /** Write `data` if the record is still at `rev`; false when another worker wrote first. */
  async cas(resourceId, rev, data) {
    const name = this.objectName(resourceId);
    if (typeof data !== 'string') throw new HoopAuthError('invalid_argument', 'invalid_argument: data must be a string');
    const ttlMs = api.SHARED_TTL_MS;
    if (!Number.isInteger(ttlMs)) throw new HoopAuthError('invalid_config', 'invalid_config: the package is not initialised (await init() first)');
    const r = await this.#call('compare-and-set', name, { op: 'cas', id: resourceId, rev: Number(rev), data, ttlMs });
    if (typeof r.ok !== 'boolean') throw failed('compare-and-set', 'an unexpected answer');
    return r.ok;
  }

  async delete(resourceId) {
    await this.#call('delete', this.objectName(resourceId), { op: 'delete', id: resourceId });
  }

  /** Mark `webhookId` as seen for `ttlMs`; true when no worker had seen it. */
  async seenFirst(webhookId, ttlMs) {
    const name = this.webhookObjectName(webhookId);
    if (!isMs(ttlMs)) throw new HoopAuthError('invalid_argument', 'invalid_argument: ttlMs must be a positive whole number of milliseconds');
    const r = await this.#call('webhook', name, { op: 'seen', id: webhookId, ttlMs });
    if (typeof r.first !== 'boolean') throw failed('webhook', 'an unexpected answer');
    return r.first;
  }

  /** Un-mark `webhookId` (its handling failed): the platform's retry is handled in full. */
  async forgetSeen(webhookId) {
    const name = this.webhookObjectName(webhookId);
    await this.#call('webhook', name, { op: 'unseen', id: webhookId });
  }

  /** The store's clock (the `<prefix>clock` object's Date.now()), Unix ms. */
  async nowMs() {
    const r = await this.#call('time', `${this.#prefix}clock`, { op: 'now' });
    if (!Number.isFinite(r.nowMs)) throw failed('time', 'an unexpected answer');
    return r.nowMs;
  }

  toJSON() { return { prefix: this.#prefix }; }
  toString() { return `DurableObjectStore { prefix: ${JSON.stringify(this.#prefix)} }`; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }
}
