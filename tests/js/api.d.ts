// The JavaScript API of hoopauth, shared by the Node native addon (`bindings-node`) and the
// WASM package (`bindings-wasm`). Both packages' `index.d.ts` must be assignable to this
// module's shape (checked by `tests/js/types/check.ts` with `tsc --noEmit`), and one test
// suite (`tests/js/*.test.mjs`) runs against either implementation.
//
// Conventions: camelCase; plain data in and out; times are Unix milliseconds (`nowMs`);
// every failure is a `HoopAuthError` whose `kind` is one of SPEC's snake_case strings.
// Nothing that holds a secret prints it: `toString()`, `JSON.stringify()` and
// `util.inspect()` of App, TokenSession, Client, TokenSet, request objects, session actions
// and callback results show `[redacted]`; the raw values stay reachable by property
// (`request.body`, `action.accessToken`, `callback.code`) and as plain data via `expose()`.

export type ErrorKind =
  | 'invalid_config' | 'invalid_argument' | 'invalid_scope' | 'authorization_denied'
  | 'state_mismatch' | 'missing_code' | 'invalid_grant' | 'invalid_client'
  | 'invalid_request' | 'location_inactive' | 'unauthorized' | 'insufficient_scope'
  | 'token_type_mismatch' | 'forbidden' | 'not_found' | 'rate_limited' | 'server_error'
  | 'client_error' | 'malformed_response' | 'unexpected_status' | 'invalid_key'
  | 'store_error' | 'store_unavailable';

/** Every kind, in the core's order. */
export const ERROR_KINDS: readonly ErrorKind[];

export class HoopAuthError extends Error {
  readonly kind: ErrorKind;
  /** HTTP status when an HTTP answer caused the error. */
  readonly status: number | null;
  /** How long to wait before trying again, when known. */
  readonly retryAfterMs: number | null;
  /** Set (true) on a call's error when the user must authorize the app again. */
  readonly reauthorize?: boolean;
}

export type UserType = 'Company' | 'Location';
export type HeadersInit = Record<string, string> | Array<[string, string]> | { forEach(cb: (value: string, key: string) => void): void };

export interface AppOptions {
  clientId: string;
  /** Server side only; browsers omit it. */
  clientSecret?: string;
  redirectUri?: string;
  /** 'standard' (default), 'white-label', or a base URL. */
  marketplace?: string;
  /** Default https://services.leadconnectorhq.com */
  apiBase?: string;
  /** The Version header, default 2021-07-28. */
  apiVersion?: string;
}

/** A request for the host's HTTP client. `body` is the exact text to send ('' for none).
 *  `fetch(r.url, { method: r.method, headers: r.headers, body: r.body })` sends it; printing
 *  it hides the secrets (authorization header, secret form fields). */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers: Array<[string, string]>;
  /** A getter (not an own enumerable field): may hold secrets. */
  readonly body: string;
  /** Plain data with the raw values. */
  expose(): { method: HttpRequest['method']; url: string; headers: Array<[string, string]>; body: string };
}

/** A response as received. */
export interface HttpResponseInit {
  status: number;
  headers?: HeadersInit;
  body?: string;
}

export interface AuthorizationUrlOptions {
  scopes: string[];
  state?: string;
  loginWindowOpenMode?: 'self';
  /** An app version id, or 'auto' (the part of clientId before its first '-'). */
  versionId?: string;
}

export interface TokenRequestOptions {
  grant: 'authorization_code' | 'refresh_token' | 'client_credentials';
  code?: string;
  refreshToken?: string;
  /** Case-insensitive in. */
  userType?: string;
}

export interface ApiRequestOptions {
  method?: string;             // default 'GET'
  path: string;                // '/contacts/' or an absolute URL on the API origin
  query?: Record<string, string | number | boolean> | Array<[string, string]>;
  json?: unknown;              // serialised with JSON.stringify; POST/PUT/PATCH only
  version?: string;            // overrides apiVersion
}

