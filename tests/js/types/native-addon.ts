// The napi addon's generated declarations (bindings-node/native.d.ts, written by `napi build`)
// satisfy the one native contract the JS layer codes against (bindings-node/lib/native.d.ts).
import type * as Addon from '../../../bindings-node/native';
import type { NativeModule } from '../../../bindings-node/lib/native';

declare const addon: typeof Addon;
export const native: NativeModule<Addon.App, Addon.Call> = addon;
