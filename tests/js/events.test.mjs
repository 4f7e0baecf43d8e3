// Watching it work: the onEvent hook over one paced call with a refresh, against the emulator
// — the events in order (the same names and fields as the Python package's on_event), and no
// secret in any of them (tokens before and after the refresh, the client secret, the code,
// the stored JSON, query values). A hook that throws never breaks a call.
import test from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { h, startEmulator, authorize, SCOPES } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function newClient(emu, extra = {}) {
  const app = new h.App({
    clientId: emu.info.client_id, clientSecret: emu.info.client_secret,
    redirectUri: 'http://127.0.0.1:9/oauth/callback', apiBase: emu.baseUrl, marketplace: emu.baseUrl,
  });
  return new h.Client({ app, ...extra });
}

const QUERY_SECRET = 'q-value-never-logged-7f3a';
const contacts = (loc) => ({ path: '/contacts/', query: { locationId: loc, note: QUERY_SECRET } });

test('one paced call with a refresh: the events in order, no secret in any', async () => {
  // Tokens live 2 s; 2 requests per 2 s per location.
  const emu = await startEmulator(['--token-ttl-secs', '2', '--max', '2', '--interval-ms', '2000']);
  try {
    const events = [];
    const store = new h.MemoryTokenStore();
    const client = newClient(emu, {
      store, session: { refreshLeewayMs: 1500 }, limits: { max: 2, intervalMs: 2000 }, onEvent: (e) => events.push(e),
    });
    const state = h.generateState();
    const callback = await authorize(client, emu.baseUrl, { locationId: 'loc_1', state, scopes: SCOPES });
    const code = new URL(callback).searchParams.get('code');
    const first = await client.exchangeCode(callback, { expectedState: state });
    assert.deepEqual(events.map((e) => e.event), ['saved']);
    for (let i = 0; i < 2; i++) { // fill the window: the next call waits for it
      assert.equal((await client.request('loc_1', contacts('loc_1'))).status, 200);
    }
    await sleep(700); // the tokens are now within the refresh leeway
    const storedBefore = store.get('loc_1');
    events.length = 0;
    const r = await client.request('loc_1', contacts('loc_1'));
    assert.equal(r.status, 200);
    const storedAfter = store.get('loc_1');
    assert.notEqual(storedAfter, storedBefore, 'the refresh was saved');
    assert.equal((await emu.stats()).resources.loc_1.refreshes, 1);

    const names = events.map((e) => e.event);
    if (process.env.HOOPAUTH_SHOW_EVENTS) console.log(events);
    assert.equal(names[0], 'call_start', names.join());
    assert.equal(names.at(-1), 'call_done', names.join());
    for (const want of ['refresh_sent', 'refresh_answered', 'persist', 'persist_saved', 'wait', 'send', 'answer']) {
      assert.ok(names.includes(want), `${want} missing: ${names.join()}`);
    }
    assert.ok(names.indexOf('refresh_sent') < names.indexOf('refresh_answered'));
    assert.ok(names.indexOf('refresh_answered') < names.indexOf('persist'));
    assert.ok(names.indexOf('persist') < names.indexOf('persist_saved'));
    assert.ok(names.indexOf('send') < names.indexOf('answer') && names.indexOf('answer') < names.indexOf('call_done'));
    for (const e of events) {
      assert.equal(e.resource, 'loc_1');
      assert.equal(Object.getPrototypeOf(e), Object.prototype, 'a plain object');
    }
    const waits = events.filter((e) => e.event === 'wait');
    assert.ok(waits.some((e) => typeof e.reason === 'string' && e.reason !== '' && e.ms > 0), JSON.stringify(waits));
    assert.deepEqual(events[0], { event: 'call_start', resource: 'loc_1', method: 'GET', path: '/contacts/' });
    const sent = events.find((e) => e.event === 'send');
    assert.equal(sent.method, 'GET');
    assert.equal(sent.path, '/contacts/'); // no query values
    const refreshSent = events.find((e) => e.event === 'refresh_sent');
    assert.equal(refreshSent.method, 'POST');
    assert.ok(!refreshSent.path.includes('?'));
    const answer = events.find((e) => e.event === 'answer');
    assert.equal(answer.status, 200);
    assert.ok(answer.ms >= 0);
    const refreshed = events.find((e) => e.event === 'refresh_answered');
    assert.equal(refreshed.status, 200);
    const done = events.at(-1);
    assert.equal(done.status, 200);
    assert.ok(done.ms >= Math.max(...waits.map((e) => e.ms)) - 50, JSON.stringify(done));

    // No secret anywhere.
    const tokens = (s) => { const j = JSON.parse(s); return JSON.stringify(j).match(/"[A-Za-z0-9._-]{20,}"/g) || []; };
    const secrets = [
      emu.info.client_secret, code, first.accessToken, first.refreshToken, storedBefore, storedAfter,
      QUERY_SECRET, ...tokens(storedBefore).map((t) => t.slice(1, -1)), ...tokens(storedAfter).map((t) => t.slice(1, -1)),
    ].filter((s) => typeof s === 'string' && s.length > 0);
    assert.ok(secrets.length >= 8);
    for (const e of events) {
      for (const blob of [JSON.stringify(e), util.inspect(e, { depth: null, showHidden: true })]) {
        for (const s of secrets) assert.ok(!blob.includes(s), `a secret in ${blob}`);
      }
    }

    // forget is reported too.
    events.length = 0;
    await client.forget('loc_1');
    assert.deepEqual(events, [{ event: 'forget', resource: 'loc_1' }]);
  } finally {
    emu.stop();
  }
});

test('a hook that throws never breaks a call; a failed call is reported', async () => {
  const emu = await startEmulator(['--max', '20', '--interval-ms', '1000']);
  try {
    let seen = 0;
    const client = newClient(emu, { onEvent: () => { seen++; throw new Error('boom'); } });
    const state = h.generateState();
    await client.exchangeCode(await authorize(client, emu.baseUrl, { locationId: 'loc_3', state, scopes: SCOPES }), { expectedState: state });
    assert.equal((await client.request('loc_3', contacts('loc_3'))).status, 200);
    assert.ok(seen >= 4);
    const events = [];
    const other = newClient(emu, { onEvent: (e) => events.push(e) });
    await assert.rejects(other.request('loc_2', contacts('loc_2')), (e) => e instanceof h.HoopAuthError);
    assert.equal(events[0].event, 'call_start');
    assert.equal(events.at(-1).event, 'call_failed');
    assert.equal(typeof events.at(-1).kind, 'string');
    assert.throws(() => newClient(emu, { onEvent: 'yes' }), (e) => e.kind === 'invalid_config');
  } finally {
    emu.stop();
  }
});