export class App {
  constructor(options: AppOptions);
  readonly clientId: string;
  readonly apiBase: string;
  authorizationUrl(options: AuthorizationUrlOptions): string;
  tokenRequest(options: TokenRequestOptions): HttpRequest;
  locationTokenRequest(options: { agencyAccessToken: string; companyId: string; locationId: string }): HttpRequest;
  apiRequest(options: ApiRequestOptions & { accessToken: string }): HttpRequest;
}
/** `App` under the name Rust and Python use (one name per thing across languages). */
export declare const Config: typeof App;
/** `App` under the name Rust and Python use. */
export type Config = App;

export interface TokenSet {
  accessToken: string;
  tokenType: string | null;
  expiresIn: number | null;
  expiresAtMs: number | null;
  refreshToken: string | null;
  scopes: string[];
  userType: UserType | null;
  locationId: string | null;
  companyId: string | null;
  approvedLocations: string[] | null;
  planId: string | null;
  isBulkInstallation: boolean | null;
  userId: string | null;
  /** Fields the platform sent that hoopauth does not know. */
  extra: Record<string, unknown>;
}

export interface Callback {
  /** A getter: printing the callback hides the code. */
  readonly code: string;
  state: string | null;
  expose(): { code: string; state: string | null };
}

/** A full redirect URL or a bare query string. */
export function parseCallback(url: string, expectedState?: string): Callback;
/** base64url of at least 16 caller-supplied random bytes (the browser wrapper passes crypto.getRandomValues). */
export function generateState(randomBytes?: Uint8Array): string;
/** `nowMs` = when the request was sent. Throws HoopAuthError for error answers. */
export function parseTokenResponse(response: HttpResponseInit, nowMs: number): TokenSet;

export interface Classification {
  kind: 'ok' | 'unauthorized' | 'insufficient_scope' | 'token_type_mismatch' | 'forbidden' | 'not_found'
      | 'rate_limited' | 'server_error' | 'client_error' | 'unexpected_status';
  status: number;
  retryable: boolean;
  rateLimitScope: 'burst' | 'daily' | null;
  retryAfterMs: number | null;
  message: string | null;
}
export function classifyResponse(response: HttpResponseInit, nowMs?: number): Classification;

export interface RateLimitHeaders {
  max: number | null; intervalMs: number | null; remaining: number | null;
  dailyLimit: number | null; dailyRemaining: number | null;
}
export function parseRateLimitHeaders(headers: HeadersInit): RateLimitHeaders;

export interface Limits {
  max: number; intervalMs: number; marginMs: number; dailyMax: number;
  /** A send holds its slot until its answer, or this long after it was sent (default 60000). */
  answerTimeoutMs: number;
}
/** `sendId`: report the send's answer with `answered(sendId, nowMs)`. */
export type Decision = { allow: true; sendId: number } | { allow: false; waitMs: number; dailyExhausted: boolean };

export class RateLimiter {
  constructor(limits?: Partial<Limits>);
  acquire(nowMs: number): Decision;
  check(nowMs: number): Decision;
  /** The answer (or transport error) of an allowed send arrived: its slot counts from now. */
  answered(sendId: number, nowMs: number): void;
  observe(nowMs: number, status: number, headers: HeadersInit): void;
  readonly limits: Limits;
}

export interface SessionOptions { refreshLeewayMs: number; leaseMs: number }
export type SessionAction =
  | { action: 'use'; readonly accessToken: string; expose(): { action: 'use'; accessToken: string } }
  | { action: 'refresh'; request: HttpRequest }
  | { action: 'wait'; waitMs: number }
  /** Tokens a failed save left unsaved: store `toStored()`, then `persisted()` (or `saveFailed()`). */
  | { action: 'save' }
  | { action: 'reauthorize' };

