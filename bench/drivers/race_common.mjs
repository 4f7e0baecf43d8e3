// What every JS race driver shares: arguments, the user's side of the OAuth flow, the
// harness's reset, the worker pool and the summary line. No client logic here.
export const REDIRECT = 'http://127.0.0.1:9/oauth/callback';
export const SCOPES = 'contacts.readonly contacts.write locations.readonly';

export function parseArgs(argv = process.argv.slice(2)) {
  const a = {
    locations: 'loc_1', calls: '100', concurrency: '100', max: '100', 'interval-ms': '10000',
    'refresh-leeway-ms': '30000', driver: '',
  };
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const k = argv[i].slice(2);
    a[k] = argv[++i];
  }
  for (const k of ['base-url', 'client-id', 'client-secret']) if (!a[k]) throw new Error(`--${k} is required`);
  return {
    baseUrl: a['base-url'], clientId: a['client-id'], clientSecret: a['client-secret'],
    locations: a.locations.split(',').filter(Boolean), calls: Number(a.calls),
    concurrency: Number(a.concurrency), max: Number(a.max), intervalMs: Number(a['interval-ms']),
    refreshLeewayMs: Number(a['refresh-leeway-ms']), driver: a.driver,
  };
}

/** The user's consent on the emulator's authorization page: returns the code. */
export async function authorizeCode(baseUrl, clientId, location) {
  const u = new URL('/oauth/chooselocation', baseUrl);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: SCOPES, location_id: location })) {
    u.searchParams.set(k, v);
  }
  const r = await fetch(u, { redirect: 'manual' });
  const loc = r.headers.get('location');
  if (r.status !== 302 || !loc) throw new Error(`the authorization page answered ${r.status}`);
  return new URL(loc).searchParams.get('code');
}

/** Harness step: zero the emulator's counters, windows and timeline just before the race. */
export async function reset(baseUrl) {
  const r = await fetch(new URL('/_emulator/reset', baseUrl), { method: 'POST' });
  await r.text();
}

/** `a.calls` calls spread round-robin over the locations, `a.concurrency` in flight per location. */
export async function race(a, call) {
  const per = new Map(a.locations.map((l) => [l, []]));
  for (let i = 0; i < a.calls; i++) per.get(a.locations[i % a.locations.length]).push(i);
  let ok = 0;
  let failed = 0;
  const errors = {};
  const worker = async (loc, queue) => {
    while (queue.length) {
      queue.pop();
      try {
        await call(loc);
        ok++;
      } catch (e) {
        failed++;
        const key = `${(e && e.name) || 'Error'}: ${String((e && e.message) || e).slice(0, 80)}`;
        errors[key] = (errors[key] || 0) + 1;
      }
    }
  };
  const t0 = Date.now();
  const workers = [];
  for (const [loc, q] of per) {
    const n = Math.min(a.concurrency, Math.max(1, q.length));
    for (let i = 0; i < n; i++) workers.push(worker(loc, q));
  }
  await Promise.all(workers);
  const t1 = Date.now();
  const top = Object.fromEntries(Object.entries(errors).sort((x, y) => y[1] - x[1]).slice(0, 5));
  return { calls: a.calls, ok, failed, errors: top, start_unix_ms: t0, wall_ms: t1 - t0 };
}

export function emit(summary) {
  process.stdout.write(JSON.stringify(summary) + '\n');
}
