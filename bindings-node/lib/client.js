'use strict';
// The fetch driver: a short loop around the core's Pool.step / Call (pace, send, classify,
// refresh once, retry), with a pluggable async token store. No protocol rules here: every
// decision comes from the native core. No Node-only APIs.

const { HoopAuthError, wrapNative, fromErrorInfo } = require('./errors.js');
const { toApiRequest, headerRecord, toTokenInput, randomBytes, toPairs } = require('./util.js');
const { webhookIdOf } = require('./shared.js');
const { redactClass: redactStore, REDACTED: HIDDEN } = require('./redact.js');

const START = { type: 'start' };
const RESUME = { type: 'resume' };
const TRANSPORT_ERROR = { type: 'transport_error' };
const CONFLICT = { type: 'conflict' };
const PERSIST_FAILED = { type: 'persist_failed' };
/** How a mint call and a token-only call are reported in events (the requests are the core's). */
const MINT_REQUEST = Object.freeze({ method: 'POST', path: '/oauth/locationToken' });
const TOKEN_REQUEST = Object.freeze({ method: 'TOKEN', path: '' });
/** The core's default replay window of a webhook delivery (webhook::DEFAULT_MAX_AGE_MS, as in
 *  shared.js): seen ids are kept twice as long in a shared store. */
const DEFAULT_WEBHOOK_MAX_AGE_MS = 300000;

/** Free a temporary native object now where the binding can (WASM memory), else leave it to GC. */
function release(obj) {
  if (obj != null && typeof obj.free === 'function') obj.free();
}

function random32() {
  return Math.floor(Math.random() * 0x100000000);
}

// ---- waking other calls ------------------------------------------------------------------
// In Node (and browsers) one call may resolve a promise another call awaits: a freed slot or
// an answer wakes the waiter at once. Cloudflare's workerd refuses that: a promise created in
// one request and resolved from another request's context is dropped and the waiting request
// is cancelled as hung. So, unless the runtime is known to allow it, no call ever resolves
// another call's promise: waiters look at shared state on their own short timers ("poll").

/** 'direct' where one request may wake another (Node), else 'poll' (workerd and unknown runtimes). */
function defaultHandoff() {
  const nav = globalThis.navigator;
  if (nav && typeof nav.userAgent === 'string' && nav.userAgent.startsWith('Cloudflare-Workers')) return 'poll';
  const p = globalThis.process;
  const isNode = p != null && p.versions != null && typeof p.versions.node === 'string' &&
    p.release != null && p.release.name === 'node';
  return isNode ? 'direct' : 'poll';
}

/** The longest a polling waiter sleeps between looks (ms). */
const POLL_MAX_MS = 8;
/** A polling waiter's first look (ms); it doubles up to POLL_MAX_MS. */
const POLL_MIN_MS = 1;

function abortReason(signal) {
  if (signal.reason !== undefined) return signal.reason;
  return makeDomError('This operation was aborted', 'AbortError');
}

function makeDomError(message, name) {
  if (typeof globalThis.DOMException === 'function') return new globalThis.DOMException(message, name);
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * A call's cancellation: the caller's AbortSignal and/or a timeout, as one signal. `null`
 * when the call has neither (no cost on the common path).
 */
class Cancel {
  constructor(signal, timeoutMs) {
    this.aborted = false;
    this.reason = undefined;
    this.listeners = new Set();
    this.signal = signal || null;
    this.timer = null;
    this.onAbort = () => this.abort(abortReason(signal));
    if (signal) {
      if (signal.aborted) { this.abort(abortReason(signal)); return; }
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (timeoutMs != null) {
      this.timer = setTimeout(() => {
        this.abort(makeDomError(`hoopauth: the call took longer than timeoutMs (${timeoutMs} ms)`, 'TimeoutError'));
      }, timeoutMs);
    }
  }
  static of(options) {
    const signal = options ? options.signal : undefined;
    const timeoutMs = options ? options.timeoutMs : undefined;
    if (signal == null && timeoutMs == null) return null;
    if (signal != null && (typeof signal !== 'object' || typeof signal.addEventListener !== 'function' ||
      typeof signal.aborted !== 'boolean')) {
      throw new HoopAuthError('invalid_argument', 'invalid_argument: signal must be an AbortSignal');
    }
    if (timeoutMs != null && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      throw new HoopAuthError('invalid_argument', 'invalid_argument: timeoutMs must be a finite number ≥ 0');
    }
    return new Cancel(signal, timeoutMs);
  }
  abort(reason) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const fn of [...this.listeners]) fn(reason);
    this.listeners.clear();
  }
  /** An AbortSignal for fetch (created on first use). */
  fetchSignal() {
    if (!this.controller) {
      if (typeof globalThis.AbortController !== 'function') return this.signal || undefined;
      this.controller = new globalThis.AbortController();
      if (this.aborted) this.controller.abort(this.reason);
      else this.listeners.add((r) => this.controller.abort(r));
    }
    return this.controller.signal;
  }
  throwIfAborted() {
    if (this.aborted) throw this.reason;
  }
  dispose() {
    if (this.timer != null) clearTimeout(this.timer);
    if (this.signal) this.signal.removeEventListener('abort', this.onAbort);
    this.listeners.clear();
  }
}

/** `p`, or the cancellation's reason when the call is cancelled first (p keeps running). */
function raced(p, cancel) {
  if (cancel == null) return p;
  if (cancel.aborted) {
    Promise.resolve(p).catch(() => {});
    return Promise.reject(cancel.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (r) => reject(r);
    cancel.listeners.add(onAbort);
    Promise.resolve(p).then(
      (v) => { cancel.listeners.delete(onAbort); resolve(v); },
      (e) => { cancel.listeners.delete(onAbort); reject(e); },
    );
  });
}

/** Sleep `ms` on this call's own timer; `wake` (optional) lets another call end it early
 *  (direct hand-off only); cancellation rejects with its reason. */
