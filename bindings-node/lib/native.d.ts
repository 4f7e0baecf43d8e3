// The native surface the shared JS layer (lib/*.js) expects: one contract for both natives,
// the napi addon (bindings-node/native.js, types generated into bindings-node/native.d.ts by
// `napi build`) and the wasm-bindgen module (bindings-wasm pkg*/hoopauth_wasm.js, types from
// bindings-wasm/src/shapes.d.ts). tests/js/types/native-*.ts check with tsc that both module
// types are assignable to `NativeModule`. Prose: NATIVE.md.
//
// Numbers: every number going in is an integer (ms values, counts, ids, random: 0..=2^53-1;
// u32 option fields: 0..=2^32-1; webhook capacity: 0..=2^32-1; HTTP status: 100..=999);
// anything else (NaN, ±Infinity, negatives, fractions, out of range) throws `invalid_argument`.

export type Pairs = Array<[string, string]>;

/** A thrown native error: `message` is `"<kind>: <text>"`. */
export interface NativeError extends Error {
  kind: string;
  status?: number | null;
  retryAfterMs?: number | null;
}

export interface NativeRequest { method: string; url: string; headers: Pairs; body: string }
export interface NativeResponseIn { status: number; headers?: Pairs; body?: string }
export interface NativeResponseOut { status: number; headers: Pairs; body: string }

export interface NativeAppOptions {
  clientId: string; clientSecret?: string; redirectUri?: string; marketplace?: string;
  apiBase?: string; apiVersion?: string;
}
export interface NativeApiRequest {
  method?: string; path: string; query?: Pairs; json?: string; version?: string;
}

export interface NativeApp {
  readonly clientId: string;
  readonly apiBase: string;
  authorizationUrl(options: { scopes: string[]; state?: string; loginWindowOpenMode?: string; versionId?: string }): string;
  tokenRequest(options: { grant: string; code?: string; refreshToken?: string; userType?: string }): NativeRequest;
  locationTokenRequest(options: { agencyAccessToken: string; companyId: string; locationId: string }): NativeRequest;
  apiRequest(options: NativeApiRequest & { accessToken: string }): NativeRequest;
}

/** Every field present (`null` when absent). */
export interface NativeTokenSet {
  accessToken: string; tokenType: string | null; expiresIn: number | null; expiresAtMs: number | null;
  refreshToken: string | null; scopes: string[]; userType: 'Company' | 'Location' | null; locationId: string | null;
  companyId: string | null; approvedLocations: string[] | null; planId: string | null;
  isBulkInstallation: boolean | null; userId: string | null;
  /** Always an object when the natives hand a token set out (the addon's generated type says nullable). */
  extra: Record<string, unknown> | null;
}

export interface NativeClassification {
  kind: string; status: number; retryable: boolean; rateLimitScope: string | null;
  retryAfterMs: number | null; message: string | null;
}
export interface NativeRateLimitHeaders {
  max: number | null; intervalMs: number | null; remaining: number | null;
  dailyLimit: number | null; dailyRemaining: number | null;
}
export interface NativeVerification { valid: boolean; reason: string }

/** Option objects: the core's option structs in camelCase, every field optional. */
export interface NativeLimits {
  max?: number; intervalMs?: number; marginMs?: number; dailyMax?: number; answerTimeoutMs?: number;
}
export interface NativeSessionOptions { refreshLeewayMs?: number; leaseMs?: number }
export interface NativeCallOptions {
  maxAuthRetries?: number; maxRateLimitRetries?: number; maxServerRetries?: number;
  maxRefreshAttempts?: number; backoffBaseMs?: number; backoffMaxMs?: number; maxWaitMs?: number;
  refreshPollMs?: number; recheckMs?: number; coordinateRefresh?: boolean;
}
export interface NativeWebhookVerifierOptions {
  publicKey?: string; legacyRsaKey?: string | boolean; maxAgeMs?: number; capacity?: number;
}

/** `sendId`: report the send's answer (or transport error) with `answered(sendId, nowMs)`. */
export type NativeDecision =
  | { allow: true; sendId: number }
  | { allow: false; waitMs: number; dailyExhausted: boolean };

export interface NativeRateLimiter {
  acquire(nowMs: number): NativeDecision;
  check(nowMs: number): NativeDecision;
  answered(sendId: number, nowMs: number): void;
  observe(nowMs: number, status: number, headers: Pairs): void;
  readonly limits: Required<NativeLimits>;
}

