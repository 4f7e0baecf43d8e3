// A newcomer's server code, type-checked against the package's index.d.ts.
import {
  App, Client, HoopAuthError, MemoryTokenStore, WebhookVerifier, parseCallback, generateState,
  type TokenSet, type TokenStore, type ApiResponse, type ErrorKind,
} from 'hoopauth-impl';

const app = new App({ clientId: '65f1c0ffee-x', clientSecret: 'secret', redirectUri: 'https://myapp.com/cb' });
const store: TokenStore = new MemoryTokenStore();
const client = new Client({ app, store, limits: { max: 100, intervalMs: 10_000 }, session: { refreshLeewayMs: 300_000 } });
const state: string = generateState();
const url: string = client.authorizationUrl({ scopes: ['contacts.readonly'], state });

export async function callback(requestUrl: string): Promise<string> {
  const { code } = parseCallback(requestUrl, state);
  const tokens: TokenSet = await client.exchangeCode(code);
  return tokens.locationId ?? tokens.companyId ?? url;
}

export async function contacts(locationId: string): Promise<unknown[]> {
  try {
    const r: ApiResponse = await client.request(locationId, { path: '/contacts/', query: { locationId, limit: 20 } });
    return r.json<{ contacts: unknown[] }>().contacts;
  } catch (e) {
    if (e instanceof HoopAuthError) {
      const kind: ErrorKind = e.kind;
      if (kind === 'rate_limited') return [e.retryAfterMs ?? 0];
    }
    throw e;
  }
}

const verifier = new WebhookVerifier({ maxAgeMs: 300_000 });
export function webhook(body: Uint8Array, headers: Record<string, string>): boolean {
  return verifier.verify(body, headers).valid;
}
