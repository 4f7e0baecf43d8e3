// The low-level native module of hoopauth (the same surface as the Node addon). The
// public API (`api.d.ts`, a copy of tests/js/api.d.ts) declares every shared shape once;
// this module only refers to them.
import type {
  AppOptions, AuthorizationUrlOptions, TokenRequestOptions, ApiRequestOptions, HttpRequest,
  HttpResponseInit, HeadersInit, TokenSet, Callback, Classification, RateLimitHeaders, Limits,
  Decision, SessionOptions, SessionAction, WebhookVerification, WebhookEvent, CallOptions,
} from './api';

export interface NativeError { kind: string; message: string; status: number | null; retryAfterMs: number | null }
export type NativeEvent =
  | { type: 'start' } | { type: 'resume' } | { type: 'transport_error' } | { type: 'conflict' }
  | { type: 'response'; response: { status: number; headers: Array<[string, string]>; body: string } };
export type NativeStep =
  | { step: 'send'; request: HttpRequest } | { step: 'send_refresh'; request: HttpRequest }
  | { step: 'persist'; stored: string }
  | { step: 'wait'; waitMs: number; reason: 'rate_limit' | 'refresh' | 'backoff' }
  | { step: 'done'; response: { status: number; headers: Array<[string, string]>; body: string } }
  | { step: 'reauthorize'; error: NativeError } | { step: 'fail'; error: NativeError };
export interface CallStats { sends: number; refreshes: number; authRetries: number; rateLimitRetries: number; serverRetries: number }

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
  constructor(limits?: Partial<Limits> | null);
  acquire(nowMs: number): Decision;
  check(nowMs: number): Decision;
  observe(nowMs: number, status: number, headers: HeadersInit): void;
  readonly limits: Limits;
}
export class TokenSession {
  free(): void;
  constructor(app: App, options?: Partial<SessionOptions> | null);
  static fromStored(app: App, stored: string, options?: Partial<SessionOptions> | null): TokenSession;
  load(tokens: TokenSet | { response: HttpResponseInit; nowMs: number }): void;
  loadPrivate(token: string): void;
  acquire(nowMs: number): SessionAction;
  refreshResponse(response: HttpResponseInit, sentAtMs: number): TokenSet;
  apiResponse(response: HttpResponseInit, accessToken: string): Classification['kind'];
  toStored(): string;
  readonly version: number;
}
export class WebhookVerifier {
  free(): void;
  constructor(options?: { publicKey?: string; legacyRsaKey?: string | boolean; maxAgeMs?: number; capacity?: number } | null);
  verify(body: string | Uint8Array, headers: HeadersInit, nowMs?: number | null): WebhookVerification;
}
export class Call {
  free(): void;
  constructor(request: Omit<ApiRequestOptions, 'json'> & { json?: string | null }, options?: Partial<CallOptions & { coordinateRefresh: boolean }> | null);
  stats(): CallStats;
  readonly isFinished: boolean;
}
export class Pool {
  free(): void;
  constructor(app: App, sessionOptions?: Partial<SessionOptions> | null, limits?: Partial<Limits> | null);
  loadTokens(resourceId: string | null, tokens: TokenSet): string;
  loadPrivate(resourceId: string, token: string): void;
  loadStored(resourceId: string, stored: string): void;
  storedJson(resourceId: string): string | null;
  hasSession(resourceId: string): boolean;
  remove(resourceId: string): boolean;
  abort(call: Call, resourceId: string): void;
  step(call: Call, resourceId: string, event: NativeEvent, nowMs: number, random: number): NativeStep;
}