function sleep(ms, cancel, wake) {
  if (cancel != null && cancel.aborted) return Promise.reject(cancel.reason);
  return new Promise((resolve, reject) => {
    let onAbort = null;
    const done = () => {
      clearTimeout(timer);
      if (wake) wake.delete(done);
      if (onAbort) cancel.listeners.delete(onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (wake) wake.add(done);
    if (cancel != null) {
      onAbort = (r) => {
        clearTimeout(timer);
        if (wake) wake.delete(done);
        reject(r);
      };
      cancel.listeners.add(onAbort);
    }
  });
}

/** An API answer: status, lower-case header record, body text, json(). */
class ApiResponse {
  constructor(status, headers, text) {
    this.status = status;
    this.headers = headers;
    this.text = text;
  }
  json() {
    return JSON.parse(this.text);
  }
}

/**
 * A FIFO counting semaphore: calls take slots in the order they asked. `give` hands a slot to
 * the first waiter by marking it granted; with direct hand-off it also resolves the waiter's
 * promise, else the waiter notices on its own timer.
 */
class Slots {
  #free; #queue = []; #direct;
  constructor(n, direct) { this.#free = n; this.#direct = direct; }
  /** Resolves once the caller holds a slot; on cancellation leaves the queue (or gives back a slot granted meanwhile). */
  take(cancel) {
    if (this.#free > 0 && this.#queue.length === 0) { this.#free--; return null; }
    return this.#wait(cancel);
  }
  async #wait(cancel) {
    const w = { granted: false, wake: null };
    this.#queue.push(w);
    try {
      if (this.#direct) {
        await raced(new Promise((resolve) => { w.wake = resolve; }), cancel);
      } else {
        let d = POLL_MIN_MS;
        while (!w.granted) {
          await sleep(d, cancel);
          if (d < POLL_MAX_MS) d *= 2;
        }
      }
    } catch (e) {
      if (w.granted) this.give();
      else {
        const i = this.#queue.indexOf(w);
        if (i >= 0) this.#queue.splice(i, 1);
      }
      throw e;
    }
  }
  give() {
    const next = this.#queue.shift();
    if (next) {
      next.granted = true;
      if (next.wake) next.wake();
    } else {
      this.#free++;
    }
  }
}

/**
 * Work one call started that others may join (a store load, a location-token mint). The
 * starter awaits its own promise; a joiner awaits it directly only with direct hand-off,
 * else looks at `done` on its own timer.
 */
class Shared {
  constructor(promise) {
    this.done = false;
    this.failed = false;
    this.value = undefined;
    this.error = undefined;
    this.promise = promise.then(
      (v) => { this.done = true; this.value = v; return v; },
      (e) => { this.done = true; this.failed = true; this.error = e; throw e; },
    );
    this.promise.catch(() => {});
  }
  async join(own, direct, cancel) {
    if (!this.done) {
      if (own || direct) {
        await raced(this.promise, cancel).catch((e) => { if (!this.done) throw e; });
      } else {
        let d = POLL_MIN_MS;
        while (!this.done) {
          await sleep(d, cancel);
          if (d < POLL_MAX_MS) d *= 2;
        }
      }
    }
    if (this.failed) throw this.error;
    return this.value;
  }
}

/** Token sessions in process memory (the default store). */
class MemoryTokenStore {
  #map = new Map();
  get(resourceId) { return this.#map.has(resourceId) ? this.#map.get(resourceId) : null; }
  set(resourceId, stored) { this.#map.set(resourceId, stored); }
  delete(resourceId) { this.#map.delete(resourceId); }
  get size() { return this.#map.size; }
}
redactStore(MemoryTokenStore, (m) => ({ resources: m.size, sessions: HIDDEN }));

function makeClient(ctx) {
  const { native, NATIVE, asApp, parseCallback, parseTokenResponse, redactClass, REDACTED } = ctx;
  const w = wrapNative;

  /** Whether a token endpoint answer is invalid_grant (the refresh token was refused). */
  function isInvalidGrant(response, now) {
    if (!response || response.status < 400) return false;
    try {
      parseTokenResponse(response, now);
    } catch (e) {
      return e instanceof HoopAuthError && e.kind === 'invalid_grant';
    }
    return false;
  }

  class Client {
    #app; #pool; #store; #fetch; #now; #callOptions; #slots; #direct;
    #loading = new Map();      // resourceId → Shared: the first load from the store
    #waiters = new Map();      // resourceId → Set of wake-up functions (direct hand-off only)
    #answers = new Map();      // resourceId → count of answers, saves and aborts seen (poll wake-ups)
    #persisting = new Map();   // resourceId → persists in flight in this process
    #minting = new Map();      // company + location → Shared: the location-token mint in flight
    #coordinate = false;       // call.coordinateRefresh: the store is shared between processes
    #stats = { sends: 0, refreshes: 0, waits: 0, retries: 0, mints: 0 };
    // Coordinated mode (`shared`): the store, each resource's record as last read or written
    // (to write back what a store lost), one transaction at a time per resource in this process.
    #shared = null;
    #records = new Map();
    #txnLocks = new Map();
    #pendingAborts = new Map(); // resourceId → calls that ended while the store was down
    #onEvent = null;           // options.onEvent: called with each event (never a secret)
    #webhookOptions = null;    // options.webhook: the verification key(s) and replay window
    #verifier = null;          // built from #webhookOptions on the first handleWebhook

    constructor(options) {
      const o = options || {};
      if (o.app == null) throw new HoopAuthError('invalid_config', 'invalid_config: Client needs `app`');
      this.#app = asApp(o.app);
      if (o.shared != null) {
        if (o.store != null) {
          throw new HoopAuthError('invalid_config', 'invalid_config: give either store (one process) or shared (coordinated mode), not both');
        }
        for (const m of ['read', 'cas']) {
          if (typeof o.shared[m] !== 'function') {
            throw new HoopAuthError('invalid_config', `invalid_config: shared must be a shared store (RedisStore, MemorySharedStore): it has no ${m}()`);
          }
        }
        this.#shared = o.shared;
        this.#stats.storeReads = 0;
        this.#stats.storeWrites = 0;
        this.#stats.lostRaces = 0;
      } else if (o.keys != null) {
        throw new HoopAuthError('invalid_config', 'invalid_config: keys seal the records of a shared store: give shared too');
      }
      this.#store = o.store || new MemoryTokenStore();
      if (typeof this.#store.get !== 'function' || typeof this.#store.set !== 'function') {
        throw new HoopAuthError('invalid_config', 'invalid_config: store needs get(resourceId) and set(resourceId, stored)');
      }
      const f = o.fetch || globalThis.fetch;
      if (typeof f !== 'function') throw new HoopAuthError('invalid_config', 'invalid_config: no fetch available');
      this.#fetch = o.fetch ? f : f.bind(globalThis);
      this.#now = typeof o.now === 'function' ? o.now : Date.now;
      if (o.onEvent != null) {
        if (typeof o.onEvent !== 'function') throw new HoopAuthError('invalid_config', 'invalid_config: onEvent must be a function');
        this.#onEvent = o.onEvent;
      }
      if (o.webhook != null) {
        if (typeof o.webhook !== 'object') throw new HoopAuthError('invalid_config', 'invalid_config: webhook must be {publicKey?, legacyRsaKey?, maxAgeMs?}');
        this.#webhookOptions = { ...o.webhook };
      }
      this.#callOptions = o.call || null;
      this.#coordinate = !!(o.call && o.call.coordinateRefresh);
      const inFlight = o.maxInFlight == null ? 16 : o.maxInFlight;
      if (!Number.isInteger(inFlight) || inFlight < 1) {
        throw new HoopAuthError('invalid_config', 'invalid_config: maxInFlight must be a positive integer');
      }
      const handoff = o.handoff == null ? defaultHandoff() : o.handoff;
      if (handoff !== 'direct' && handoff !== 'poll') {
        throw new HoopAuthError('invalid_config', "invalid_config: handoff must be 'direct' or 'poll'");
      }
      this.#direct = handoff === 'direct';
      // A call holds a slot while it steps and sends, not while it waits: a send the core
      // allowed goes out at once, so the time the core counted is the time it left.
      this.#slots = new Slots(inFlight, this.#direct);
      this.#pool = w(() => new native.Pool(this.#app[NATIVE], o.session || null, o.limits || null));
      if (o.keys != null) {
        const keys = o.keys;
        if (!Array.isArray(keys) || keys.some((k) => !(k instanceof Uint8Array) || k.length !== 32)) {
          throw new HoopAuthError('invalid_config', 'invalid_config: keys must be an array of 32-byte Uint8Arrays (the first seals, every one opens)');
        }
        w(() => this.#pool.setKeys(keys.map((k) => new Uint8Array(k))));
      }
    }

    /** The shared store of coordinated mode, or null. */
    get shared() { return this.#shared; }

    get app() { return this.#app; }

    /** 'direct' (one call wakes another: Node) or 'poll' (each waiter looks on its own timer: workerd). */
    get handoff() { return this.#direct ? 'direct' : 'poll'; }

    authorizationUrl(options) { return this.#app.authorizationUrl(options); }

    stats() { return { ...this.#stats }; }

    /** Report one event to options.onEvent (only ids, names, statuses and timings: never a
     *  secret). Callers check `this.#onEvent` first, so no hook costs no allocation. A hook
     *  that throws is ignored: it never breaks a call. */
    #emit(event, resourceId, fields) {
      const hook = this.#onEvent;
      if (hook == null) return;
      const ev = { event, resource: String(resourceId) };
      if (fields != null) Object.assign(ev, fields);
      try {
        const r = hook(ev);
        if (r != null && typeof r.then === 'function') r.then(null, () => {});
      } catch { /* a broken hook must not break calls */ }
    }

    async #send(req, cancel) {
      const init = { method: req.method, headers: req.headers };
      if (req.body !== '') init.body = req.body;
      if (cancel != null) init.signal = cancel.fetchSignal();
      const r = await this.#fetch(req.url, init);
      const body = await r.text();
      const headers = [];
      r.headers.forEach((value, key) => headers.push([key, value]));
      return { status: r.status, headers, body };
    }

    /** Send a one-off token request; a lost connection is a server_error. */
    async #sendToken(req, cancel) {
      try {
        return await this.#send(req, cancel);
      } catch (e) {
        if (cancel != null && cancel.aborted) throw cancel.reason;
        throw new HoopAuthError('server_error', 'server_error: the token request got no answer', { cause: e });
      }
    }

    /** Save what the pool holds for `resourceId` (after an exchange or a load of tokens). When
     *  the save fails or is cancelled, the tokens stay in memory marked unsaved: the next call
     *  (or flush()) saves them before anything else. */
    async #persist(resourceId, cancel) {
      if (this.#shared) {
        const state = this.#pool.storedJson(resourceId);
        await this.#putTxn(resourceId, state == null ? null : () => this.#pool.loadStored(resourceId, state));
        return;
      }
      const stored = this.#pool.storedJson(resourceId);
      this.#loading.set(resourceId, LOADED);
      if (stored == null) return;
      try {
        await raced(this.#store.set(resourceId, stored), cancel);
      } catch (e) {
        try { this.#pool.endSave(resourceId, false); } catch { /* an older native: nothing to mark */ }
        if (this.#onEvent) this.#emit('save_failed', resourceId, { error: errorName(e) });
        if (cancel != null && cancel.aborted) throw cancel.reason;
        throw storeError(null, e);
      }
      if (this.#onEvent) this.#emit('saved', resourceId);
    }

    /** Load a resource's stored session from the store, once per client. */
    #ensureLoaded(resourceId, cancel) {
      let task = this.#loading.get(resourceId);
      if (task === LOADED || (task && task.done && !task.failed)) return null;
      let own = false;
      if (!task) {
        own = true;
        task = new Shared((async () => {
          if (this.#pool.hasSession(resourceId)) return;
          const stored = await this.#store.get(resourceId);
          if (stored != null && !this.#pool.hasSession(resourceId)) {
            w(() => this.#pool.loadStored(resourceId, stored));
          }
        })());
        this.#loading.set(resourceId, task);
        task.promise.catch(() => { if (this.#loading.get(resourceId) === task) this.#loading.delete(resourceId); });
      }
      return task.join(own, this.#direct, cancel);
    }

    /** Something changed for `resourceId` (an answer, a save, an abort): wake its waiters. */
    #changed(resourceId) {
      this.#answers.set(resourceId, (this.#answers.get(resourceId) || 0) + 1);
      const set = this.#waiters.get(resourceId);
      if (!set || set.size === 0) return;
      for (const fn of [...set]) fn();
    }

    /**
     * Wait `ms` (the step's waitMs, exactly), ending early when an answer, a save or an abort
     * for `resourceId` comes: direct hand-off lets that call wake this one; otherwise this call
     * looks on its own short timer.
     */
    async #waitFor(resourceId, ms, cancel) {
      if (this.#direct) {
        let set = this.#waiters.get(resourceId);
        if (!set) this.#waiters.set(resourceId, (set = new Set()));
        try {
          await sleep(ms, cancel, set);
        } finally {
          if (set.size === 0 && this.#waiters.get(resourceId) === set) this.#waiters.delete(resourceId);
        }
        return;
      }
      const seen = this.#answers.get(resourceId) || 0;
      let left = ms;
      let d = POLL_MIN_MS;
      while (left > 0) {
        const piece = Math.min(left, d);
        await sleep(piece, cancel);
        left -= piece;
        if ((this.#answers.get(resourceId) || 0) !== seen) return;
        if (d < POLL_MAX_MS) d *= 2;
      }
    }

    async exchangeCode(codeOrCallbackUrl, options) {
      const o = options || {};
      let code = codeOrCallbackUrl;
      if (typeof code !== 'string') throw new HoopAuthError('invalid_argument', 'invalid_argument: code must be a string');
      if (code.includes('?') || code.includes('://') || code.includes('code=') || o.expectedState != null) {
        code = parseCallback(code, o.expectedState).code;
      }
      const cancel = Cancel.of(o);
      try {
        if (cancel != null) cancel.throwIfAborted();
        const req = this.#app.tokenRequest({ grant: 'authorization_code', code, userType: o.userType });
        const sentAt = this.#shared ? await this.#sharedNow() : this.#now();
        const resp = await this.#sendToken(req, cancel);
        const tokens = parseTokenResponse(resp, sentAt);
        await this.#putTokens(null, tokens, cancel);
        return tokens;
      } finally {
        if (cancel != null) cancel.dispose();
      }
    }

    async setTokens(tokens, resourceId) {
      return this.#putTokens(resourceId == null ? null : resourceId, tokens, null);
    }

    async usePrivateToken(resourceId, token) {
      w(() => this.#pool.loadPrivate(resourceId, token));
      if (this.#shared) {
        await this.#putTxn(resourceId, () => this.#pool.loadPrivate(resourceId, token));
        return;
      }
      await this.#persist(resourceId, null);
    }

    /** Load a token set (for `resourceId`, or its own location/company) and store it. */
    async #putTokens(resourceId, tokens, cancel) {
      const input = toTokenInput(tokens);
      const id = w(() => this.#pool.loadTokens(resourceId, input));
      if (this.#shared) {
        if (cancel != null) cancel.throwIfAborted();
        await this.#putTxn(id, () => this.#pool.loadTokens(id, input));
        return id;
      }
      await this.#persist(id, cancel);
      return id;
    }

    /**
     * Forget a resource (e.g. after an UNINSTALL webhook): its tokens and its pacing state
     * leave this client and its store. In coordinated mode the shared record is emptied (not
     * deleted, so another process's copy is not written back).
     */
    async forget(resourceId) {
      if (typeof resourceId !== 'string' || resourceId === '') {
        throw new HoopAuthError('invalid_argument', 'invalid_argument: resourceId must be a non-empty string');
      }
      await this.#forget(resourceId);
    }

    /** Forget `resourceId`; resolves to whether it had a session. */
    async #forget(resourceId) {
      const pool = this.#pool;
      // Tokens and pacing state.
      const drop = () => pool.forget(resourceId);
      let had = false;
      if (this.#shared) {
        await this.#putTxn(resourceId, () => { had = drop() || had; });
        drop();
        if (this.#onEvent) this.#emit('forget', resourceId);
        return had;
      }
      had = drop();
      this.#loading.delete(resourceId);
      if (typeof this.#store.delete === 'function') {
        try {
          await this.#store.delete(resourceId);
        } catch (e) {
          throw storeError(null, e);
        }
      }
      if (this.#onEvent) this.#emit('forget', resourceId);
      return had;
    }

    /**
     * Save every resource whose tokens the store does not hold yet (a save failed or was
     * cancelled). Resolves to the ids saved; rejects with `store_error` (cause: the store's
     * error) when a save fails: those tokens stay unsaved, and the next call saves them first.
     */
    async flush(options) {
      const cancel = Cancel.of(options);
      const saved = [];
      let failure = null;
      try {
        const ids = [...w(() => this.#pool.unsavedResources())];
        for (const id of ids) {
          if (cancel != null) cancel.throwIfAborted();
          const save = this.#shared ? this.#putTxn(id, null) : this.#saveUnsaved(id, cancel);
          const ok = await save.catch((e) => {
            if (cancel != null && cancel.aborted) throw e;
            if (failure == null) failure = e;
            return false;
          });
          if (ok) saved.push(id);
        }
      } finally {
        if (cancel != null) cancel.dispose();
      }
      if (failure != null) throw failure;
      return saved;
    }

    /** One explicit save of `resourceId`'s unsaved tokens (false: nothing to do now). */
    async #saveUnsaved(resourceId, cancel) {
      const stored = w(() => this.#pool.beginSave(resourceId));
      if (stored == null) return false;
      let ok = false;
      try {
        const written = await raced(this.#store.set(resourceId, stored), cancel);
        if (written === false) {
          // A shared store holds a newer version: take it (load_stored keeps ours unless older).
          const newer = await raced(this.#store.get(resourceId), cancel);
          if (newer != null) w(() => this.#pool.loadStored(resourceId, newer));
          ok = !this.#pool.isUnsaved(resourceId);
        } else {
          ok = true;
        }
        if (ok && this.#onEvent) this.#emit('saved', resourceId);
      } catch (e) {
        if (this.#onEvent) this.#emit('save_failed', resourceId, { error: errorName(e) });
        if (cancel != null && cancel.aborted) throw e;
        throw storeError(null, e);
      } finally {
        try { this.#pool.endSave(resourceId, ok); } catch { /* the resource was removed meanwhile */ }
        this.#changed(resourceId);
      }
      return ok;
    }

    /** A usable access token of `resourceId` from the core session (refreshing it if due). */
    async #accessToken(resourceId, cancel) {
      await this.#ensureLoaded(resourceId, cancel);
      for (let i = 0; i < 1000; i++) {
        if (this.#pool.isUnsaved(resourceId)) {
          // Tokens a failed save left in memory: store them before anything uses them.
          if (!(await this.#saveUnsaved(resourceId, cancel))) await this.#waitFor(resourceId, 10, cancel);
          continue;
        }
        const stored = this.#pool.storedJson(resourceId);
        if (stored == null) break;
        const session = w(() => native.TokenSession.fromStored(this.#app[NATIVE], stored, null));
        let action;
        const now = this.#now();
        try {
          action = w(() => session.acquire(now));
          if (action.action === 'refresh') {
            this.#stats.refreshes++;
            let resp;
            try {
              resp = await this.#send(action.request, cancel);
            } catch {
              if (cancel != null && cancel.aborted) throw cancel.reason;
              continue; // resend within the grace
            }
            w(() => session.refreshResponse(resp, now));
            w(() => this.#pool.loadStored(resourceId, session.toStored()));
            await this.#persist(resourceId, cancel);
            continue;
          }
        } finally {
          release(session);
        }
        if (action.action === 'use') return action.accessToken;
        if (action.action === 'wait') { await this.#waitFor(resourceId, action.waitMs, cancel); continue; }
        break;
      }
      throw new HoopAuthError('unauthorized', `unauthorized: no usable token for \`${String(resourceId).slice(0, 64)}\`: authorize the app again`);
    }

    /** One mint per (company, location) at a time: concurrent callers share its answer. */
    async locationToken(companyId, locationId, options) {
      const cancel = Cancel.of(options);
      try {
        const key = `${companyId}\n${locationId}`;
        for (;;) {
          let task = this.#minting.get(key);
          let own = false;
          if (!task) {
            own = true;
            task = new Shared(this.#mintLocationToken(companyId, locationId, cancel));
            task.cancel = cancel;
            this.#minting.set(key, task);
            task.promise.catch(() => {}).finally(() => { if (this.#minting.get(key) === task) this.#minting.delete(key); });
          }
          try {
            return await task.join(own, this.#direct, cancel);
          } catch (e) {
            // The caller that started the mint was cancelled: its cancellation is not ours.
            const theirs = !own && task.cancel != null && task.cancel.aborted && e === task.cancel.reason;
            if (!theirs) throw e;
            if (this.#minting.get(key) === task) this.#minting.delete(key);
          }
        }
      } finally {
        if (cancel != null) cancel.dispose();
      }
    }

    async #mintLocationToken(companyId, locationId, cancel) {
      if (this.#shared) {
        // The company's tokens as the store holds them (a refresh of them here is this
        // process's own: see the README's coordinated-mode notes).
        const rec = await this.#read(companyId);
        this.#loadRecord(companyId, rec.data);
        this.#loading.set(companyId, LOADED);
      }
      const agencyAccessToken = await this.#accessToken(companyId, cancel);
      const req = this.#app.locationTokenRequest({ agencyAccessToken, companyId, locationId });
      const sentAt = this.#now();
      const resp = await this.#sendToken(req, cancel);
      const tokens = parseTokenResponse(resp, sentAt);
      const id = tokens.locationId || locationId;
      // Kept as a minted location session: when its token comes due, a call mints a new one
      // from the company's token (never a refresh).
      const input = toTokenInput(tokens);
      const put = () => this.#pool.loadMinted(id, companyId, input);
      if (this.#shared) {
        if (cancel != null) cancel.throwIfAborted();
        w(put);
        await this.#putTxn(id, put);
      } else {
        await this.#ensureLoaded(id, cancel);
        w(put);
        await this.#persist(id, cancel);
      }
      return tokens;
    }

    /**
     * Handle one webhook delivery end to end: verify it (signature, replay window, and
     * duplicates — shared through the coordinated store when the client has one), parse it,
     * and apply it: an `INSTALL` under a company with tokens mints a location token for the
     * event's location and, for a bulk or company-level install, every approved location
     * (locations holding tokens are left alone); an `UNINSTALL` deletes the resource's tokens
     * and pacing state. The rules are the core's (`planWebhook`); this does the I/O.
     * Resolves to `{status, reason, type, webhookId, minted, forgotten, failed}`: answer the
     * platform with `status` (200 applied / nothing_to_do / ignored / no_company_tokens /
     * duplicate, 400 malformed, 401 bad_signature / stale, 503 store_unavailable). A location
     * whose mint failed (`failed`, by error kind) stays expected: its first call mints it.
     * When applying fails (503 store_unavailable, or any other error, rethrown), the delivery
     * is un-marked as seen (the verifier's or the store's `forgetSeen`, best effort), so the
     * platform's retry is handled in full rather than answered as a duplicate.
     */
    async handleWebhook(body, headers, options) {
      const o = options || {};
      if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new HoopAuthError('invalid_argument', 'invalid_argument: body must be the raw request body (a string or a Uint8Array)');
      }
      const cancel = Cancel.of(o);
      try {
        if (cancel != null) cancel.throwIfAborted();
        const now = o.nowMs != null ? o.nowMs : (this.#shared ? await this.#sharedNow() : this.#now());
        let verification;
        try {
          verification = await raced(Promise.resolve(this.#verifyWebhook(body, headers, now, o.verifier)), cancel);
        } catch (e) {
          if (cancel != null && cancel.aborted) throw cancel.reason;
          if (e instanceof HoopAuthError && (e.kind === 'store_unavailable' || e.kind === 'store_error')) {
            // Not marked as seen: the platform's retry is handled in full.
            return this.#webhookAnswer({ status: 503, reason: 'store_unavailable' }, null, body);
          }
          throw e;
        }
        const rejected = w(() => native.webhookRejected(verification.reason));
        if (rejected != null) return this.#webhookAnswer(rejected, null, body);
        let reads;
        try {
          reads = w(() => native.webhookReads(body));
        } catch (e) {
          if (!(e instanceof HoopAuthError) || e.kind !== 'malformed_response') throw e;
          return this.#webhookAnswer(w(() => native.webhookMalformed()), null, body);
        }
        try {
          return await this.#applyWebhook(body, reads, cancel);
        } catch (e) {
          // Applying failed: the delivery is un-marked as seen (best effort) so the
          // platform's retry is handled in full, never answered as a duplicate.
          await this.#unmarkWebhook(body, o.verifier);
          if (cancel != null && cancel.aborted) throw cancel.reason;
          if (e instanceof HoopAuthError && (e.kind === 'store_unavailable' || e.kind === 'store_error')) {
            return this.#webhookAnswer({ status: 503, reason: 'store_unavailable' }, null, body);
          }
          throw e;
        }
      } finally {
        if (cancel != null) cancel.dispose();
      }
    }

    /** Load what the plan reads, plan, forget and mint: the answer's reply and changes. */
    async #applyWebhook(body, reads, cancel) {
      for (const id of reads) await this.#loadForWebhook(id, cancel);
      const plan = w(() => this.#pool.planWebhook(body));
      const forgotten = [];
      const minted = [];
      const failed = [];
      for (const id of plan.forget) {
        if (await this.#forget(id)) forgotten.push(id);
      }
      // Each location mints on its own call (single-flighted under its lease); the mints
      // pace together on the company's budget.
      await Promise.all(plan.mint.map(async (id) => {
        try {
          if (await this.#installMinted(id, plan.companyId, cancel)) minted.push(id);
        } catch (e) {
          if (cancel != null && cancel.aborted) throw cancel.reason;
          failed.push({ resource: id, kind: e instanceof HoopAuthError ? e.kind : 'server_error' });
        }
      }));
      minted.sort();
      const reply = forgotten.length + minted.length > 0 ? plan.applied : plan.unchanged;
      return this.#webhookAnswer(reply, plan, body, { minted, forgotten, failed });
    }

    /** Remove a delivery's seen-mark (the verifier's memory or the shared store's); a
     *  verifier or store without `forgetSeen` is left as is; a failure is swallowed. */
    async #unmarkWebhook(body, verifier) {
      const id = webhookIdOf(body);
      if (id == null) return;
      try {
        let target = verifier;
        if (target == null) {
          const v = this.#verifier;
          if (v == null) return;
          target = v.shared != null ? v.shared : v.inner;
        }
        if (typeof target.forgetSeen === 'function') await target.forgetSeen(id);
      } catch (_) {
        // The original error wins.
      }
    }

    #webhookAnswer(reply, plan, body, changes) {
      const c = changes || { minted: [], forgotten: [], failed: [] };
      if (this.#onEvent) this.#emit('webhook', '', { status: reply.status, reason: reply.reason });
      return {
        status: reply.status,
        reason: reply.reason,
        type: plan != null ? plan.eventType : null,
        webhookId: plan != null ? (plan.webhookId == null ? null : plan.webhookId) : webhookIdOf(body),
        minted: c.minted,
        forgotten: c.forgotten,
        failed: c.failed,
      };
    }

    /** Verify with `verifier` (a WebhookVerifier or SharedWebhookVerifier), else the client's
     *  own: built from `options.webhook` once; in coordinated mode its duplicate memory is the
     *  shared store's (a `webhookId` accepted by any process is a duplicate everywhere). */
    #verifyWebhook(body, headers, now, verifier) {
      if (verifier != null) {
        if (typeof verifier.verify !== 'function') throw new HoopAuthError('invalid_argument', 'invalid_argument: verifier must have verify(body, headers, nowMs)');
        return verifier.verify(body, headers, now);
      }
      if (this.#verifier == null) {
        const o = this.#webhookOptions || {};
        const sharedSeen = this.#shared != null && typeof this.#shared.seenFirst === 'function';
        const maxAgeMs = o.maxAgeMs == null ? DEFAULT_WEBHOOK_MAX_AGE_MS : o.maxAgeMs;
        this.#verifier = {
          inner: w(() => new native.WebhookVerifier({
            publicKey: o.publicKey == null ? undefined : o.publicKey,
            legacyRsaKey: o.legacyRsaKey == null ? undefined : o.legacyRsaKey,
            maxAgeMs,
            capacity: sharedSeen ? 0 : (o.capacity == null ? undefined : o.capacity),
          })),
          shared: sharedSeen ? this.#shared : null,
          maxAgeMs,
        };
      }
      const v = this.#verifier;
      const first = w(() => v.inner.verify(body, toPairs(headers), now));
      if (!first.valid || v.shared == null) return first;
      const id = webhookIdOf(body);
      if (id == null) return first;
      return Promise.resolve(v.shared.seenFirst(id, 2 * v.maxAgeMs)).then(
        (fresh) => (fresh ? first : { valid: false, reason: 'duplicate' }),
        (e) => { throw e instanceof HoopAuthError ? e : new HoopAuthError('store_unavailable', 'store_unavailable: the shared store could not mark the webhook as seen', { cause: e }); },
      );
    }

    /** Bring a resource's stored state into the pool before a webhook's plan reads it. */
    async #loadForWebhook(resourceId, cancel) {
      if (this.#shared) {
        const rec = await this.#read(resourceId);
        this.#loadRecord(resourceId, rec.data);
        this.#loading.set(resourceId, LOADED);
        return;
      }
      await this.#ensureLoaded(resourceId, cancel);
    }

    /** An INSTALL's location: mark it minted from `companyId` and, when it holds no usable
     *  token, mint its first one (a token call: its mint step runs the company's call).
     *  Resolves to whether a token was minted. */
    async #installMinted(locationId, companyId, cancel) {
      let need = false;
      if (this.#shared) {
        await this.#putTxn(locationId, () => { need = this.#pool.expectMinted(locationId, companyId); });
      } else {
        await this.#ensureLoaded(locationId, cancel);
        need = w(() => this.#pool.expectMinted(locationId, companyId));
        // Saved at once, so a process that restarts before the mint still knows where the
        // location's tokens come from.
        if (need) await this.#persist(locationId, cancel);
      }
      if (!need) return false;
      const make = () => w(() => native.Call.token(this.#callOptions));
      await this.#drive(locationId, make, TOKEN_REQUEST, cancel);
      return true;
    }

    /**
     * One API call. `options` also takes `signal` (an AbortSignal) and `timeoutMs`: either
     * ends the call with the signal's reason (or a TimeoutError) at any await point, after
     * releasing what the call holds in the core (lease, save, rate-limit slot).
     */
    async request(resourceId, options) {
      if (typeof resourceId !== 'string' || resourceId === '') {
        throw new HoopAuthError('invalid_argument', 'invalid_argument: resourceId must be a non-empty string');
      }
      const cancel = Cancel.of(options);
      try {
        if (cancel != null) cancel.throwIfAborted();
        const make = () => w(() => new native.Call(toApiRequest(options), this.#callOptions));
        const r = await this.#drive(resourceId, make, options, cancel);
        return new ApiResponse(r.status, headerRecord(r.headers), r.body);
      } finally {
        if (cancel != null) cancel.dispose();
      }
    }

    /** Run one call made by `make` on `resourceId` to its end; resolves to the core's response. */
    async #drive(resourceId, make, options, cancel) {
      if (this.#shared) return this.#runShared(resourceId, make, options, cancel);
      const loading = this.#ensureLoaded(resourceId, cancel);
      if (loading != null) await loading;
      return this.#run(resourceId, make, options, cancel);
    }

    /**
     * The mint of a `mint` step of a call on `resourceId` (a minted location session): a call
     * of its own on the company (`Call.locationToken`), which takes the company's token as any
     * call does (its refresh under its lease, in coordinated mode through its shared record)
     * and paces on the company's budget. Resolves to the event to feed: the answer, or
     * `mint_failed` with the mint call's error (or a transport error when it got no answer).
     */
    async #mintFor(resourceId, step, cancel) {
      const { companyId, locationId } = step;
      const watched = this.#onEvent != null;
      const t0 = watched ? this.#now() : 0;
      if (watched) this.#emit('mint', resourceId, { company: String(companyId) });
      this.#stats.mints++;
      try {
        const make = () => w(() => native.Call.locationToken(companyId, locationId, this.#callOptions));
        const r = await this.#drive(companyId, make, MINT_REQUEST, cancel);
        if (watched) this.#emit('minted', resourceId, { status: r.status, ms: this.#now() - t0 });
        return { type: 'response', response: { status: r.status, headers: r.headers, body: r.body } };
      } catch (e) {
        if (cancel != null && cancel.aborted) throw cancel.reason;
        if (!(e instanceof HoopAuthError)) {
          if (watched) this.#emit('mint_failed', resourceId, { kind: 'server_error', ms: this.#now() - t0 });
          return TRANSPORT_ERROR;
        }
        if (watched) this.#emit('mint_failed', resourceId, { kind: e.kind, ms: this.#now() - t0 });
        return { type: 'mint_failed', error: { kind: e.kind, message: e.message } };
      }
    }

    // ---- coordinated mode ------------------------------------------------------------------
    // Every step of a call is a transaction on the shared store (FLEET.md): read the record
    // and the store's clock, load it, keep a copy of the call, step at the store's clock,
    // export; a changed record is compare-and-set, and a lost race steps again from the copy
    // on the winner's state. The store unreachable: the call ends (store_unavailable) holding
    // nothing, except after a step that answered `persist`, whose tokens exist nowhere else:
    // they stay in memory, unsaved, and the next call (or flush) writes them first.

    /** Before a step: the tokens this process holds unsaved (they must survive a lost race). */
    #base(resourceId) {
      return this.#pool.isUnsaved(resourceId) ? this.#pool.storedJson(resourceId) : null;
    }

    /** After a lost race: drop what the lost step did to this process's session (a refresh
     *  answer half applied would otherwise be kept as "unsaved" over the winner's state), keeping
     *  only tokens that were unsaved before the step; the next read brings the winner's state. */
    #rebase(resourceId, base) {
      const pool = this.#pool;
      pool.remove(resourceId);
      if (base != null) {
        w(() => pool.loadStored(resourceId, base));
        pool.endSave(resourceId, false);
      }
    }

    /** The shared store's clock when it tells it (token expiry times then agree across hosts). */
    async #sharedNow() {
      if (typeof this.#shared.nowMs === 'function') {
        try {
          const t = await this.#shared.nowMs();
          if (Number.isFinite(t)) return t;
        } catch { /* the write that follows reports the store */ }
      }
      return this.#now();
    }

    /** One transaction at a time per resource in this process (no self-inflicted lost races). */
    async #lock(resourceId, cancel) {
      let lock = this.#txnLocks.get(resourceId);
      if (!lock) this.#txnLocks.set(resourceId, (lock = new Slots(1, this.#direct)));
      const p = lock.take(cancel);
      if (p) await p;
      return lock;
    }

    async #read(resourceId) {
      this.#stats.storeReads++;
      const r = await this.#shared.read(resourceId);
      if (r == null || typeof r !== 'object' || !Number.isFinite(r.nowMs) || !Number.isFinite(Number(r.rev))) {
        throw new HoopAuthError('store_error', 'store_error: the shared store read returned no {rev, data, nowMs}');
      }
      return r;
    }

    async #cas(resourceId, rev, record) {
      const ok = await this.#shared.cas(resourceId, rev, record);
      if (ok) {
        this.#stats.storeWrites++;
        this.#keep(resourceId, record);
        this.#pool.sharedWritten(resourceId);
      } else {
        this.#stats.lostRaces++;
      }
      return ok;
    }

    /** Load the record read from the store. A store that lost records (restarted without
     *  persistence, expired) must not cost the tokens: when it has no record, this process's
     *  copy is loaded and marked unsaved, so the next write puts the tokens (and the window)
     *  back; when it holds older tokens than this process saw (another process wrote an older
     *  copy back), the newer tokens are kept over the store's window and written back.
     *  `forget` writes an empty record instead of deleting, so forgotten stays forgotten. */
    #loadRecord(resourceId, data) {
      const pool = this.#pool;
      const kept = this.#records.get(resourceId);
      if (data == null) {
        w(() => pool.loadShared(resourceId, kept != null ? kept.data : null));
        if (kept != null && pool.hasSession(resourceId)) pool.endSave(resourceId, false);
        return;
      }
      w(() => pool.loadShared(resourceId, data));
      if (kept != null && kept.data === data) return;
      if (kept != null && kept.expiry > 0) {
        const e = expiryOf(pool.storedJson(resourceId));
        if (e > 0 && e < kept.expiry) {
          w(() => pool.loadShared(resourceId, kept.data));
          const newer = pool.storedJson(resourceId);
          w(() => pool.loadShared(resourceId, data));
          if (newer != null) {
            w(() => pool.loadStored(resourceId, newer));
            pool.endSave(resourceId, false);
          }
          return;
        }
      }
      this.#keep(resourceId, data);
    }

    /** Remember `record` (as stored) with the expiry of the tokens now loaded. */
    #keep(resourceId, record) {
      this.#records.set(resourceId, { data: record, expiry: expiryOf(this.#pool.storedJson(resourceId)) });
    }

    /** A short digest of the resource's refresh token (to tell whether the tokens changed). */
    #fingerprint(resourceId) {
      const stored = this.#pool.storedJson(resourceId);
      if (stored == null) return null;
      const m = /"refresh_token":"((?:[^"\\]|\\.)*)"/.exec(stored);
      return m ? fnv1a(m[1]) : null;
    }

    /** Step `st.call` with `event` at `now` (the record loaded). */
    #feed(st, resourceId, event, now, data) {
      const pool = this.#pool;
      if (event.type === 'response' && st.fp != null && this.#fingerprint(resourceId) !== st.fp &&
        st.adopted < 1 && isInvalidGrant(event.response, now)) {
        // The refresh token this call sent was refused, but the store already holds newer
        // tokens (another process refreshed meanwhile): adopt them and start the request again.
        pool.abort(st.call, resourceId, now);
        this.#loadRecord(resourceId, data);
        release(st.call);
        st.call = st.make();
        st.adopted++;
        event = START;
      }
      const step = feedPool(pool, st.call, resourceId, event, now);
      st.fp = step.step === 'send_refresh' ? this.#fingerprint(resourceId) : null;
      return step;
    }

    /** One step of a call as a store transaction; resolves to the step. */
    async #txn(st, resourceId, event, cancel) {
      const pool = this.#pool;
      const lock = await this.#lock(resourceId, cancel);
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          let rec;
          try {
            rec = await this.#read(resourceId);
          } catch (e) {
            st.down = true;
            throw asStoreError(e, 'read');
          }
          const snapshot = { call: st.call.copy(), fp: st.fp };
          const base = this.#base(resourceId);
          let step, record, pending;
          try {
            this.#loadRecord(resourceId, rec.data);
            pending = this.#applyPending(resourceId, rec.nowMs);
            step = this.#feed(st, resourceId, event, rec.nowMs, rec.data);
            record = w(() => pool.exportShared(resourceId, randomBytes(24)));
          } catch (e) {
            release(st.call);
            Object.assign(st, snapshot);
            throw e instanceof HoopAuthError ? e : asStoreError(e, 'load');
          }
          if (record == null) { release(snapshot.call); this.#clearPending(resourceId, pending); return step; }
          let ok;
          try {
            ok = await this.#cas(resourceId, rec.rev, record);
          } catch (e) {
            st.down = true;
            if (step.step === 'persist') {
              // The only copy of these tokens is ours: keep them in memory, unsaved.
              release(snapshot.call);
              pool.step(st.call, resourceId, PERSIST_FAILED, rec.nowMs, random32());
              this.#changed(resourceId);
              throw persistUnavailable(resourceId, e);
            }
            release(st.call);
            Object.assign(st, snapshot);
            throw asStoreError(e, 'compare-and-set');
          }
          if (ok) { release(snapshot.call); this.#clearPending(resourceId, pending); return step; }
          release(st.call);
          Object.assign(st, snapshot);
          this.#rebase(resourceId, base);
          if (this.#onEvent) this.#emit('store_lost_race', resourceId, { attempt: attempt + 1 });
          await lostRacePause(attempt);
        }
        throw new HoopAuthError('store_unavailable',
          `store_unavailable: too much contention on the shared record of \`${String(resourceId).slice(0, 64)}\`: ${MAX_ATTEMPTS} writes lost in a row`);
      } finally {
        lock.give();
      }
    }

    /** End an unfinished call through the store (releases its lease and slot there too);
     *  when the store is down, only here (the store's record frees them by their deadlines). */
    async #abortShared(st, resourceId) {
      const pool = this.#pool;
      if (!st.down) {
        try {
          const lock = await this.#lock(resourceId, null);
          try {
            for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
              const rec = await this.#read(resourceId);
              this.#loadRecord(resourceId, rec.data);
              const pending = this.#applyPending(resourceId, rec.nowMs);
              const copy = st.call.copy();
              pool.abort(copy, resourceId, rec.nowMs);
              const record = w(() => pool.exportShared(resourceId, randomBytes(24)));
              const ok = record == null || await this.#cas(resourceId, rec.rev, record);
              if (ok) {
                this.#clearPending(resourceId, pending);
                release(st.call);
                st.call = copy;
                return;
              }
              release(copy);
              if (this.#onEvent) this.#emit('store_lost_race', resourceId, { attempt: attempt + 1 });
              await lostRacePause(attempt);
            }
          } finally {
            lock.give();
          }
        } catch { /* the store went away: end the call here, and in the store by the next write */ }
      }
      // What the call holds in the store (a send's slot, the refresh lease) is released by the
      // next transaction on this resource that gets through (see #applyPending).
      let list = this.#pendingAborts.get(resourceId);
      if (!list) this.#pendingAborts.set(resourceId, (list = []));
      if (list.length < 256) list.push(st.call.copy());
      try { pool.abort(st.call, resourceId, this.#now()); } catch { /* never hide the first error */ }
    }

    /** Calls that ended while the store was unreachable: release what they hold in the
     *  record just loaded (copies: a lost race applies them again on the winner's state). */
    #applyPending(resourceId, now) {
      const list = this.#pendingAborts.get(resourceId);
      if (!list) return null;
      for (const call of list) {
        const c = call.copy();
        try { this.#pool.abort(c, resourceId, now); } finally { release(c); }
      }
      return list;
    }

    /** The pending releases were written: forget them. */
    #clearPending(resourceId, list) {
      if (list == null || this.#pendingAborts.get(resourceId) !== list) return;
      this.#pendingAborts.delete(resourceId);
      for (const c of list) release(c);
    }

    /**
     * Write this process's state of `resourceId` through the store: `put` (load tokens) on the
     * record, or, with null, just its unsaved tokens (a flush). On failure the tokens stay in
     * memory, unsaved. Resolves to whether a record was written.
     */
    async #putTxn(resourceId, put) {
      const pool = this.#pool;
      const lock = await this.#lock(resourceId, null);
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          let rec;
          try {
            rec = await this.#read(resourceId);
          } catch (e) {
            if (put != null) { try { put(); pool.endSave(resourceId, false); } catch { /* removed */ } }
            throw asStoreError(e, 'read');
          }
          this.#loadRecord(resourceId, rec.data);
          const pending = this.#applyPending(resourceId, rec.nowMs);
          if (put != null) w(put);
          const record = w(() => pool.exportShared(resourceId, randomBytes(24)));
          if (record == null) { this.#clearPending(resourceId, pending); return false; }
          let ok;
          try {
            ok = await this.#cas(resourceId, rec.rev, record);
          } catch (e) {
            try { pool.endSave(resourceId, false); } catch { /* removed */ }
            throw asStoreError(e, 'compare-and-set');
          }
          if (ok) { this.#clearPending(resourceId, pending); return true; }
          if (this.#onEvent) this.#emit('store_lost_race', resourceId, { attempt: attempt + 1 });
          await lostRacePause(attempt);
        }
        throw new HoopAuthError('store_unavailable',
          `store_unavailable: too much contention on the shared record of \`${String(resourceId).slice(0, 64)}\`: ${MAX_ATTEMPTS} writes lost in a row`);
      } finally {
        lock.give();
        this.#changed(resourceId);
      }
    }

    async #runShared(resourceId, make, options, cancel) {
      const st = { call: make(), fp: null, adopted: 0, down: false, make };
      const stats = this.#stats;
      const slots = this.#slots;
      let holding = false;
      let finished = false;
      const watched = this.#onEvent != null;
      const t0 = watched ? this.#now() : 0;
      if (watched) {
        const o = options || {};
        this.#emit('call_start', resourceId, { method: o.method == null ? 'GET' : String(o.method), path: urlPath(o.path) });
      }
      try {
        const first = slots.take(cancel);
        if (first) await first;
        holding = true;
        let step = await this.#txn(st, resourceId, START, cancel);
        for (;;) {
          switch (step.step) {
            case 'send':
            case 'send_refresh': {
              const refresh = step.step === 'send_refresh';
              if (refresh) stats.refreshes++; else stats.sends++;
              let sentAt = 0;
              if (watched) {
                this.#emit(refresh ? 'refresh_sent' : 'send', resourceId, { method: step.request.method, path: urlPath(step.request.url) });
                sentAt = this.#now();
              }
              let event;
              try {
                event = { type: 'response', response: await this.#send(step.request, cancel) };
              } catch (e) {
                if (cancel != null && cancel.aborted) throw cancel.reason;
                event = TRANSPORT_ERROR;
                if (watched) this.#emit('transport_error', resourceId, { ms: this.#now() - sentAt });
              }
              step = await this.#txn(st, resourceId, event, cancel);
              this.#changed(resourceId);
              if (watched && event !== TRANSPORT_ERROR) {
                this.#emit(refresh ? 'refresh_answered' : 'answer', resourceId, { status: event.response.status, ms: this.#now() - sentAt });
              }
              break;
            }
            case 'persist':
              // Saved by the write of the step that answered it: go on.
              if (watched) { this.#emit('persist', resourceId); this.#emit('persist_saved', resourceId); }
              this.#changed(resourceId);
              step = await this.#txn(st, resourceId, RESUME, cancel);
              break;
            case 'wait': {
              stats.waits++;
              if (watched) this.#emit('wait', resourceId, { reason: step.reason, ms: step.waitMs });
              holding = false;
              slots.give();
              // Sleep on this process's timer, then step again: the store's clock decides.
              const reason = step.reason;
              if (reason === 'in_flight' || reason === 'refresh') await this.#waitFor(resourceId, step.waitMs, cancel);
              else await sleep(step.waitMs, cancel);
              const again = slots.take(cancel);
              if (again) await again;
              holding = true;
              step = await this.#txn(st, resourceId, RESUME, cancel);
              break;
            }
            case 'mint': {
              // A minted location session came due and this call holds its lease (saved in
              // the shared record): mint through the company's own call, then feed its answer.
              holding = false;
              slots.give();
              const event = await this.#mintFor(resourceId, step, cancel);
              const again = slots.take(cancel);
              if (again) await again;
              holding = true;
              step = await this.#txn(st, resourceId, event, cancel);
              this.#changed(resourceId);
              break;
            }
            case 'done': {
              finished = true;
              const r = step.response;
              if (watched) this.#emit('call_done', resourceId, { status: r.status, ms: this.#now() - t0 });
              return r;
            }
            default: {
              finished = true;
              const err = stepError(step);
              if (watched) this.#emit('call_failed', resourceId, { kind: err.kind, ms: this.#now() - t0 });
              throw err;
            }
          }
        }
      } finally {
        if (!finished && !isFinished(st.call)) {
          if (watched) this.#emit('abort', resourceId);
          await this.#abortShared(st, resourceId);
          this.#changed(resourceId);
        }
        if (holding) slots.give();
        const s = st.call.stats();
        stats.retries += s.authRetries + s.rateLimitRetries + s.serverRetries;
        release(st.call);
      }
    }

    async #run(resourceId, make, options, cancel) {
      const pool = this.#pool;
      const call = make();
      const stats = this.#stats;
      const slots = this.#slots;
      let holding = false;
      let finished = false;
      const watched = this.#onEvent != null;
      const t0 = watched ? this.#now() : 0;
      if (watched) {
        const o = options || {};
        this.#emit('call_start', resourceId, { method: o.method == null ? 'GET' : String(o.method), path: urlPath(o.path) });
      }
      try {
        const first = slots.take(cancel);
        if (first) await first;
        holding = true;
        let step = pool.step(call, resourceId, START, this.#now(), random32());
        for (;;) {
          switch (step.step) {
            case 'send':
            case 'send_refresh': {
              const refresh = step.step === 'send_refresh';
              if (refresh) stats.refreshes++; else stats.sends++;
              let sentAt = 0;
              if (watched) {
                this.#emit(refresh ? 'refresh_sent' : 'send', resourceId, { method: step.request.method, path: urlPath(step.request.url) });
                sentAt = this.#now();
              }
              let event;
              try {
                event = { type: 'response', response: await this.#send(step.request, cancel) };
              } catch (e) {
                if (cancel != null && cancel.aborted) throw cancel.reason;
                event = TRANSPORT_ERROR;
                if (watched) this.#emit('transport_error', resourceId, { ms: this.#now() - sentAt });
              }
              // Reported as it arrives: the answer frees its rate-limit slot at once.
              step = pool.step(call, resourceId, event, this.#now(), random32());
              this.#changed(resourceId);
              if (watched && event !== TRANSPORT_ERROR) {
                this.#emit(refresh ? 'refresh_answered' : 'answer', resourceId, { status: event.response.status, ms: this.#now() - sentAt });
              }
              break;
            }
            case 'persist': {
              // A store shared by several processes may refuse an older version (compare-and-set
              // on the stored `version`) by returning false: reload its newer state, then go on.
              if (watched) this.#emit('persist', resourceId);
              this.#persisting.set(resourceId, (this.#persisting.get(resourceId) || 0) + 1);
              let written;
              try {
                written = await raced(this.#store.set(resourceId, step.stored), cancel);
              } catch (e) {
                if (cancel != null && cancel.aborted) throw cancel.reason;
                // The store raised: the tokens stay in memory, unsaved; the next call saves them.
                step = pool.step(call, resourceId, PERSIST_FAILED, this.#now(), random32());
                this.#changed(resourceId);
                finished = true;
                if (watched) this.#emit('persist_failed', resourceId, { error: errorName(e) });
                throw storeError(step.error, e);
              } finally {
                this.#persisting.set(resourceId, this.#persisting.get(resourceId) - 1);
              }
              if (written === false) {
                const newer = await raced(this.#store.get(resourceId), cancel);
                if (newer != null) w(() => pool.loadStored(resourceId, newer));
                step = pool.step(call, resourceId, CONFLICT, this.#now(), random32());
              } else {
                step = pool.step(call, resourceId, RESUME, this.#now(), random32());
              }
              if (watched) this.#emit('persist_saved', resourceId);
              this.#changed(resourceId);
              break;
            }
            case 'wait': {
              stats.waits++;
              if (watched) this.#emit('wait', resourceId, { reason: step.reason, ms: step.waitMs });
              holding = false;
              slots.give();
              const reason = step.reason;
              // One rule: sleep exactly waitMs (the core hands long waits out in pieces), then
              // resume; a wait for answers in flight or for another call's refresh or save ends
              // early when something changes for this resource.
              if (reason === 'in_flight' || reason === 'refresh') await this.#waitFor(resourceId, step.waitMs, cancel);
              else await sleep(step.waitMs, cancel);
              const again = slots.take(cancel);
              if (again) await again;
              holding = true;
              if (reason === 'refresh' && this.#coordinate && !this.#persisting.get(resourceId)) {
                // Another process may hold the lease: look at the shared store again.
                const newer = await raced(this.#store.get(resourceId), cancel);
                if (newer != null && !this.#persisting.get(resourceId)) w(() => pool.loadStored(resourceId, newer));
              }
              step = pool.step(call, resourceId, RESUME, this.#now(), random32());
              break;
            }
            case 'mint': {
              // A minted location session came due and this call holds its lease: the mint is
              // a call of its own on the company (its token, its lease, its pacing).
              holding = false;
              slots.give();
              const event = await this.#mintFor(resourceId, step, cancel);
              const again = slots.take(cancel);
              if (again) await again;
              holding = true;
              step = feedPool(pool, call, resourceId, event, this.#now());
              this.#changed(resourceId);
              break;
            }
            case 'done': {
              finished = true;
              const r = step.response;
              if (watched) this.#emit('call_done', resourceId, { status: r.status, ms: this.#now() - t0 });
              return r;
            }
            default: {
              finished = true;
              const err = stepError(step);
              if (watched) this.#emit('call_failed', resourceId, { kind: err.kind, ms: this.#now() - t0 });
              throw err;
            }
          }
        }
      } finally {
        if (!finished && !isFinished(call)) {
          if (watched) this.#emit('abort', resourceId);
          // Thrown or cancelled mid-call: release its lease, save and rate-limit slot.
          try { pool.abort(call, resourceId, this.#now()); } catch { /* never hide the first error */ }
          this.#changed(resourceId);
        }
        if (holding) slots.give();
        const s = call.stats();
        stats.retries += s.authRetries + s.rateLimitRetries + s.serverRetries;
        release(call);
      }
    }
  }
  redactClass(Client, (c) => ({ clientId: c.app.clientId, apiBase: c.app.apiBase, tokens: REDACTED }));

  return { Client, MemoryTokenStore };
}

/** A failed call's error; `reauthorize` is true when the user must authorize the app again. */
function stepError(step) {
  const e = fromErrorInfo(step.error);
  if (step.step === 'reauthorize') e.reauthorize = true;
  return e;
}

/** An error's class name for an event (never its message, which could quote a secret). */
function errorName(e) {
  const c = e != null && typeof e === 'object' ? e.constructor : null;
  const n = c != null && typeof c.name === 'string' && c.name !== '' ? c.name : typeof e;
  return n.slice(0, 64);
}

/** The path of a request URL for an event: never its query (values may be ids or secrets). */
function urlPath(url) {
  try { return new URL(url).pathname; } catch { return String(url).split(/[?#]/)[0].slice(0, 256); }
}

/** Coordinated mode: writes lost in a row before a step gives up (store_unavailable). */
const MAX_ATTEMPTS = 16;

/** After a lost compare-and-set: a random pause of up to 1, 2, 4 … 32 ms (this call's own
 *  timer), so processes racing for one record do not collide again in step. */
function lostRacePause(attempt) {
  const ms = Math.random() * Math.min(32, 1 << attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The access token's expiry (Unix ms) in a stored session's JSON; 0 when none. */
function expiryOf(stored) {
  if (stored == null) return 0;
  const m = /"expires_at_ms":(\d+)/.exec(stored);
  return m ? Number(m[1]) : 0;
}

function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A shared store's failure as the error a call raises (the store's own typed errors pass). */
function asStoreError(e, what) {
  if (e instanceof HoopAuthError) return e;
  return new HoopAuthError('store_error', `store_error: the shared store failed (${what})`, { cause: e });
}

function persistUnavailable(resourceId, e) {
  const kind = e instanceof HoopAuthError && e.kind === 'store_unavailable' ? 'store_unavailable' : 'store_error';
  return new HoopAuthError(kind, `${kind}: the shared store could not save the refreshed tokens of ` +
    `\`${String(resourceId).slice(0, 64)}\`; they are kept in memory, unsaved, and written by the next call or flush()`, { cause: e });
}

/** Marks a resource whose store load is done (or that this process filled itself). */
const LOADED = Object.freeze({ done: true, failed: false });

/** Feed `event` to `call`: a failed mint through the native's own entry, else a step. */
function feedPool(pool, call, resourceId, event, now) {
  if (event.type === 'mint_failed') return wrapNative(() => pool.mintFailed(call, resourceId, event.error, now, random32()));
  return pool.step(call, resourceId, event, now, random32());
}

function isFinished(call) {
  return typeof call.isFinished === 'function' ? call.isFinished() : false;
}

/** The call's store_error (the core's text), with the store's own error as `cause`. */
function storeError(info, cause) {
  const message = info && info.message ? info.message
    : 'store_error: the token store failed to save the session: its tokens stay in memory, unsaved, and the next call saves them first';
  return new HoopAuthError('store_error', message, { cause, status: info ? info.status : null });
}

module.exports = { makeClient, MemoryTokenStore, ApiResponse, defaultHandoff };