export class TokenSession {
  constructor(app: App, options?: Partial<SessionOptions>);
  /** Restore from `toStored()`. */
  static fromStored(app: App, stored: string, options?: Partial<SessionOptions>): TokenSession;
  /** Load a token set, or a token endpoint answer parsed at nowMs. */
  load(tokens: TokenSet | { response: HttpResponseInit; nowMs: number }): void;
  loadPrivate(token: string): void;
  acquire(nowMs: number): SessionAction;
  /** sentAtMs = when the refresh was sent. Returns the new set; throws HoopAuthError. */
  refreshResponse(response: HttpResponseInit, sentAtMs: number): TokenSet;
  /** Feed an API answer obtained with accessToken; returns the classification kind. */
  apiResponse(response: HttpResponseInit, accessToken: string): Classification['kind'];
  /** JSON of the stored form (holds tokens: store it as a secret). */
  /** The stored form (JSON holding the tokens: keep it as secret as they are). */
  storedJson(): string;
  /** @deprecated Old name of `storedJson()`. */
  toStored(): string;
  /** Whether the session holds tokens its store does not (a save failed). */
  isUnsaved(): boolean;
  /** The store now holds `toStored()` (after a refresh or a 'save' action). */
  persisted(): void;
  /** The save failed: the tokens stay in memory, unsaved; `acquire` answers 'save' first. */
  saveFailed(): void;
  readonly version: number;
}

export type WebhookReason = 'ok' | 'bad_signature' | 'stale' | 'duplicate';
export interface WebhookVerification { valid: boolean; reason: WebhookReason }
export function verifyWebhook(options: {
  body: string | Uint8Array;   // the raw body, exactly as received
  signature?: string | null;   // x-ghl-signature
  publicKey?: string;          // PEM SPKI, base64 or hex raw key; default: the platform's key
  nowMs?: number;
  maxAgeMs?: number;           // default 300000
}): WebhookVerification;

export class WebhookVerifier {
  constructor(options?: { publicKey?: string; legacyRsaKey?: string | boolean; maxAgeMs?: number; capacity?: number });
  /** headers: the request's headers (x-ghl-signature / x-wh-signature found case-insensitively). */
  verify(body: string | Uint8Array, headers: HeadersInit, nowMs?: number): WebhookVerification;
}

export type WebhookEvent =
  | { type: 'INSTALL'; appId: string | null; installType: string | null; locationId: string | null; companyId: string | null; userId: string | null; timestamp: string | null; webhookId: string | null; [k: string]: unknown }
  | { type: 'UNINSTALL'; appId: string | null; locationId: string | null; companyId: string | null; timestamp: string | null; webhookId: string | null; [k: string]: unknown }
  | { type: string; [k: string]: unknown };
export function parseWebhookEvent(body: string | Uint8Array): WebhookEvent;

/** Known scope catalogue and suggestions. */
export function suggestScope(scope: string): string | null;
export const KNOWN_SCOPES: readonly string[];

/** Environment variables, e.g. `process.env` or a worker's bindings. */
export type EnvVars = { readonly [name: string]: string | undefined };
/** An App from HOOPAUTH_CLIENT_ID (required), HOOPAUTH_CLIENT_SECRET, HOOPAUTH_REDIRECT_URI,
 *  HOOPAUTH_MARKETPLACE and HOOPAUTH_API_BASE (unset or empty: the default), read from `env`
 *  (default: `process.env`); throws HoopAuthError 'invalid_config' without a client id. */
export function configFromEnv(env?: EnvVars): App;
/** A WebhookVerifier for HOOPAUTH_WEBHOOK_KEY (unset or empty: the platform's published key). */
export function webhookVerifierFromEnv(env?: EnvVars, options?: { maxAgeMs?: number; capacity?: number; legacyRsaKey?: string | boolean }): WebhookVerifier;

// ---- the fetch driver ---------------------------------------------------------------

