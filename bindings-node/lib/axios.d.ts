// Types of lib/axios.js: an axios adapter over a hoopauth Client (axios is not a dependency:
// the adapter takes axios's request config and resolves to an axios-shaped response).
import type { Client } from '../api.js';

export interface AxiosAdapterOptions {
  /** Replace a caller-set Authorization header with the resource's token (default: refuse the request). */
  replaceAuthorization?: boolean;
  /** The resource (location or company id) of a request, or null for the built-in rules. */
  resource?: (config: any) => string | null | undefined;
  /** The header naming a request's resource explicitly (default `X-HoopAuth-Resource`; never sent). */
  resourceHeader?: string;
  /** Sends the requests that name no resource (default globalThis.fetch). */
  fetch?: (url: string, init: any) => Promise<any>;
  /** axios's AxiosError class: error answers then reject with real AxiosErrors. */
  AxiosError?: new (message: string, code: string, config: any, request: any, response: any) => Error;
}

/** What the adapter resolves to (axios parses `data` and wraps `headers` itself). */
export interface AxiosAdapterResponse {
  data: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: any;
  request: unknown;
}

/** An axios adapter sending through `client.request`: `instance.defaults.adapter = axiosAdapter(client)`. */
export declare function axiosAdapter(
  client: Pick<Client, 'request'>,
  options?: AxiosAdapterOptions,
): (config: any) => Promise<AxiosAdapterResponse>;

/** The resource an axios request config is for, or null (the adapter's built-in rules). */
export declare function axiosRequestResource(config: any, options?: { resourceHeader?: string }): string | null;

/** The header naming a request's resource explicitly. */
export declare const AXIOS_RESOURCE_HEADER: 'X-HoopAuth-Resource';
