// Coordinated mode on Cloudflare Workers: the Durable Object class that holds the shared
// records, and the store a Client takes as `shared` (see the package README, "Coordinated
// mode on Cloudflare Workers"). Structural types only: no dependency on
// @cloudflare/workers-types (whose DurableObjectState and DurableObjectNamespace fit these).
import type { SharedRead, SharedStore } from './api.js';

/** The storage calls HoopAuthStore makes (a Durable Object's `state.storage`). */
export interface DurableObjectStorageLike {
  get(key: string): Promise<any>;
  put(key: string, value: any): Promise<void>;
  delete(key: string | string[]): Promise<boolean | number>;
  list(options?: { prefix?: string; limit?: number; startAfter?: string }): Promise<Map<string, any>>;
  transaction<T>(run: (txn: {
    get(key: string): Promise<any>;
    put(key: string, value: any): Promise<void>;
  }) => Promise<T>): Promise<T>;
  getAlarm?(): Promise<number | null>;
  setAlarm?(scheduledTime: number | Date): Promise<void>;
}

/** What the runtime hands a Durable Object's constructor. */
export interface DurableObjectStateLike {
  storage: DurableObjectStorageLike;
}

/** A stub of one object (`namespace.get(id)`): HoopAuthStore is called through its fetch. */
export interface DurableObjectStubLike {
  fetch(input: any, init?: any): Promise<{ ok: boolean; status: number; json(): Promise<any> }>;
}

/** A Durable Object namespace binding (`env.HOOPAUTH_STORE`). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): any;
  get(id: any): DurableObjectStubLike;
}

/**
 * The Durable Object class: holds each resource's record (revision, data, expiry) and the
 * seen webhook ids in its storage; answers read (with the object's clock), compare-and-set,
 * delete, seen and now. Export it from the worker's main module and bind it.
 */
export class HoopAuthStore {
  constructor(state: DurableObjectStateLike, env?: unknown);
  fetch(request: Request): Promise<Response>;
  /** Deletes expired entries (records after SHARED_TTL_MS, webhook ids after their window). */
  alarm(): Promise<void>;
}

/** Options of DurableObjectStore. */
export interface DurableObjectStoreOptions {
  /** Prefix of the object names (default `'hoopauth:'`): one object per resource, `<prefix><resourceId>`. */
  prefix?: string;
  /** How long to wait for an object's answer before `store_unavailable` (ms, default 2000). */
  timeoutMs?: number;
  /** How many objects share the seen webhook ids (by a hash of the id; default 16). */
  webhookObjects?: number;
}

/**
 * The shared store of coordinated mode over HoopAuthStore objects, one per resource. An object
 * that cannot be reached (the call rejects, or no answer in `timeoutMs`) fails with
 * `store_unavailable`; one that answers with an error, with `store_error`.
 */
export class DurableObjectStore implements SharedStore {
  constructor(namespace: DurableObjectNamespaceLike, options?: DurableObjectStoreOptions);
  readonly prefix: string;
  readonly timeoutMs: number;
  /** The name of the object holding `resourceId`'s record. */
  objectName(resourceId: string): string;
  /** The name of the object that remembers `webhookId`. */
  webhookObjectName(webhookId: string): string;
  read(resourceId: string): Promise<SharedRead>;
  cas(resourceId: string, rev: number, data: string): Promise<boolean>;
  delete(resourceId: string): Promise<void>;
  seenFirst(webhookId: string, ttlMs: number): Promise<boolean>;
  /** Un-mark `webhookId` (its handling failed): the same delivery is handled again. */
  forgetSeen(webhookId: string): Promise<void>;
  nowMs(): Promise<number>;
  toJSON(): { prefix: string };
}
