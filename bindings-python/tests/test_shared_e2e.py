"""Coordinated mode end to end: several clients (standing for processes) share one Redis (or
SQLite) record per resource against the emulator — one client's pacing and refresh across
them all, recovery by adopting the store's tokens, a store that goes away and comes back,
sealed records and clocks that disagree."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

import httpx
import pytest

import hoopauth as h
from hoopauth.shared import AsyncRedisStore, RedisStore, SqliteStore
from shared_fixtures import redis_server, redis_url  # noqa: F401  (fixtures)
from test_e2e import authorize, contacts, make_config, res_stats

LOCS = [f"loc_sh{i}" for i in range(1, 13)]


@pytest.fixture(scope="module")
def emu(emulator_factory: Any) -> Any:
    """10 requests per second per location; 2 s tokens (due every second with the default
    leeway, capped at half a token's life); a 1.5 s refresh grace."""
    return emulator_factory(
        "--max", "10", "--interval-ms", "1000", "--token-ttl-secs", "2", "--refresh-grace-ms", "1500",
        "--locations", ",".join(LOCS),
    )  # fmt: skip


def seed(emu: Any, shared: Any, loc: str, keys: Optional[List[bytes]] = None) -> h.TokenSet:
    """Authorize `loc` and put its tokens in the shared store through a coordinated client.
    The record's limiter is created with the test's limits: a record keeps the limits it was
    made with (and those learned from the server), not each process's configured ones."""
    config = make_config(emu)
    with h.Client(config, shared=shared, keys=keys, limits=h.Limits(max=10, interval_ms=1000)) as c:
        return c.exchange_code(authorize(emu, config, loc))


def client(emu: Any, url: str, **kw: Any) -> h.Client:
    keys = kw.pop("keys", None)
    return h.Client(make_config(emu), shared=RedisStore(url), keys=keys, limits=h.Limits(max=10, interval_ms=1000), **kw)


def hammer(clients: List[h.Client], loc: str, n: int, per_client_threads: int = 3, **kw: Any) -> List[Any]:
    """`n` calls spread over the clients, `per_client_threads` at a time in each."""
    out: List[Any] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        c = clients[i % len(clients)]
        try:
            r: Any = c.get("/contacts/", timeout=30, **contacts(loc), **kw).status_code
        except Exception as e:  # noqa: BLE001 - reported
            r = e
        with lock:
            out.append(r)

    with ThreadPoolExecutor(per_client_threads * len(clients)) as ex:
        list(ex.map(one, range(n)))
    return out


def test_two_clients_pace_as_one(emu: Any, redis_url: str) -> None:
    loc = LOCS[0]
    seed(emu, RedisStore(redis_url), loc)
    emu.reset()
    a, b = client(emu, redis_url), client(emu, redis_url)
    t = time.monotonic()
    out = hammer([a, b], loc, 60)
    took = time.monotonic() - t
    assert out == [200] * 60, out
    st = emu.stats()
    assert res_stats(emu, loc).get("rate_limited", 0) == 0
    assert st["max_in_interval_by_location"][loc] <= 10, st
    # 60 calls at 10 per second: 5 full windows after the first.
    assert took >= 4.9, took
    assert a.stats.sends > 0 and b.stats.sends > 0, "both took part"
    assert a.stats.store_writes > 0 and a.stats.store_reads >= a.stats.store_writes


def test_one_refresh_per_due_point_across_clients(emu: Any, redis_url: str) -> None:
    loc = LOCS[1]
    seed(emu, RedisStore(redis_url), loc)
    emu.reset()
    clients = [client(emu, redis_url, max_in_flight=4) for _ in range(3)]
    stop = time.monotonic() + 4.2
    errors: List[Any] = []

    def loop(c: h.Client) -> None:
        while time.monotonic() < stop:
            try:
                c.get("/contacts/", timeout=30, **contacts(loc))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=loop, args=(c,)) for c in clients for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.monotonic() - t0
    assert not errors, errors[:3]
    s = res_stats(emu, loc)
    # 2 s tokens are due 1 s after they are issued: one rotation per second of the run.
    due_points = int(took // 1.0)
    assert s.get("invalid_grants", 0) == 0
    assert due_points - 1 <= s["refreshes"] <= due_points + 1, (s, took)
    assert sum(c.stats.refreshes for c in clients) == s["refreshes"]


class SlowRefresh(httpx.BaseTransport):
    """Holds refresh requests back for `delay` s before sending them (a slow network)."""

    def __init__(self, delay: float) -> None:
        self.inner = httpx.HTTPTransport()
        self.delay = delay
        self.refreshes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token") and b"refresh_token" in request.read():
            self.refreshes += 1
            time.sleep(self.delay)
        return self.inner.handle_request(request)


def wait_due(emu: Any, url: str, loc: str) -> None:
    """Sleep until the stored tokens of `loc` are due (half their life)."""
    probe = client(emu, url)
    probe._put(loc, None)
    ts = probe.token_set(loc)
    assert ts is not None and ts.expires_at_ms is not None and ts.expires_in is not None
    delay = (ts.expires_at_ms - ts.expires_in * 500 - h.now_ms()) / 1000 + 0.1
    if delay > 0:
        time.sleep(delay)


def test_invalid_grant_for_a_spent_token_adopts_the_store_tokens(emu: Any, redis_url: str) -> None:
    """A's refresh is slow: its short lease runs out, B refreshes and stores new tokens, and
    A's (now spent, past the grace) refresh token gets invalid_grant. A re-reads the store,
    finds newer tokens and uses them: no re-authorization."""
    loc = LOCS[2]
    seed(emu, RedisStore(redis_url), loc)
    emu.control(refresh_grace_ms=200)
    try:
        slow = SlowRefresh(1.2)
        a = h.Client(make_config(emu), shared=RedisStore(redis_url), http=httpx.Client(transport=slow), lease_ms=300)
        b = client(emu, redis_url)
        wait_due(emu, redis_url, loc)
        emu.reset()
        result: Dict[str, Any] = {}

        def run_a() -> None:
            try:
                result["a"] = a.get("/contacts/", timeout=20, **contacts(loc)).status_code
            except Exception as e:  # noqa: BLE001
                result["a"] = e

        th = threading.Thread(target=run_a)
        th.start()
        time.sleep(0.5)  # A holds the lease (300 ms) and is still sending its refresh
        assert b.get("/contacts/", **contacts(loc)).status_code == 200  # B refreshes and stores
        th.join()
        assert result["a"] == 200, result
        s = res_stats(emu, loc)
        assert s.get("invalid_grants") == 1, s  # A's spent token was refused once...
        assert slow.refreshes == 1
        # ...and nobody is asked to re-authorize: the record holds the good tokens.
        for c in (a, b):
            assert c.get("/contacts/", **contacts(loc)).status_code == 200
        assert not a.pool.needs_reauthorization(loc) and not b.pool.needs_reauthorization(loc)
    finally:
        emu.control(refresh_grace_ms=1500)


def test_a_client_idle_past_the_grace_adopts_the_store_tokens(emu: Any, redis_url: str) -> None:
    loc = LOCS[3]
    seed(emu, RedisStore(redis_url), loc)
    emu.control(refresh_grace_ms=300)
    try:
        idle, busy = client(emu, redis_url), client(emu, redis_url)
        assert idle.get("/contacts/", **contacts(loc)).status_code == 200
        spent = idle.token_set(loc)
        emu.reset()
        # busy refreshes a few times (tokens due every second); each spent token's grace passes.
        stop = time.monotonic() + 3.2
        while time.monotonic() < stop:
            assert busy.get("/contacts/", **contacts(loc)).status_code == 200
            time.sleep(0.05)
        assert res_stats(emu, loc)["refreshes"] >= 2
        assert spent is not None and idle.token_set(loc) == spent  # its memory is stale
        assert idle.get("/contacts/", **contacts(loc)).status_code == 200
        assert idle.token_set(loc) != spent
        assert res_stats(emu, loc).get("invalid_grants", 0) == 0
    finally:
        emu.control(refresh_grace_ms=1500)


def test_redis_down_fails_fast_nothing_wedged_no_tokens_lost(emu: Any, redis_server: Any, redis_url: str) -> None:
    loc = LOCS[4]
    seed(emu, RedisStore(redis_url), loc)
    emu.reset()
    a, b = client(emu, redis_url), client(emu, redis_url)
    results: List[Any] = []
    durations: List[float] = []
    ends: List[Any] = []
    lock = threading.Lock()
    stop = time.monotonic() + 6.0

    def loop(c: h.Client) -> None:
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                r: Any = c.get("/contacts/", timeout=10, **contacts(loc)).status_code
            except h.StoreUnavailableError as e:
                r = e.kind
                time.sleep(0.05)
            except Exception as e:  # noqa: BLE001
                r = repr(e)
            with lock:
                results.append((t, r))
                durations.append(time.monotonic() - t)
                ends.append((time.monotonic(), r))

    threads = [threading.Thread(target=loop, args=(c,)) for c in (a, b) for _ in range(2)]
    for th in threads:
        th.start()
    time.sleep(1.5)  # tokens come due every second: refreshes happen around the outage too
    down_at = time.monotonic()
    redis_server.stop()
    time.sleep(2.5)
    redis_server.start()  # empty: nothing persisted
    up_at = time.monotonic()
    for th in threads:
        th.join()
    kinds = {r for _, r in results}
    assert "store_unavailable" in kinds, kinds
    assert kinds <= {200, "store_unavailable"}, kinds
    # Fast: no call hung while Redis was down (socket timeouts of 1 s, no retries).
    assert max(durations) < 3.0, max(durations)
    # Every call that started after Redis came back (plus a moment) succeeded.
    late = [r for t, r in results if t > up_at + 0.3]
    assert late and all(r == 200 for r in late), late
    early_fail = [r for t, r in ends if t < down_at and r != 200]
    assert not early_fail
    # No token set lost: the restarted (empty) Redis got the tokens back from the clients,
    # and nobody had to re-authorize.
    assert RedisStore(redis_url).read(loc)[1] is not None
    assert res_stats(emu, loc).get("invalid_grants", 0) == 0
    assert c_ok(a, loc) and c_ok(b, loc)


def c_ok(c: h.Client, loc: str) -> bool:
    return c.get("/contacts/", **contacts(loc)).status_code == 200 and not c.pool.needs_reauthorization(loc)


def test_sealed_records_hide_the_tokens(emu: Any, redis_url: str) -> None:
    import redis

    loc = LOCS[5]
    k1, k2 = bytes(range(32)), bytes(range(1, 33))
    tokens = seed(emu, RedisStore(redis_url), loc, keys=[k1])
    raw = redis.Redis.from_url(redis_url).hget(h.shared.redis_key("hoopauth:", loc), "data")
    assert raw is not None and raw.startswith(b"hs1.")
    assert tokens.access_token.encode() not in raw and tokens.refresh_token.encode() not in raw  # type: ignore[union-attr]
    # Without the key: a typed error, not a silent "no tokens".
    plain = client(emu, redis_url)
    with pytest.raises(h.InvalidConfigError):
        plain.get("/contacts/", **contacts(loc))
    with pytest.raises(h.StoreError):
        client(emu, redis_url, keys=[bytes(32)]).get("/contacts/", **contacts(loc))
    # Rotation: a new key first, the old one still opens; the next write seals with the new key.
    rotated = client(emu, redis_url, keys=[k2, k1])
    assert rotated.get("/contacts/", **contacts(loc)).status_code == 200
    assert client(emu, redis_url, keys=[k2]).get("/contacts/", **contacts(loc)).status_code == 200
    with pytest.raises(h.StoreError):
        client(emu, redis_url, keys=[k1]).get("/contacts/", **contacts(loc))
    for bad in ([b"short"], [b"x" * 33]):
        with pytest.raises(h.InvalidConfigError):
            client(emu, redis_url, keys=bad)


def test_clock_skew_does_not_matter(emu: Any, redis_url: str) -> None:
    """One client's own clock is 250 ms fast, another's 250 ms slow: shared decisions use the
    store's clock, so the window and the refreshes stay one."""
    loc = LOCS[6]
    seed(emu, RedisStore(redis_url), loc)
    emu.reset()
    fast, slow = client(emu, redis_url), client(emu, redis_url)
    fast._now = lambda: h.now_ms() + 250
    slow._now = lambda: h.now_ms() - 250
    out = hammer([fast, slow], loc, 50)
    assert out == [200] * 50, out
    s = emu.stats()
    assert res_stats(emu, loc).get("rate_limited", 0) == 0
    assert s["max_in_interval_by_location"][loc] <= 10
    assert res_stats(emu, loc).get("invalid_grants", 0) == 0


def test_forget_empties_the_record_for_every_client(emu: Any, redis_url: str) -> None:
    loc = LOCS[7]
    seed(emu, RedisStore(redis_url), loc)
    a, b = client(emu, redis_url), client(emu, redis_url)
    assert c_ok(a, loc) and c_ok(b, loc)
    assert a.forget(loc) is True
    with pytest.raises(h.UnauthorizedError) as e:
        b.get("/contacts/", **contacts(loc))
    assert e.value.reauthorize


def test_async_clients_share_redis_and_sqlite_through_threads(emu: Any, redis_url: str, tmp_path: Path) -> None:
    loc_r, loc_s = LOCS[8], LOCS[9]
    seed(emu, RedisStore(redis_url), loc_r)
    db = str(tmp_path / "fleet.db")
    seed(emu, SqliteStore(db), loc_s)
    emu.reset()

    async def main() -> None:
        cfg = make_config(emu)
        lim = h.Limits(max=10, interval_ms=1000)
        ra = h.AsyncClient(cfg, shared=AsyncRedisStore(redis_url), limits=lim)
        rb = h.AsyncClient(cfg, shared=RedisStore(redis_url), limits=lim)  # a sync store, in a thread
        sa = h.AsyncClient(cfg, shared=SqliteStore(db), limits=lim)
        sb = h.Client(cfg, shared=SqliteStore(db), limits=lim)  # a sync client on the same file
        jobs = [c.get("/contacts/", **contacts(loc_r)) for c in (ra, rb) for _ in range(15)]
        jobs += [sa.get("/contacts/", **contacts(loc_s)) for _ in range(15)]
        jobs.append(asyncio.to_thread(lambda: [sb.get("/contacts/", **contacts(loc_s)) for _ in range(15)]))  # type: ignore[arg-type]
        out = await asyncio.gather(*jobs)
        assert all(r.status_code == 200 for r in out[:-1]) and all(r.status_code == 200 for r in out[-1])
        await ra.aclose()
        await rb.aclose()
        await sa.aclose()
        await ra.shared.aclose()

    t = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t >= 1.9  # 30 calls at 10 per second on each location
    st = emu.stats()
    for loc in (loc_r, loc_s):
        assert res_stats(emu, loc).get("rate_limited", 0) == 0, (loc, res_stats(emu, loc), st["max_in_interval_by_location"])
        assert st["max_in_interval_by_location"][loc] <= 10


def test_async_client_redis_down_is_store_unavailable_fast(emu: Any, redis_server: Any, redis_url: str) -> None:
    loc = LOCS[10]
    seed(emu, RedisStore(redis_url), loc)

    async def main() -> None:
        c = h.AsyncClient(make_config(emu), shared=AsyncRedisStore(redis_url))
        assert (await c.get("/contacts/", **contacts(loc))).status_code == 200
        redis_server.stop()
        try:
            t = time.monotonic()
            for _ in range(3):
                with pytest.raises(h.StoreUnavailableError):
                    await c.get("/contacts/", **contacts(loc))
            assert time.monotonic() - t < 2.0
        finally:
            redis_server.start()
        assert (await c.get("/contacts/", **contacts(loc))).status_code == 200
        assert RedisStore(redis_url).read(loc)[1] is not None  # written back
        await c.aclose()

    asyncio.run(main())


def test_coordinated_mode_arguments(emu: Any, redis_url: str) -> None:
    cfg = make_config(emu)
    with pytest.raises(h.InvalidArgumentError):
        h.Client(cfg, shared=RedisStore(redis_url), store=h.MemoryTokenStore())
    with pytest.raises(h.InvalidArgumentError):
        h.Client(cfg, keys=[bytes(32)])
    with pytest.raises(TypeError):
        h.Client(cfg, shared=AsyncRedisStore(redis_url))
    with pytest.raises(TypeError):
        h.Client(cfg, shared=object())


def test_a_timed_out_call_releases_its_slot_for_every_client(emu: Any, redis_url: str) -> None:
    """A call that times out while its request is in flight gives its rate-limit slot back in
    the shared record (not only in its own process, where the record would keep it until the
    answer timeout)."""
    loc = LOCS[11]
    seed(emu, RedisStore(redis_url), loc)
    emu.control(latency_ms=1500)
    try:
        a = client(emu, redis_url)
        with pytest.raises(TimeoutError):
            a.get("/contacts/", timeout=0.4, **contacts(loc))
        rec = json.loads(RedisStore(redis_url).read(loc)[1] or "{}")
        assert rec["limiter"]["in_flight"] == [], rec["limiter"]

        async def main() -> None:
            b = h.AsyncClient(make_config(emu), shared=AsyncRedisStore(redis_url))
            with pytest.raises(TimeoutError):
                await b.get("/contacts/", timeout=0.4, **contacts(loc))
            await b.aclose()
            await b.shared.aclose()

        asyncio.run(main())
        rec = json.loads(RedisStore(redis_url).read(loc)[1] or "{}")
        assert rec["limiter"]["in_flight"] == [], rec["limiter"]
        assert a.stats.failures == 1 and a.stats.calls == 1
    finally:
        emu.control(latency_ms=0)


def test_tokens_loaded_while_redis_is_down_are_kept_and_written_later(emu: Any, redis_server: Any, redis_url: str) -> None:
    loc = LOCS[11]
    config = make_config(emu)
    c = h.Client(config, shared=RedisStore(redis_url), limits=h.Limits(max=10, interval_ms=1000))
    code = authorize(emu, config, loc)
    elsewhere = seed_tokens(emu, loc)  # tokens obtained just before the store went away
    redis_server.stop()
    try:
        with pytest.raises(h.StoreUnavailableError):
            c.exchange_code(code)  # the store's clock is read first: nothing is sent, the code is not spent
        with pytest.raises(h.StoreUnavailableError):
            c.load_tokens(elsewhere, loc)
        assert c.is_unsaved(loc) and c.token_set(loc) == elsewhere  # kept in memory
    finally:
        redis_server.start()
    assert c.get("/contacts/", **contacts(loc)).status_code == 200  # written first, then used
    assert not c.is_unsaved(loc)
    assert RedisStore(redis_url).read(loc)[1] is not None
    assert c.exchange_code(code).location_id == loc  # the code was still good


def seed_tokens(emu: Any, loc: str) -> h.TokenSet:
    """A token set from the emulator's flow, exchanged by a plain (in-memory) client."""
    config = make_config(emu)
    with h.Client(config) as plain:
        return plain.exchange_code(authorize(emu, config, loc))


class SlowStore:
    """A RedisStore whose reads hang for `hang` s while `slow` is set (a store that answers
    late rather than not at all)."""

    def __init__(self, url: str) -> None:
        self.inner = RedisStore(url)
        self.slow = False
        self.hang = 1.0

    def read(self, resource: str) -> Any:
        if self.slow:
            time.sleep(self.hang)
        return self.inner.read(resource)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_slow_store_does_not_stretch_a_call_past_its_timeout(emu: Any, redis_url: str) -> None:
    """Calls of one process queue for their turn on a resource's record; the wait for the
    turn counts in each call's `timeout=`."""
    loc = LOCS[10]
    seed(emu, RedisStore(redis_url), loc)
    store = SlowStore(redis_url)
    c = h.Client(make_config(emu), shared=store)
    assert c.get("/contacts/", **contacts(loc)).status_code == 200
    store.slow = True
    took: List[float] = []
    kinds: List[str] = []

    def one() -> None:
        t = time.monotonic()
        try:
            c.get("/contacts/", timeout=0.4, **contacts(loc))
            kinds.append("ok")
        except TimeoutError:
            kinds.append("timeout")
        except h.HoopAuthError as e:  # the call inside the slow read: 2 s tokens keep coming due
            kinds.append(e.kind)
        took.append(time.monotonic() - t)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for th in threads:
        th.start()
    time.sleep(0.7)
    store.slow = False  # the others have given up by now
    for th in threads:
        th.join()
    assert kinds.count("timeout") >= 3, kinds
    # One call is inside the slow read (bounded by the store: 1 s here); the others give up
    # at their own timeout instead of queueing behind it (4 x 1 s).
    assert sorted(took)[2] < 0.9, took
    assert c.get("/contacts/", **contacts(loc)).status_code == 200  # nothing wedged