/** Where token sessions live between calls and processes. Values are `TokenSession.toStored()` strings. */
export interface TokenStore {
  get(resourceId: string): Promise<string | null> | string | null;
  /** Return false to refuse a write (compare-and-set: the store holds a newer `version`). */
  set(resourceId: string, stored: string): Promise<void | boolean> | void | boolean;
  delete?(resourceId: string): Promise<void> | void;
}
export class MemoryTokenStore implements TokenStore {
  constructor();
  get(resourceId: string): string | null;
  set(resourceId: string, stored: string): void;
  delete(resourceId: string): void;
}

export interface CallOptions {
  maxAuthRetries: number; maxRateLimitRetries: number; maxServerRetries: number;
  maxRefreshAttempts: number; backoffBaseMs: number; backoffMaxMs: number;
  maxWaitMs: number; refreshPollMs: number;
  /** Rate-limit waits are handed out in pieces of at most this (default 1000). */
  recheckMs: number;
  /** Several processes share the store: persist the refresh lease first (the store's `set`
   *  refuses an older `version` by returning false), so one process refreshes. */
  coordinateRefresh: boolean;
}

export interface ClientOptions {
  app: App | AppOptions;
  store?: TokenStore;                      // default: a MemoryTokenStore
  fetch?: typeof fetch;                    // default: globalThis.fetch
  limits?: Partial<Limits>;
  session?: Partial<SessionOptions>;
  call?: Partial<CallOptions>;
  now?: () => number;                      // default Date.now
  /** Calls stepping or sending at once (default 16); a waiting call holds none. */
  maxInFlight?: number;
  /** How a call wakes another (a freed slot, an answer): 'direct' resolves the waiter's
   *  promise (Node's default); 'poll' lets each waiter look on its own short timer, so no
   *  request resolves another request's promise (required by Cloudflare's workerd; the
   *  default wherever the runtime is not known to be Node). */
  handoff?: 'direct' | 'poll';
  /** Coordinated mode: many processes, one client. Every step of a call is a transaction on
   *  this store (read at the store's clock, step, compare-and-set), so all the processes that
   *  share it pace and refresh as one client. Not with `store`. */
  shared?: SharedStore;
  /** Coordinated mode: seal the shared records (XChaCha20-Poly1305, in the core) with these
   *  32-byte keys; the first seals, every one opens (rotation). */
  keys?: Uint8Array[];
  /** Called with each event of the client (the Python package's `on_event` vocabulary): small
   *  plain objects with ids, names, statuses and timings, never a secret. A hook that throws
   *  is ignored. */
  onEvent?: (event: HoopAuthEvent) => void;
  /** How `handleWebhook` verifies deliveries (default: the platform's Ed25519 key, the core's
   *  300 s replay window). In coordinated mode its duplicate memory is the shared store's. */
  webhook?: { publicKey?: string; legacyRsaKey?: string | boolean; maxAgeMs?: number; capacity?: number };
}

/** What `Client.handleWebhook` did with a delivery; answer the platform with `status`. */
export interface WebhookHandling {
  /** 200 (applied, nothing_to_do, ignored, no_company_tokens, duplicate), 400 malformed,
   *  401 bad_signature or stale, 503 store_unavailable (the shared store could not be asked). */
  status: number;
  reason: 'applied' | 'nothing_to_do' | 'ignored' | 'no_company_tokens' | 'duplicate' | 'bad_signature' | 'stale'
    | 'malformed' | 'store_unavailable' | (string & {});
  /** The event's type (`INSTALL`, `UNINSTALL`, …); null when it was not verified or parsed. */
  type: string | null;
  webhookId: string | null;
  /** Locations whose first token was minted (sorted). */
  minted: string[];
  /** Resources whose tokens and pacing state were deleted. */
  forgotten: string[];
  /** Locations whose mint failed: they stay expected, and their first call mints them. */
  failed: Array<{ resource: string; kind: ErrorKind }>;
}

