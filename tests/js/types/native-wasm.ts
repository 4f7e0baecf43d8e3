// The wasm-bindgen module's declarations (bindings-wasm/src/shapes.d.ts, in pkg-node and in the
// web pkg) satisfy the one native contract the JS layer codes against (bindings-node/lib/native.d.ts).
import type * as WasmNode from '../../../bindings-wasm/pkg-node/hoopauth_wasm';
import type * as WasmWeb from '../../../bindings-wasm/pkg/hoopauth_wasm';
import type { NativeModule } from '../../../bindings-node/lib/native';

declare const wasmNode: typeof WasmNode;
declare const wasmWeb: typeof WasmWeb;
export const nodeTarget: NativeModule<WasmNode.App, WasmNode.Call> = wasmNode;
export const webTarget: NativeModule<WasmWeb.App, WasmWeb.Call> = wasmWeb;
