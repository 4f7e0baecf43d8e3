// A worker that uses the Durable Object store, as a user writes it (type-checked only: the
// workerd test runs the README's worker). The namespace and state shapes are written here the
// way @cloudflare/workers-types declares them, to check the package's structural types accept
// them.
import { Client, HoopAuthError, SharedWebhookVerifier, type SharedStore } from '@hoopauth/wasm';
import {
  DurableObjectStore, HoopAuthStore, type DurableObjectNamespaceLike, type DurableObjectStoreOptions,
} from '@hoopauth/wasm/durable-object';

// The shapes of @cloudflare/workers-types (abridged).
interface DurableObjectId { toString(): string; equals(other: DurableObjectId): boolean; readonly name?: string }
interface DurableObjectStub { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>; readonly id: DurableObjectId }
interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  idFromString(id: string): DurableObjectId;
  get(id: DurableObjectId, options?: { locationHint?: string }): DurableObjectStub;
}
interface DurableObjectStorage {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<boolean>;
  delete(keys: string[]): Promise<number>;
  list<T = unknown>(options?: { prefix?: string }): Promise<Map<string, T>>;
  transaction<T>(closure: (txn: DurableObjectStorage) => Promise<T>): Promise<T>;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
}
interface DurableObjectState { readonly id: DurableObjectId; readonly storage: DurableObjectStorage; waitUntil(p: Promise<unknown>): void }

interface Env { HOOPAUTH_STORE: DurableObjectNamespace; HOOPAUTH_STORE_KEY: string }

/** The class a worker exports (a subclass, as a user may add logging). */
export class Store extends HoopAuthStore {
  constructor(state: DurableObjectState, env: Env) {
    super(state, env);
  }
  override async fetch(request: Request): Promise<Response> {
    return super.fetch(request);
  }
}

const options: DurableObjectStoreOptions = { prefix: 'app:', timeoutMs: 1500, webhookObjects: 8 };

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const store = new DurableObjectStore(env.HOOPAUTH_STORE, options);
    const shared: SharedStore = store;
    const name: string = store.objectName('loc_1') + store.webhookObjectName('wh_1') + store.prefix;
    const client = new Client({ app: { clientId: 'id', clientSecret: 's' }, shared, keys: [new Uint8Array(32)] });
    const verifier = new SharedWebhookVerifier(store);
    const read = await store.read('loc_1');
    const rev: number = read.rev;
    const data: string | null = read.data;
    const written: boolean = await store.cas('loc_1', rev, data ?? '');
    const first: boolean = await store.seenFirst('wh_1', 600_000);
    const now: number = await store.nowMs();
    await store.delete('loc_1');
    try {
      const r = await client.request('loc_1', { path: '/contacts/' });
      return new Response(r.text, { status: r.status });
    } catch (e) {
      if (e instanceof HoopAuthError && (e.kind === 'store_unavailable' || e.kind === 'store_error')) {
        return Response.json({ error: e.kind, name, written, first, now, maxAgeMs: verifier.maxAgeMs }, { status: 503 });
      }
      throw e;
    }
  },
};

declare const anyNamespace: DurableObjectNamespaceLike;
export const plain = new DurableObjectStore(anyNamespace);
// @ts-expect-error a Durable Object namespace is needed
export const wrong = new DurableObjectStore({});
// @ts-expect-error the store's storage comes from the runtime's state
export const noState = new HoopAuthStore({});