/** An event given to `ClientOptions.onEvent`: `event` names it, `resource` is the resource id. */
export type HoopAuthEvent = { resource: string } & (
  | { event: 'call_start'; method: string; path: string }
  /** A call sleeps: `reason` e.g. 'rate_limit', 'in_flight', 'refresh', 'backoff'. */
  | { event: 'wait'; reason: string; ms: number }
  /** A request leaves: `path` without its query. */
  | { event: 'send' | 'refresh_sent'; method: string; path: string }
  | { event: 'answer' | 'refresh_answered'; status: number; ms: number }
  | { event: 'transport_error'; ms: number }
  | { event: 'persist' | 'persist_saved' | 'abort' | 'saved' | 'forget' }
  /** `error`: the class name of what the store threw. */
  | { event: 'persist_failed' | 'save_failed'; error: string }
  | { event: 'call_done'; status: number; ms: number }
  | { event: 'call_failed'; kind: string; ms: number }
  /** Coordinated mode: another process wrote the shared record first. */
  | { event: 'store_lost_race'; attempt: number }
  /** A minted location session came due (or has no token yet): minted from `company`'s token. */
  | { event: 'mint'; company: string }
  | { event: 'minted'; status: number; ms: number }
  | { event: 'mint_failed'; kind: string; ms: number }
  /** `handleWebhook` answered a delivery (`resource` is ''). */
  | { event: 'webhook'; status: number; reason: string }
);

/** A record of the shared store: `rev` 0 and `data` null when absent; `nowMs`: the store's clock. */
export interface SharedRead { rev: number; data: string | null; nowMs: number }
/** What coordinated mode needs of a store (RedisStore, MemorySharedStore, or your own). */
export interface SharedStore {
  read(resourceId: string): Promise<SharedRead> | SharedRead;
  /** Write `data` if the record is still at `rev` (then rev + 1); false when another process wrote first. */
  cas(resourceId: string, rev: number, data: string): Promise<boolean> | boolean;
  delete?(resourceId: string): Promise<void> | void;
  /** Mark a webhook id as seen for `ttlMs`; true when no process had seen it. */
  seenFirst?(webhookId: string, ttlMs: number): Promise<boolean> | boolean;
  /** Un-mark a webhook id (handling it failed): the platform's retry is handled in full. */
  forgetSeen?(webhookId: string): Promise<void> | void;
  nowMs?(): Promise<number> | number;
}
/** The ioredis client shape RedisStore uses (a `Redis` or a `Cluster`). */
export interface IoRedisLike {
  status: string;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  [command: string]: any;
}
/** A shared store on Redis through your ioredis client (create it with
 *  `enableOfflineQueue: false, maxRetriesPerRequest: 0` to fail fast while Redis is down).
 *  Fails with `store_unavailable` when Redis cannot be reached (after `timeoutMs`, default 1000). */
export class RedisStore implements SharedStore {
  constructor(client: IoRedisLike, options?: { prefix?: string; timeoutMs?: number });
  readonly prefix: string;
  readonly client: IoRedisLike;
  key(resourceId: string): string;
  webhookKey(webhookId: string): string;
  read(resourceId: string): Promise<SharedRead>;
  cas(resourceId: string, rev: number, data: string): Promise<boolean>;
  delete(resourceId: string): Promise<void>;
  seenFirst(webhookId: string, ttlMs: number): Promise<boolean>;
  forgetSeen(webhookId: string): Promise<void>;
  nowMs(): Promise<number>;
}
/** A shared store in this process's memory (tests; several clients in one process). */
export class MemorySharedStore implements SharedStore {
  constructor(options?: { now?: () => number });
  read(resourceId: string): SharedRead;
  cas(resourceId: string, rev: number, data: string): boolean;
  delete(resourceId: string): void;
  seenFirst(webhookId: string, ttlMs: number): boolean;
  forgetSeen(webhookId: string): void;
  nowMs(): number;
  readonly size: number;
}
/** Webhook verification with duplicate detection shared through a store (twice the replay window). */
export class SharedWebhookVerifier {
  constructor(store: SharedStore, options?: { publicKey?: string; legacyRsaKey?: string | boolean; maxAgeMs?: number });
  readonly maxAgeMs: number;
  verify(body: string | Uint8Array, headers: HeadersInit, nowMs?: number): Promise<WebhookVerification>;
}
/** The core's Redis scripts, SQLite schema, record time-to-live and coordinated refresh lease. */
export const REDIS_READ_SCRIPT: string;
export const REDIS_CAS_SCRIPT: string;
export const SQLITE_SCHEMA: string;
export const SHARED_TTL_MS: number;
export const SHARED_LEASE_MS: number;
/** The Redis key of a resource's shared record (`{prefix}{<resourceId>}`: one Cluster hash slot). */
export function redisKey(prefix: string, resourceId: string): string;
export function redisWebhookKey(prefix: string, webhookId: string): string;

