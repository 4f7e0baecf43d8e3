// The package's index.d.ts must be assignable to the shared contract (api.d.ts).
// tsc --noEmit -p tests/js/types, with the package dir mapped to "hoopauth-impl" (tsconfig paths).
import type * as Api from '../api';
import type * as Impl from 'hoopauth-impl';

declare const impl: typeof Impl;
export const asContract: typeof Api = impl;

// and the classes construct the same way
declare const app: Impl.App;
export const appAsContract: Api.App = app;
declare const err: Impl.HoopAuthError;
export const errAsContract: Api.HoopAuthError = err;
