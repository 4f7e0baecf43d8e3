"""The shared stores of coordinated mode (hoopauth.shared): the read / compare-and-set protocol,
key layout, expiry, webhook duplicates and fast failure when the store is unreachable — on a
real redis-server (sync and asyncio clients) and on SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import hoopauth as h
from hoopauth.shared import AsyncRedisStore, RedisStore, SharedWebhookVerifier, SqliteStore
from shared_fixtures import free_port, redis_server, redis_url  # noqa: F401  (fixtures)


class SyncFacade:
    """Drives an AsyncRedisStore through the sync protocol (one event loop per test)."""

    def __init__(self, store: AsyncRedisStore) -> None:
        self.store = store
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self.store, name)

        def call(*args: Any) -> Any:
            return self.loop.run_until_complete(fn(*args))

        return call

    def close(self) -> None:
        self.loop.run_until_complete(self.store.aclose())
        self.loop.close()


@pytest.fixture(params=["redis", "redis-asyncio", "sqlite"])
def store(request: Any, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        s = SqliteStore(str(tmp_path / "shared.db"))
        yield s
        s.close()
        return
    url = request.getfixturevalue("redis_url")
    if request.param == "redis":
        r = RedisStore(url)
        yield r
        r.close()
    else:
        f = SyncFacade(AsyncRedisStore(url))
        yield f
        f.close()


def test_read_cas_delete(store: Any) -> None:
    before = time.time() * 1000
    rev, data, now = store.read("loc_a")
    assert (rev, data) == (0, None)
    assert before - 1000 <= now <= time.time() * 1000 + 1000  # the store's clock, in Unix ms
    assert store.cas("loc_a", 0, "one") is True
    assert store.cas("loc_a", 0, "lost") is False  # another process wrote first
    assert store.read("loc_a")[:2] == (1, "one")
    assert store.cas("loc_a", 1, "two") is True
    assert store.cas("loc_a", 1, "stale") is False
    assert store.read("loc_a")[:2] == (2, "two")
    assert store.read("loc_b")[:2] == (0, None)  # resources are independent
    store.delete("loc_a")
    assert store.read("loc_a")[:2] == (0, None)
    assert store.cas("loc_a", 0, "again") is True


def test_webhook_duplicates_expire(store: Any) -> None:
    assert store.seen_first("wh-1", 300) is True
    assert store.seen_first("wh-1", 300) is False
    assert store.seen_first("wh-2", 300) is True
    time.sleep(0.45)
    assert store.seen_first("wh-1", 300) is True  # the replay window passed
    with pytest.raises(h.InvalidArgumentError):
        store.seen_first("wh-3", 0)


def test_forget_seen_unmarks_one_webhook(store: Any) -> None:
    assert store.seen_first("wh-f1", 60_000) is True
    assert store.seen_first("wh-f2", 60_000) is True
    store.forget_seen("wh-f1")
    store.forget_seen("wh-unknown")  # nothing to forget: no error
    assert store.seen_first("wh-f1", 60_000) is True  # handled again
    assert store.seen_first("wh-f1", 60_000) is False
    assert store.seen_first("wh-f2", 60_000) is False


def test_now_ms_is_the_store_clock(store: Any) -> None:
    assert abs(store.now_ms() - time.time() * 1000) < 1000


def test_redis_key_layout_and_expiry(redis_url: str) -> None:
    import redis

    s = RedisStore(redis_url, prefix="app1:")
    assert s.cas("loc_1", 0, "x")
    raw = redis.Redis.from_url(redis_url)
    assert h.shared.redis_key("app1:", "loc_1") == "app1:{loc_1}"  # one hash slot per resource
    assert raw.hgetall("app1:{loc_1}") == {b"rev": b"1", b"data": b"x"}
    ttl = raw.pttl("app1:{loc_1}")
    assert 0 < ttl <= h.shared.SHARED_TTL_MS and ttl > h.shared.SHARED_TTL_MS - 60_000
    assert s.seen_first("w1", 10_000)
    assert 0 < raw.pttl(h.shared.redis_webhook_key("app1:", "w1")) <= 10_000
    # Another prefix is another namespace.
    assert RedisStore(redis_url, prefix="app2:").read("loc_1")[:2] == (0, None)
    raw.close()
    s.close()


def test_an_unreachable_redis_fails_fast_with_a_typed_error() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    for s in (RedisStore(url),):
        t = time.monotonic()
        with pytest.raises(h.StoreUnavailableError) as e:
            s.read("loc_1")
        assert e.value.kind == "store_unavailable" and isinstance(e.value, h.StoreError)
        with pytest.raises(h.StoreUnavailableError):
            s.cas("loc_1", 0, "x")
        with pytest.raises(h.StoreUnavailableError):
            s.seen_first("w", 1000)
        assert time.monotonic() - t < 1.0

    async def main() -> None:
        a = AsyncRedisStore(url)
        t = time.monotonic()
        with pytest.raises(h.StoreUnavailableError):
            await a.read("loc_1")
        with pytest.raises(h.StoreUnavailableError):
            await a.cas("loc_1", 0, "x")
        assert time.monotonic() - t < 1.0
        await a.aclose()

    asyncio.run(main())


def test_a_stopped_redis_fails_fast_and_works_again_when_back(redis_server: Any, redis_url: str) -> None:
    s = RedisStore(redis_url)
    assert s.cas("loc_1", 0, "x")
    redis_server.stop()
    try:
        t = time.monotonic()
        for _ in range(5):
            with pytest.raises(h.StoreUnavailableError):
                s.read("loc_1")
        assert time.monotonic() - t < 1.0
    finally:
        redis_server.start()
    # Back (empty: no persistence); the scripts are loaded again by themselves.
    assert s.read("loc_1")[:2] == (0, None)
    assert s.cas("loc_1", 0, "y")


def test_sqlite_unusable_path_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(h.StoreUnavailableError):
        SqliteStore(str(tmp_path / "missing-dir" / "x.db"))


def test_sqlite_is_shared_between_connections_and_uses_wal(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    a, b = SqliteStore(path), SqliteStore(path)
    assert a.cas("loc_1", 0, "x") and not b.cas("loc_1", 0, "y")
    assert b.read("loc_1")[:2] == (1, "x")
    import sqlite3

    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    # prefix namespaces the resources of one file
    c = SqliteStore(path, prefix="other:")
    assert c.read("loc_1")[:2] == (0, None)


def test_sqlite_cas_from_many_threads_is_atomic(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    s = SqliteStore(str(tmp_path / "t.db"))

    def bump(_: int) -> int:
        wins = 0
        for _ in range(50):
            while True:
                rev, data, _now = s.read("ctr")
                n = int(data or "0")
                if s.cas("ctr", rev, str(n + 1)):
                    wins += 1
                    break
        return wins

    with ThreadPoolExecutor(4) as ex:
        assert sum(ex.map(bump, range(4))) == 200
    assert s.read("ctr")[1] == "200"


def test_stores_print_no_url_password(redis_url: str) -> None:
    url = redis_url.replace("redis://", "redis://:hunter2-secret@")
    s = RedisStore(url)
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)


# -- shared webhook duplicates ----------------------------------------------------------------




def test_shared_webhook_verifier_rejects_a_duplicate_seen_by_another_process(redis_url: str, emulator: Any) -> None:
    import httpx

    key = emulator.webhook_public_key
    # The emulator signs a delivery for us (it posts it to a URL; we only need the body and
    # signature it reports, whatever the delivery status).
    r = httpx.post(
        emulator.base_url + "/_emulator/webhooks/send",
        json={"url": "http://127.0.0.1:9/", "type": "INSTALL", "locationId": "loc_1"},
        timeout=10,
    )
    info = r.json()
    if "body" not in info:
        pytest.skip(f"emulator gave no signed body: {info}")
    body = info["body"].encode() if isinstance(info["body"], str) else json.dumps(info["body"]).encode()
    headers = {"x-ghl-signature": info["signature"]}
    one = SharedWebhookVerifier(RedisStore(redis_url), key)
    two = SharedWebhookVerifier(RedisStore(redis_url), key)  # another process
    first = one.verify(body, headers)
    assert first.valid, first
    again = two.verify(body, headers)
    assert not again.valid and again.reason == "duplicate"
    bad = two.verify(body + b" ", headers)
    assert bad.reason == "bad_signature"

    async def main() -> None:
        three = SharedWebhookVerifier(AsyncRedisStore(redis_url), key)
        v = await three.averify(body, headers)
        assert v.reason == "duplicate"
        await three.store.aclose()

    asyncio.run(main())