/** Cancellation of one client operation (the AbortSignal convention). */
export interface CallControl {
  /** Aborting ends the operation with `signal.reason` after the core released what it held. */
  signal?: AbortSignal;
  /** Ends the operation with a `TimeoutError` DOMException after this many ms. */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json<T = any>(): T;
}

export interface ClientStats {
  sends: number; refreshes: number; waits: number; retries: number;
  /** Location tokens minted from their company's token by calls (a minted location's first
   *  token after an INSTALL, and each renewal when one comes due). */
  mints: number;
  /** Coordinated mode only: store reads, compare-and-set writes, writes lost to another process. */
  storeReads?: number; storeWrites?: number; lostRaces?: number;
}

/** Pace, send, classify, refresh once, retry — the core's call loop over `fetch`. */
export class Client {
  constructor(options: ClientOptions);
  readonly app: App;
  authorizationUrl(options: AuthorizationUrlOptions): string;
  /** Exchange the code (or a whole callback URL, checked against expectedState); stores and returns the set. */
  exchangeCode(codeOrCallbackUrl: string, options?: { expectedState?: string; userType?: UserType } & CallControl): Promise<TokenSet>;
  /** Mint and store a location token from a stored company token; from then on the location
   *  renews itself from the company (minted again when due, never refreshed). */
  locationToken(companyId: string, locationId: string, options?: CallControl): Promise<TokenSet>;
  /** Handle a webhook delivery end to end: verify (signature, replay window, duplicates —
   *  shared in coordinated mode), parse, apply (INSTALL mints the approved locations' tokens
   *  from the company's, UNINSTALL deletes the resource's tokens and pacing state). `body` is
   *  the raw request body. Idempotent: a repeated delivery is answered `duplicate`. */
  handleWebhook(
    body: string | Uint8Array,
    headers: HeadersInit | Record<string, string | string[] | undefined>,
    options?: { verifier?: { verify(body: string | Uint8Array, headers: HeadersInit, nowMs?: number): WebhookVerification | Promise<WebhookVerification> }; nowMs?: number } & CallControl,
  ): Promise<WebhookHandling>;
  /** Use a private-integration token for a resource. */
  usePrivateToken(resourceId: string, token: string): Promise<void>;
  /** Store an existing token set for a resource (default: its locationId, else companyId). */
  setTokens(tokens: TokenSet, resourceId?: string): Promise<string>;
  /** One API call on behalf of a location or company; throws HoopAuthError (a failed token
   *  save: 'store_error', with the store's error as `cause`; the tokens stay in memory and the
   *  next call saves them first), or the signal's reason when cancelled. */
  request(resourceId: string, options: ApiRequestOptions & CallControl): Promise<ApiResponse>;
  /** Save every resource's tokens a failed or cancelled save left unsaved; resolves to their ids. */
  flush(options?: CallControl): Promise<string[]>;
  /** Forget a resource (e.g. after UNINSTALL): its tokens and pacing state leave this client
   *  and its store (in coordinated mode the shared record is emptied). */
  forget(resourceId: string): Promise<void>;
  /** The shared store of coordinated mode, or null. */
  readonly shared: SharedStore | null;
  readonly handoff: 'direct' | 'poll';
  stats(): ClientStats;
}
