// A consumer of @hoopauth/wasm as a user writes it: init, named imports, used.
import init, { App, Client, HoopAuthError, configFromEnv, parseCallback, WebhookVerifier, webhookVerifierFromEnv, type TokenSet } from '@hoopauth/wasm';

const app = new App({ clientId: 'id', clientSecret: 'secret', redirectUri: 'http://localhost:3000/callback' });
const client = new Client({ app });
const url: string = client.authorizationUrl({ scopes: ['contacts.readonly'], state: 's' });
const cb = parseCallback(url + '&code=c', 's');
const code: string = cb.code;
export async function run(): Promise<number> {
  try {
    const tokens: TokenSet = await client.exchangeCode(code);
    const res = await client.request(tokens.locationId ?? '', { method: 'GET', path: '/contacts/' });
    return res.status;
  } catch (e) {
    if (e instanceof HoopAuthError) return e.status ?? 0;
    throw e;
  }
}
export const verifier = new WebhookVerifier();
export const ready: Promise<unknown> = init();
export const fromEnv: App = configFromEnv({ HOOPAUTH_CLIENT_ID: 'id', HOOPAUTH_API_BASE: undefined });
export const envVerifier: WebhookVerifier = webhookVerifierFromEnv({});
