// The web entry: `await init()` (optionally with a URL, bytes or a compiled module), then the API.
import init, { initSync, App, Client } from 'hoopauth-impl';

export async function start(wasm: WebAssembly.Module) {
  const api = await init();
  initSync(wasm);
  const app: InstanceType<typeof api.App> = new App({ clientId: 'x', redirectUri: 'https://a.example/cb' });
  return new Client({ app });
}