/** 'save': store `toStored()`, then `persisted()` (or `saveFailed()`). */
export type NativeSessionAction =
  | { action: 'use'; accessToken: string }
  | { action: 'refresh'; request: NativeRequest }
  | { action: 'wait'; waitMs: number }
  | { action: 'reauthorize' }
  | { action: 'save' }
  /** A minted location session came due: mint its token from the company's (`Call.locationToken`). */
  | { action: 'mint'; companyId: string; locationId: string };

export interface NativeTokenSession {
  load(tokens: NativeTokenSet): void;
  loadPrivate(token: string): void;
  acquire(nowMs: number): NativeSessionAction;
  refreshResponse(response: NativeResponseIn, sentAtMs: number): NativeTokenSet;
  apiResponse(response: NativeResponseIn, accessToken: string): string;
  persisted(): void;
  saveFailed(): void;
  isUnsaved(): boolean;
  toStored(): string;
  readonly version: number;
}

export interface NativeWebhookVerifier {
  verify(body: string | Uint8Array, headers: Pairs, nowMs: number): NativeVerification;
  /** Forget one accepted webhookId: the same delivery is accepted again. */
  forgetSeen(webhookId: string): void;
}

export interface NativeCallStats {
  sends: number; refreshes: number; authRetries: number; rateLimitRetries: number; serverRetries: number;
  /** Location tokens minted by this call (a minted location session came due or was refused). */
  mints: number;
}
export interface NativeCall {
  /** Whether the call has ended (done, fail, reauthorize, aborted). A method, not a getter. */
  isFinished(): boolean;
  stats(): NativeCallStats;
  /** An independent copy in the current state (coordinated mode: a lost race steps again from it). */
  copy(): NativeCall;
}

export type NativeEvent =
  | { type: 'start' } | { type: 'resume' } | { type: 'transport_error' } | { type: 'conflict' }
  | { type: 'persist_failed' }
  | { type: 'response'; response: NativeResponseIn };

export type NativeWaitReason = 'rate_limit' | 'in_flight' | 'refresh' | 'backoff';
export interface NativeStepError { kind: string; message: string; status: number | null; retryAfterMs: number | null }
export type NativeStep =
  | { step: 'send'; request: NativeRequest }
  | { step: 'send_refresh'; request: NativeRequest }
  | { step: 'persist'; stored: string }
  | { step: 'wait'; waitMs: number; reason: NativeWaitReason }
  | { step: 'done'; response: NativeResponseOut }
  | { step: 'reauthorize'; error: NativeStepError }
  | { step: 'fail'; error: NativeStepError }
  /**
   * A minted location session came due (or its token was refused) and this call holds its
   * lease: run `Call.locationToken(companyId, locationId)` on the resource `companyId`, feed its
   * `done` response back as `{type: 'response'}`, its error through `pool.mintFailed`.
   * (`companyId`/`locationId` are also `pool.mintedFrom(resourceId)`.)
   */
  | { step: 'mint'; companyId?: string; locationId?: string };

/** What the web framework answers a webhook delivery. */
export interface NativeWebhookReply { status: number; reason: string }
/**
 * A verified delivery's plan: for each of `forget`, delete its tokens and `pool.forget` it; for
 * each of `mint`, `pool.expectMinted(location, companyId)` and, when true, a `Call.token` on it;
 * then answer `applied` when something changed, else `unchanged`.
 */
export interface NativeWebhookPlan {
  eventType: string; webhookId: string | null; companyId: string | null; mint: string[]; forget: string[];
  skip: string | null; applied: NativeWebhookReply; unchanged: NativeWebhookReply;
}

