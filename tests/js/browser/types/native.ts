// The wasm-bindgen module's own declarations (typescript_custom_section, referring to the
// shared shapes of api.d.ts) type-check and fit the shapes the JS layer hands it.
import type * as Native from '../../../../bindings-wasm/pkg/hoopauth_wasm';
import type { TokenSet } from '../../api';

declare const n: typeof Native;
const app = new n.App({ clientId: 'x', redirectUri: 'https://a.example/cb' });
export const url: string = app.authorizationUrl({ scopes: ['contacts.readonly'] });
const pool = new n.Pool(app, null, { max: 10 });
const call = new n.Call({ path: '/contacts/', json: null });
const step = pool.step(call, 'loc_1', { type: 'start' }, Date.now(), 1);
export const waitMs: number | undefined = step.step === 'wait' ? step.waitMs : undefined;
declare const t: TokenSet;
export const id: string = pool.loadTokens(null, t);
