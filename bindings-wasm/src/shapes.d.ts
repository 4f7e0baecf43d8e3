// The low-level native module of hoopauth (the same surface as the Node addon). The
// public API (`api.d.ts`, a copy of tests/js/api.d.ts) declares every shared shape once;
// this module only refers to them.
import type {
  AppOptions, AuthorizationUrlOptions, TokenRequestOptions, ApiRequestOptions, HttpRequest,
  HttpResponseInit, HeadersInit, TokenSet, Callback, Classification, RateLimitHeaders,
  WebhookVerification, WebhookEvent,
} from './api';

/** The core's Limits in camelCase (every field optional going in). */
export interface NativeLimits { max: number; intervalMs: number; marginMs: number; dailyMax: number; answerTimeoutMs: number }
export interface NativeSessionOptions { refreshLeewayMs: number; leaseMs: number }
/** The core's CallOptions in camelCase (every field optional going in). */
export interface NativeCallOptions {
  maxAuthRetries: number; maxRateLimitRetries: number; maxServerRetries: number; maxRefreshAttempts: number;
  backoffBaseMs: number; backoffMaxMs: number; maxWaitMs: number; refreshPollMs: number; recheckMs: number;
  coordinateRefresh: boolean;
}
/** A token set going in: `extra` may be absent or null (read as `{}`). */
export type NativeTokenSetIn = Omit<TokenSet, 'extra'> & { extra?: Record<string, unknown> | null };
/** `sendId`: report the send's answer with `answered(sendId, nowMs)`. */
export type NativeDecision = { allow: true; sendId: number } | { allow: false; waitMs: number; dailyExhausted: boolean };
export type NativeSessionAction =
  | { action: 'use'; accessToken: string } | { action: 'refresh'; request: HttpRequest }
  | { action: 'wait'; waitMs: number } | { action: 'reauthorize' } | { action: 'save' }
  | { action: 'mint'; companyId: string; locationId: string };

export interface NativeError { kind: string; message: string; status: number | null; retryAfterMs: number | null }
export type NativeEvent =
  | { type: 'start' } | { type: 'resume' } | { type: 'transport_error' } | { type: 'conflict' }
  | { type: 'persist_failed' }
  | { type: 'response'; response: { status: number; headers: Array<[string, string]>; body: string } };
export type NativeStep =
  | { step: 'send'; request: HttpRequest } | { step: 'send_refresh'; request: HttpRequest }
  | { step: 'persist'; stored: string }
  | { step: 'wait'; waitMs: number; reason: 'rate_limit' | 'in_flight' | 'refresh' | 'backoff' }
  | { step: 'done'; response: { status: number; headers: Array<[string, string]>; body: string } }
  | { step: 'reauthorize'; error: NativeError } | { step: 'fail'; error: NativeError }
  /** A minted location session came due: run `Call.locationToken(companyId, locationId)` on `companyId`. */
  | { step: 'mint'; companyId: string; locationId: string };
export interface CallStats { sends: number; refreshes: number; authRetries: number; rateLimitRetries: number; serverRetries: number; mints: number }
/** What the web framework answers a webhook delivery. */
export interface NativeWebhookReply { status: number; reason: string }
/** A verified delivery's plan: mint `mint` (expectMinted, then a `Call.token`), forget `forget`, answer `applied` when something changed, else `unchanged`. */
export interface NativeWebhookPlan {
  eventType: string; webhookId: string | null; companyId: string | null; mint: string[]; forget: string[];
  skip: string | null; applied: NativeWebhookReply; unchanged: NativeWebhookReply;
}