/** `C`: the module's own Call class (a native takes only its own instances). */
export interface NativePool<C extends NativeCall = NativeCall> {
  loadTokens(resourceId: string | null, tokens: NativeTokenSet): string;
  loadPrivate(resourceId: string, token: string): void;
  loadStored(resourceId: string, stored: string): void;
  storedJson(resourceId: string): string | null;
  hasSession(resourceId: string): boolean;
  remove(resourceId: string): boolean;
  step(call: C, resourceId: string, event: NativeEvent, nowMs: number, random: number): NativeStep;
  /** Releases the call's lease, a save under way and a send's slot; idempotent. */
  abort(call: C, resourceId: string, nowMs: number): void;
  isUnsaved(resourceId: string): boolean;
  /** The stored JSON to save (then `endSave`), or null: nothing to save or a save under way. */
  beginSave(resourceId: string): string | null;
  endSave(resourceId: string, saved: boolean): void;
  unsavedResources(): string[];
  /** Coordinated mode: take the resource's state from its shared record (null: none stored yet). */
  loadShared(resourceId: string, record: string | null): void;
  /** The record to compare-and-set after a step (sealed with the 24-byte nonce when keys are set), or null: nothing changed. */
  exportShared(resourceId: string, nonce: Uint8Array): string | null;
  /** The record exported last was written: its tokens are saved. */
  sharedWritten(resourceId: string): void;
  /** 32-byte sealing keys, the first seals, all open; `[]` turns sealing off. */
  setKeys(keys: Uint8Array[]): void;
  /** The mint call of the last `mint` step ended with `error` (its fail / reauthorize error). */
  mintFailed(call: C, resourceId: string, error: { kind: string; message?: string }, nowMs: number, random: number): NativeStep;
  /** Make the location a minted session of the company; true when it holds no usable token. */
  expectMinted(locationId: string, companyId: string): boolean;
  /** A location token minted outside a call (its refresh token is dropped): renews by minting. */
  loadMinted(locationId: string, companyId: string, tokens: NativeTokenSet): void;
  /** Forget the resource's session and pacing state (UNINSTALL); whether it held a credential. */
  forget(resourceId: string): boolean;
  /** The origin of a minted location session, else null. */
  mintedFrom(resourceId: string): { companyId: string; locationId: string } | null;
  /** The plan of a verified delivery (load `webhookReads(body)` first); throws `malformed_response`. */
  planWebhook(body: string | Uint8Array): NativeWebhookPlan;
}

/**
 * The module. `A`, `C`: the module's own App and Call classes (wasm-bindgen classes carry
 * `free()`; a native accepts only instances it made): check a module `M` as
 * `NativeModule<InstanceType<M['App']>, InstanceType<M['Call']>>`.
 */
export interface NativeModule<A extends NativeApp = NativeApp, C extends NativeCall = NativeCall> {
  App: new (options: NativeAppOptions) => NativeApp;
  parseCallback(url: string, expectedState?: string | null): { code: string; state?: string | null };
  generateState(randomBytes: Uint8Array): string;
  parseTokenResponse(response: NativeResponseIn, nowMs: number): NativeTokenSet;
  classifyResponse(response: NativeResponseIn, nowMs?: number | null): NativeClassification;
  parseRateLimitHeaders(headers: Pairs): NativeRateLimitHeaders;
  verifyWebhook(options: {
    body: string | Uint8Array; signature?: string; publicKey?: string; nowMs?: number; maxAgeMs?: number;
  }): NativeVerification;
  parseWebhookEvent(body: string | Uint8Array): { [field: string]: unknown };
  suggestScope(scope: string): string | null;
  knownScopes(): string[];
  /** The core's error kinds, in core order (includes 'store_error'). */
  errorKinds(): string[];
  RateLimiter: new (limits?: NativeLimits | null) => NativeRateLimiter;
  TokenSession: {
    new (app: A, options?: NativeSessionOptions | null): NativeTokenSession;
    fromStored(app: A, stored: string, options?: NativeSessionOptions | null): NativeTokenSession;
  };
  WebhookVerifier: new (options?: NativeWebhookVerifierOptions | null) => NativeWebhookVerifier;
  Call: {
    new (request: NativeApiRequest, options?: NativeCallOptions | null): NativeCall;
    /** Only a usable, saved token for the resource: ends `done` with an empty 204. */
    token(options?: NativeCallOptions | null): C;
    /** The mint call of a `mint` step (run on the company). */
    locationToken(companyId: string, locationId: string, options?: NativeCallOptions | null): C;
  };
  Pool: new (app: A, sessionOptions?: NativeSessionOptions | null, limits?: NativeLimits | null) => NativePool<C>;
  /** Coordinated mode: the core's store constants (never copied into JS). */
  redisReadScript(): string;
  redisCasScript(): string;
  sqliteSchema(): string;
  sharedTtlMs(): number;
  sharedLeaseMs(): number;
  redisKey(prefix: string, resourceId: string): string;
  redisWebhookKey(prefix: string, webhookId: string): string;
  /** The resources to load before `pool.planWebhook(body)`. */
  webhookReads(body: string | Uint8Array): string[];
  /** The answer to a delivery the verifier rejected (its reason), or null for `ok`. */
  webhookRejected(reason: string): NativeWebhookReply | null;
  /** The answer to a verified delivery that is not an event (400 malformed). */
  webhookMalformed(): NativeWebhookReply;
}
