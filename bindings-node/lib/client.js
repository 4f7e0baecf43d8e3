'use strict';
// The fetch driver: a short loop around the core's Pool.step / Call (pace, send, classify,
// refresh once, retry), with a pluggable async token store. No protocol rules here: every
// decision comes from the native core. No Node-only APIs.

const { HoopAuthError, wrapNative, fromErrorInfo } = require('./errors.js');
const { toApiRequest, headerRecord, toTokenInput } = require('./util.js');

const START = { type: 'start' };
const RESUME = { type: 'resume' };
const TRANSPORT_ERROR = { type: 'transport_error' };
const CONFLICT = { type: 'conflict' };

/** Free a temporary native object now where the binding can (WASM memory), else leave it to GC. */
function release(obj) {
  if (obj != null && typeof obj.free === 'function') obj.free();
}

function random32() {
  return Math.floor(Math.random() * 0x100000000);
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

/** A FIFO counting semaphore: calls take slots in the order they asked. */
class Slots {
  #free; #queue = [];
  constructor(n) { this.#free = n; }
  take() {
    if (this.#free > 0 && this.#queue.length === 0) { this.#free--; return null; }
    return new Promise((resolve) => this.#queue.push(resolve));
  }
  give() {
    const next = this.#queue.shift();
    if (next) next(); else this.#free++;
  }
}

/** Token sessions in process memory (the default store). */
class MemoryTokenStore {
  #map = new Map();
  get(resourceId) { return this.#map.has(resourceId) ? this.#map.get(resourceId) : null; }
  set(resourceId, stored) { this.#map.set(resourceId, stored); }
  delete(resourceId) { this.#map.delete(resourceId); }
}

function makeClient(ctx) {
  const { native, NATIVE, asApp, parseCallback, parseTokenResponse, redactClass, REDACTED } = ctx;
  const w = wrapNative;

  class Client {
    #app; #pool; #store; #fetch; #now; #callOptions; #slots;
    #loading = new Map();      // resourceId → Promise of the first load from the store
    #waiters = new Map();      // resourceId → Set of wake-up functions (refresh waits)
    #persisting = new Map();   // resourceId → persists in flight in this process
    #minting = new Map();      // company + location → the location-token mint in flight
    #coordinate = false;       // call.coordinateRefresh: the store is shared between processes
    #stats = { sends: 0, refreshes: 0, waits: 0, retries: 0 };

    constructor(options) {
      const o = options || {};
      if (o.app == null) throw new HoopAuthError('invalid_config', 'invalid_config: Client needs `app`');
      this.#app = asApp(o.app);
      this.#store = o.store || new MemoryTokenStore();
      const f = o.fetch || globalThis.fetch;
      if (typeof f !== 'function') throw new HoopAuthError('invalid_config', 'invalid_config: no fetch available');
      this.#fetch = o.fetch ? f : f.bind(globalThis);
      this.#now = typeof o.now === 'function' ? o.now : Date.now;
      this.#callOptions = o.call || null;
      this.#coordinate = !!(o.call && o.call.coordinateRefresh);
      const inFlight = o.maxInFlight == null ? 16 : o.maxInFlight;
      if (!Number.isInteger(inFlight) || inFlight < 1) {
        throw new HoopAuthError('invalid_config', 'invalid_config: maxInFlight must be a positive integer');
      }
      // A call holds a slot while it steps and sends, not while it waits: a send the core
      // allowed goes out at once, so the time the core counted is the time it left.
      this.#slots = new Slots(inFlight);
      this.#pool = w(() => new native.Pool(this.#app[NATIVE], o.session || null, o.limits || null));
    }

    get app() { return this.#app; }

    authorizationUrl(options) { return this.#app.authorizationUrl(options); }

    stats() { return { ...this.#stats }; }

    async #send(req) {
      const init = { method: req.method, headers: req.headers };
      if (req.body !== '') init.body = req.body;
      const r = await this.#fetch(req.url, init);
      const body = await r.text();
      const headers = [];
      r.headers.forEach((value, key) => headers.push([key, value]));
      return { status: r.status, headers, body };
    }

    /** Send a one-off token request; a lost connection is a server_error. */
    async #sendToken(req) {
      try {
        return await this.#send(req);
      } catch (e) {
        throw new HoopAuthError('server_error', 'server_error: the token request got no answer', { cause: e });
      }
    }

    async #persist(resourceId) {
      const stored = this.#pool.storedJson(resourceId);
      if (stored != null) await this.#store.set(resourceId, stored);
      this.#loading.set(resourceId, Promise.resolve());
    }

    /** Load a resource's stored session from the store, once per client. */
    #ensureLoaded(resourceId) {
      let p = this.#loading.get(resourceId);
      if (!p) {
        p = (async () => {
          if (this.#pool.hasSession(resourceId)) return;
          const stored = await this.#store.get(resourceId);
          if (stored != null && !this.#pool.hasSession(resourceId)) {
            w(() => this.#pool.loadStored(resourceId, stored));
          }
        })();
        this.#loading.set(resourceId, p);
        p.catch(() => this.#loading.delete(resourceId));
      }
      return p;
    }

    #sleep(ms, wakeOn) {
      return new Promise((resolve) => {
        let set = null;
        const done = () => {
          clearTimeout(timer);
          if (set) set.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        if (wakeOn != null) {
          set = this.#waiters.get(wakeOn);
          if (!set) this.#waiters.set(wakeOn, (set = new Set()));
          set.add(done);
        }
      });
    }

    #wake(resourceId) {
      const set = this.#waiters.get(resourceId);
      if (!set || set.size === 0) return;
      for (const fn of [...set]) fn();
    }

    async exchangeCode(codeOrCallbackUrl, options) {
      const o = options || {};
      let code = codeOrCallbackUrl;
      if (typeof code !== 'string') throw new HoopAuthError('invalid_argument', 'invalid_argument: code must be a string');
      if (code.includes('?') || code.includes('://') || code.includes('code=') || o.expectedState != null) {
        code = parseCallback(code, o.expectedState).code;
      }
      const req = this.#app.tokenRequest({ grant: 'authorization_code', code, userType: o.userType });
      const sentAt = this.#now();
      const resp = await this.#sendToken(req);
      const tokens = parseTokenResponse(resp, sentAt);
      const id = w(() => this.#pool.loadTokens(null, toTokenInput(tokens)));
      await this.#persist(id);
      return tokens;
    }

    async setTokens(tokens, resourceId) {
      const id = w(() => this.#pool.loadTokens(resourceId == null ? null : resourceId, toTokenInput(tokens)));
      await this.#persist(id);
      return id;
    }

    async usePrivateToken(resourceId, token) {
      w(() => this.#pool.loadPrivate(resourceId, token));
      await this.#persist(resourceId);
    }

    /** A usable access token of `resourceId` from the core session (refreshing it if due). */
    async #accessToken(resourceId) {
      await this.#ensureLoaded(resourceId);
      for (let i = 0; i < 1000; i++) {
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
            try { resp = await this.#send(action.request); } catch { continue; } // resend within the grace
            w(() => session.refreshResponse(resp, now));
            w(() => this.#pool.loadStored(resourceId, session.toStored()));
            await this.#persist(resourceId);
            continue;
          }
        } finally {
          release(session);
        }
        if (action.action === 'use') return action.accessToken;
        if (action.action === 'wait') { await this.#sleep(action.waitMs, resourceId); continue; }
        break;
      }
      throw new HoopAuthError('unauthorized', `unauthorized: no usable token for \`${String(resourceId).slice(0, 64)}\`: authorize the app again`);
    }

    /** One mint per (company, location) at a time: concurrent callers share its answer. */
    locationToken(companyId, locationId) {
      const key = `${companyId}\n${locationId}`;
      let p = this.#minting.get(key);
      if (!p) {
        p = this.#mintLocationToken(companyId, locationId).finally(() => this.#minting.delete(key));
        this.#minting.set(key, p);
      }
      return p;
    }

    async #mintLocationToken(companyId, locationId) {
      const agencyAccessToken = await this.#accessToken(companyId);
      const req = this.#app.locationTokenRequest({ agencyAccessToken, companyId, locationId });
      const sentAt = this.#now();
      const resp = await this.#sendToken(req);
      const tokens = parseTokenResponse(resp, sentAt);
      const id = w(() => this.#pool.loadTokens(tokens.locationId || locationId, toTokenInput(tokens)));
      await this.#persist(id);
      return tokens;
    }

    async request(resourceId, options) {
      if (typeof resourceId !== 'string' || resourceId === '') {
        throw new HoopAuthError('invalid_argument', 'invalid_argument: resourceId must be a non-empty string');
      }
      await this.#ensureLoaded(resourceId);
      const pool = this.#pool;
      const call = w(() => new native.Call(toApiRequest(options), this.#callOptions));
      const stats = this.#stats;
      const slots = this.#slots;
      let holding = false;
      try {
        const first = slots.take();
        if (first) await first;
        holding = true;
        let step = pool.step(call, resourceId, START, this.#now(), random32());
        for (;;) {
          switch (step.step) {
            case 'send':
            case 'send_refresh': {
              const refresh = step.step === 'send_refresh';
              if (refresh) stats.refreshes++; else stats.sends++;
              let event;
              try {
                event = { type: 'response', response: await this.#send(step.request) };
              } catch {
                event = TRANSPORT_ERROR;
              }
              step = pool.step(call, resourceId, event, this.#now(), random32());
              if (refresh && step.step !== 'persist') this.#wake(resourceId);
              break;
            }
            case 'persist': {
              // A store shared by several processes may refuse an older version (compare-and-set
              // on the stored `version`) by returning false: reload its newer state, then go on.
              this.#persisting.set(resourceId, (this.#persisting.get(resourceId) || 0) + 1);
              let written;
              try {
                written = await this.#store.set(resourceId, step.stored);
              } finally {
                this.#persisting.set(resourceId, this.#persisting.get(resourceId) - 1);
              }
              if (written === false) {
                const newer = await this.#store.get(resourceId);
                if (newer != null) w(() => pool.loadStored(resourceId, newer));
                step = pool.step(call, resourceId, CONFLICT, this.#now(), random32());
              } else {
                step = pool.step(call, resourceId, RESUME, this.#now(), random32());
              }
              this.#wake(resourceId);
              break;
            }
            case 'wait':
              stats.waits++;
              holding = false;
              slots.give();
              await this.#sleep(step.waitMs, step.reason === 'refresh' ? resourceId : null);
              const again = slots.take();
              if (again) await again;
              holding = true;
              if (step.reason === 'refresh' && this.#coordinate && !this.#persisting.get(resourceId)) {
                // Another process may hold the lease: look at the shared store again.
                const newer = await this.#store.get(resourceId);
                if (newer != null && !this.#persisting.get(resourceId)) w(() => pool.loadStored(resourceId, newer));
              }
              step = pool.step(call, resourceId, RESUME, this.#now(), random32());
              break;
            case 'done': {
              const r = step.response;
              return new ApiResponse(r.status, headerRecord(r.headers), r.body);
            }
            default:
              throw fromErrorInfo(step.error);
          }
        }
      } finally {
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

module.exports = { makeClient, MemoryTokenStore, ApiResponse };
