// The napi addon's generated declarations (bindings-node/native.d.ts, written by `napi build`)
// satisfy the one native contract the JS layer codes against (bindings-node/lib/native.d.ts).
import type * as Addon from '../../../bindings-node/native';
import type { NativeModule } from '../../../bindings-node/lib/native';

declare const addon: typeof Addon;
export const native: NativeModule<Addon.App, Addon.Call> = addon;

// The addon returns its objects as serde values (napi would type them `any`); its
// ts_return_type / ts_args_type name the contract's interfaces instead. Not one of them may
// be `any`, or the assignment above would check nothing.
type IsAny<T> = 0 extends 1 & T ? true : false;
type Typed = [
  ConstructorParameters<typeof Addon.App>[0],
  Parameters<Addon.App['authorizationUrl']>[0],
  ReturnType<Addon.App['tokenRequest']>,
  ReturnType<Addon.App['locationTokenRequest']>,
  ReturnType<Addon.App['apiRequest']>,
  ReturnType<typeof Addon.parseCallback>,
  ReturnType<typeof Addon.parseTokenResponse>,
  ReturnType<typeof Addon.classifyResponse>,
  ReturnType<typeof Addon.parseRateLimitHeaders>,
  ReturnType<typeof Addon.verifyWebhook>,
  ReturnType<Addon.WebhookVerifier['verify']>,
  ReturnType<Addon.RateLimiter['acquire']>,
  ReturnType<Addon.RateLimiter['check']>,
  Addon.RateLimiter['limits'],
  ReturnType<Addon.TokenSession['acquire']>,
  ReturnType<Addon.TokenSession['refreshResponse']>,
  Parameters<Addon.TokenSession['load']>[0],
  Parameters<Addon.Pool['loadTokens']>[1],
  ReturnType<Addon.Pool['step']>,
  ReturnType<Addon.Call['stats']>,
];
type AnyOf<T extends unknown[]> = { [K in keyof T]: IsAny<T[K]> }[number];
export const noAny: AnyOf<Typed> extends false ? true : never = true;