export class App {
  free(): void;
  constructor(options: AppOptions);
  readonly clientId: string;
  readonly apiBase: string;
  authorizationUrl(options: AuthorizationUrlOptions): string;
  tokenRequest(options: TokenRequestOptions): HttpRequest;
  locationTokenRequest(options: { agencyAccessToken: string; companyId: string; locationId: string }): HttpRequest;
  apiRequest(options: ApiRequestOptions & { accessToken: string }): HttpRequest;
}
export function parseCallback(url: string, expectedState?: string | null): Callback;
export function generateState(randomBytes: Uint8Array): string;
export function parseTokenResponse(response: HttpResponseInit, nowMs: number): TokenSet;
/** The token set's camelCase JSON text (fast path of parseTokenResponse). */
export function parseTokenBody(status: number, body: string, nowMs: number): string;
export function classifyResponse(response: HttpResponseInit, nowMs?: number | null): Classification;
export function parseRateLimitHeaders(headers: HeadersInit): RateLimitHeaders;
export function verifyWebhook(options: { body: string | Uint8Array; signature?: string | null; publicKey?: string; nowMs?: number; maxAgeMs?: number }): WebhookVerification;
export function parseWebhookEvent(body: string | Uint8Array): WebhookEvent;
export function suggestScope(scope: string): string | null;
export function knownScopes(): string[];
export function errorKinds(): string[];
export class RateLimiter {
  free(): void;
  constructor(limits?: Partial<NativeLimits> | null);
  acquire(nowMs: number): NativeDecision;
  check(nowMs: number): NativeDecision;
  answered(sendId: number, nowMs: number): void;
  observe(nowMs: number, status: number, headers: HeadersInit): void;
  readonly limits: NativeLimits;
}
export class TokenSession {
  free(): void;
  constructor(app: App, options?: Partial<NativeSessionOptions> | null);
  static fromStored(app: App, stored: string, options?: Partial<NativeSessionOptions> | null): TokenSession;
  load(tokens: NativeTokenSetIn | { response: HttpResponseInit; nowMs: number }): void;
  loadPrivate(token: string): void;
  acquire(nowMs: number): NativeSessionAction;
  refreshResponse(response: HttpResponseInit, sentAtMs: number): TokenSet;
  apiResponse(response: HttpResponseInit, accessToken: string): Classification['kind'];
  persisted(): void;
  saveFailed(): void;
  isUnsaved(): boolean;
  toStored(): string;
  readonly version: number;
}
export class WebhookVerifier {
  free(): void;
  constructor(options?: { publicKey?: string; legacyRsaKey?: string | boolean; maxAgeMs?: number; capacity?: number } | null);
  verify(body: string | Uint8Array, headers: HeadersInit, nowMs?: number | null): WebhookVerification;
  /** Forget one accepted webhookId: the same delivery is accepted again. */
  forgetSeen(webhookId: string): void;
}
export class Call {
  free(): void;
  constructor(request: Omit<ApiRequestOptions, 'json'> & { json?: string | null }, options?: Partial<NativeCallOptions> | null);
  stats(): CallStats;
  isFinished(): boolean;
  copy(): Call;
  /** Only a usable, saved token for the resource (mints a minted location's first token): ends `done` with an empty 204. */
  static token(options?: Partial<NativeCallOptions> | null): Call;
  /** The mint call of a `mint` step, run on the company: ends `done` with the answer of POST /oauth/locationToken. */
  static locationToken(companyId: string, locationId: string, options?: Partial<NativeCallOptions> | null): Call;
}
export class Pool {
  free(): void;
  constructor(app: App, sessionOptions?: Partial<NativeSessionOptions> | null, limits?: Partial<NativeLimits> | null);
  loadTokens(resourceId: string | null, tokens: NativeTokenSetIn): string;
  loadPrivate(resourceId: string, token: string): void;
  loadStored(resourceId: string, stored: string): void;
  storedJson(resourceId: string): string | null;
  hasSession(resourceId: string): boolean;
  remove(resourceId: string): boolean;
  abort(call: Call, resourceId: string, nowMs: number): void;
  isUnsaved(resourceId: string): boolean;
  beginSave(resourceId: string): string | null;
  endSave(resourceId: string, saved: boolean): void;
  unsavedResources(): string[];
  loadShared(resourceId: string, record: string | null | undefined): void;
  exportShared(resourceId: string, nonce: Uint8Array): string | null;
  sharedWritten(resourceId: string): void;
  setKeys(keys: Uint8Array[]): void;
  step(call: Call, resourceId: string, event: NativeEvent, nowMs: number, random: number): NativeStep;
  /** The mint call of the last `mint` step ended with `error`: the location's call ends `reauthorize` (company must authorize again) or `fail`. */
  mintFailed(call: Call, resourceId: string, error: { kind: string; message?: string }, nowMs: number, random: number): NativeStep;
  /** Make the location a minted session of the company; true when it holds no usable token (run `Call.token` on it). */
  expectMinted(locationId: string, companyId: string): boolean;
  loadMinted(locationId: string, companyId: string, tokens: NativeTokenSetIn): void;
  /** Forget the resource's session and pacing state (UNINSTALL). */
  forget(resourceId: string): boolean;
  mintedFrom(resourceId: string): { companyId: string; locationId: string } | null;
  planWebhook(body: string | Uint8Array): NativeWebhookPlan;
}
export function redisReadScript(): string;
export function redisCasScript(): string;
export function sqliteSchema(): string;
export function sharedTtlMs(): number;
export function sharedLeaseMs(): number;
export function redisKey(prefix: string, resourceId: string): string;
export function redisWebhookKey(prefix: string, webhookId: string): string;
/** The resources to load before `Pool.planWebhook(body)`. */
export function webhookReads(body: string | Uint8Array): string[];
/** The answer to a delivery the verifier rejected (its reason), or null for `ok`. */
export function webhookRejected(reason: string): NativeWebhookReply | null;
/** The answer to a verified delivery that is not an event (400 malformed). */
export function webhookMalformed(): NativeWebhookReply;
