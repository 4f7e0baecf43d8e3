"""End to end over real httpx against the emulator: a failed or cancelled save never wedges a
resource nor loses its tokens; a short-lived token is used and refreshed once per due point;
a burst whose first requests reach the server late stays within the limit."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import hoopauth as h
from test_e2e import authorize, contacts, make_config, res_stats

PKG_DIR = str(Path(h.__file__).resolve().parent)


LOCATIONS = ",".join(
    [
        "loc_save_a", "loc_save_a_async", "loc_flush", "loc_flush_async", "loc_load_fail", "loc_save_b",
        "loc_save_b_timeout", "loc_save_b_wait_for", "loc_save_b_cancel", "loc_cancel_wait",
        "loc_timeout_wait", "loc_8s", "loc_8s_async", "loc_burst_async", "loc_burst_sync",
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def ttl_emulator(emulator_factory: Any) -> Any:
    return emulator_factory("--token-ttl-secs", "2", "--max", "100", "--interval-ms", "1000", "--locations", LOCATIONS)


def wait_due(tokens: h.TokenSet) -> None:
    """Sleep until the token is due for refresh (default leeway: capped at half its life)."""
    assert tokens.expires_at_ms is not None and tokens.expires_in is not None
    due = tokens.expires_at_ms - tokens.expires_in * 500
    delay = (due - h.now_ms()) / 1000 + 0.15
    if delay > 0:
        time.sleep(delay)


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt / a thread interruption during the save."""


class FlakyStore(h.MemoryTokenStore):
    """A sync store whose next `set` raises `fail_next` (once)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next: Optional[BaseException] = None
        self.sets = 0

    def set(self, resource_id: str, stored: str) -> None:
        exc, self.fail_next = self.fail_next, None
        if exc is not None:
            raise exc
        self.sets += 1
        super().set(resource_id, stored)


class AsyncFlakyStore:
    """An async store whose next `set` raises, or hangs until cancelled."""

    def __init__(self) -> None:
        self.data: Dict[str, str] = {}
        self.fail_next: Optional[BaseException] = None
        self.hang_next = False
        self.hanging: Optional[asyncio.Event] = None

    async def get(self, resource_id: str) -> Optional[str]:
        return self.data.get(resource_id)

    async def set(self, resource_id: str, stored: str) -> None:
        exc, self.fail_next = self.fail_next, None
        if exc is not None:
            raise exc
        if self.hang_next:
            self.hang_next = False
            if self.hanging is not None:
                self.hanging.set()
            await asyncio.sleep(60)
        self.data[resource_id] = stored

    async def delete(self, resource_id: str) -> None:
        self.data.pop(resource_id, None)


def assert_newest_stored(stored: Optional[str], client: Any, loc: str) -> None:
    ts = client.token_set(loc)
    assert ts is not None and ts.refresh_token and stored is not None
    assert ts.refresh_token in stored and ts.access_token in stored
    assert not client.is_unsaved(loc)


def driver_frames_hold_no_secret(tb: Any, secrets: List[str]) -> None:
    checked = 0
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename.startswith(PKG_DIR):
            checked += 1
            for name, value in frame.f_locals.items():
                text = repr(value)
                for s in secrets:
                    assert s not in text, f"{frame.f_code.co_name}: local {name!r} holds a secret"
        tb = tb.tb_next
    assert checked >= 1


# -- (a) the store raises once right after a refresh -----------------------------------------


def test_sync_store_raises_after_refresh(ttl_emulator: Any) -> None:
    emu, loc = ttl_emulator, "loc_save_a"
    config = make_config(emu)
    store = FlakyStore()
    with h.Client(config, store=store) as client:
        tokens = client.exchange_code(authorize(emu, config, loc))
        wait_due(tokens)
        before = res_stats(emu, loc).get("refreshes", 0)
        store.fail_next = OSError("database is locked")
        with pytest.raises(h.StoreError) as info:
            client.get("/contacts/", **contacts(loc))
        err = info.value
        assert err.kind == "store_error" and err.family == "store"
        assert isinstance(err.__cause__, OSError)
        new = client.token_set(loc)
        assert new is not None and new.refresh_token != tokens.refresh_token
        secrets = [new.access_token, new.refresh_token or "", emu.client_secret]
        assert not any(s in str(err) or s in repr(err) for s in secrets)
        driver_frames_hold_no_secret(info.tb, secrets)
        assert client.is_unsaved(loc)
        # the next call saves first, then uses the new tokens: no second refresh
        assert client.get("/contacts/", **contacts(loc)).status_code == 200
        assert res_stats(emu, loc)["refreshes"] - before == 1
        assert client.stats.refreshes == 1
        assert_newest_stored(store.get(loc), client, loc)
    assert res_stats(emu, loc)["invalid_grants"] == 0


def test_async_store_raises_after_refresh(ttl_emulator: Any) -> None:
    emu, loc = ttl_emulator, "loc_save_a_async"
    config = make_config(emu)
    store = AsyncFlakyStore()

    async def main() -> None:
        async with h.AsyncClient(config, store=store) as client:
            tokens = await client.exchange_code(authorize(emu, config, loc))
            wait_due(tokens)
            before = res_stats(emu, loc).get("refreshes", 0)
            store.fail_next = ConnectionError("redis went away")
            with pytest.raises(h.StoreError) as info:
                await client.get("/contacts/", **contacts(loc))
            assert isinstance(info.value.__cause__, ConnectionError)
            new = client.token_set(loc)
            assert new is not None
            secrets = [new.access_token, new.refresh_token or "", emu.client_secret]
            assert not any(s in str(info.value) for s in secrets)
            driver_frames_hold_no_secret(info.tb, secrets)
            # concurrent calls after the failure: exactly one saves, none refreshes
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts(loc)) for _ in range(5)))
            assert [r.status_code for r in rs] == [200] * 5
            assert res_stats(emu, loc)["refreshes"] - before == 1
            assert_newest_stored(store.data.get(loc), client, loc)

    asyncio.run(main())
    assert res_stats(emu, loc)["invalid_grants"] == 0


def test_flush_saves_unsaved_tokens(ttl_emulator: Any) -> None:
    emu, loc = ttl_emulator, "loc_flush"
    config = make_config(emu)
    store = FlakyStore()
    with h.Client(config, store=store) as client:
        tokens = client.exchange_code(authorize(emu, config, loc))
        wait_due(tokens)
        store.fail_next = OSError("disk full")
        with pytest.raises(h.StoreError):
            client.get("/contacts/", **contacts(loc))
        store.fail_next = OSError("still full")
        with pytest.raises(h.StoreError):
            client.flush()
        assert client.is_unsaved(loc)
        assert client.flush() == [loc]
        assert client.flush() == []
        assert_newest_stored(store.get(loc), client, loc)

    astore = AsyncFlakyStore()

    async def main() -> None:
        async with h.AsyncClient(config, store=astore) as client:
            tokens = await client.exchange_code(authorize(emu, config, loc + "_async"))
            wait_due(tokens)
            astore.fail_next = OSError("disk full")
            with pytest.raises(h.StoreError):
                await client.get("/contacts/", **contacts(loc + "_async"))
            assert await client.flush() == [loc + "_async"]
            assert_newest_stored(astore.data.get(loc + "_async"), client, loc + "_async")

    asyncio.run(main())


def test_load_tokens_store_failure_keeps_tokens_unsaved(ttl_emulator: Any) -> None:
    emu, loc = ttl_emulator, "loc_load_fail"
    config = make_config(emu)
    store = FlakyStore()
    with h.Client(config, store=store) as client:
        store.fail_next = OSError("down")
        cb = authorize(emu, config, loc)
        with pytest.raises(h.StoreError) as info:
            client.exchange_code(cb)
        assert isinstance(info.value.__cause__, OSError) and client.is_unsaved(loc)
        ts = client.token_set(loc)
        assert ts is not None
        driver_frames_hold_no_secret(info.tb, [cb.code, ts.access_token, ts.refresh_token or "", emu.client_secret])
        assert client.get("/contacts/", **contacts(loc)).status_code == 200  # saves first
        assert_newest_stored(store.get(loc), client, loc)


# -- (b) the call is cancelled during the save ------------------------------------------------


def test_sync_interrupted_during_save(ttl_emulator: Any) -> None:
    emu, loc = ttl_emulator, "loc_save_b"
    config = make_config(emu)
    store = FlakyStore()
    with h.Client(config, store=store) as client:
        tokens = client.exchange_code(authorize(emu, config, loc))
        wait_due(tokens)
        before = res_stats(emu, loc).get("refreshes", 0)
        store.fail_next = Interrupted()
        with pytest.raises(Interrupted):
            client.get("/contacts/", **contacts(loc))
        assert client.is_unsaved(loc)
        # other threads are not wedged: they wait for the save the next call does
        with ThreadPoolExecutor(4) as ex:
            codes = list(ex.map(lambda _: client.get("/contacts/", **contacts(loc)).status_code, range(8)))
        assert codes == [200] * 8
        assert res_stats(emu, loc)["refreshes"] - before == 1
        assert_newest_stored(store.get(loc), client, loc)
    assert res_stats(emu, loc)["invalid_grants"] == 0


@pytest.mark.parametrize("how", ["timeout", "wait_for", "cancel"])
def test_async_cancelled_during_save(ttl_emulator: Any, how: str) -> None:
    emu, loc = ttl_emulator, f"loc_save_b_{how}"
    config = make_config(emu)
    store = AsyncFlakyStore()

    async def main() -> None:
        async with h.AsyncClient(config, store=store) as client:
            tokens = await client.exchange_code(authorize(emu, config, loc))
            wait_due(tokens)
            before = res_stats(emu, loc).get("refreshes", 0)
            store.hang_next = True
            store.hanging = asyncio.Event()
            if how == "timeout":
                with pytest.raises(TimeoutError):
                    await client.get("/contacts/", timeout=0.5, **contacts(loc))
            elif how == "wait_for":
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(client.get("/contacts/", **contacts(loc)), 0.5)
            else:
                task = asyncio.ensure_future(client.get("/contacts/", **contacts(loc)))
                await store.hanging.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert store.hanging.is_set()
            assert client.is_unsaved(loc)
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts(loc)) for _ in range(5)))
            assert [r.status_code for r in rs] == [200] * 5
            assert res_stats(emu, loc)["refreshes"] - before == 1
            assert_newest_stored(store.data.get(loc), client, loc)

    asyncio.run(main())
    assert res_stats(emu, loc)["invalid_grants"] == 0


def test_async_cancel_while_waiting_for_a_refresh_does_not_wedge(ttl_emulator: Any) -> None:
    emu, loc = ttl_emulator, "loc_cancel_wait"
    config = make_config(emu)
    store = AsyncFlakyStore()

    async def main() -> None:
        async with h.AsyncClient(config, store=store) as client:
            tokens = await client.exchange_code(authorize(emu, config, loc))
            wait_due(tokens)
            store.hang_next = True
            store.hanging = asyncio.Event()
            saver = asyncio.ensure_future(client.get("/contacts/", **contacts(loc)))
            await store.hanging.wait()
            waiters = [asyncio.ensure_future(client.get("/contacts/", **contacts(loc))) for _ in range(3)]
            await asyncio.sleep(0.05)
            for t in [saver, *waiters]:
                t.cancel()
            await asyncio.gather(saver, *waiters, return_exceptions=True)
            r = await client.get("/contacts/", timeout=5, **contacts(loc))
            assert r.status_code == 200
            assert_newest_stored(store.data.get(loc), client, loc)

    asyncio.run(main())


def test_timeout_during_a_send_that_never_answers() -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections complete in the backlog; nothing ever answers
    base = f"http://127.0.0.1:{silent.getsockname()[1]}"
    config = h.Config("cid", api_base=base)
    try:
        with h.Client(config, limits=h.Limits(max=1, interval_ms=60_000)) as client:
            client.use_private_token("loc_x", "pit-token")
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                client.get("/contacts/", location_id="loc_x", timeout=0.3)
            assert time.monotonic() - t0 < 2.0
            assert client.stats.failures == 1
            # the aborted send was answered (slot freed at the abort): the next one waits only
            # for the window, and its own timeout ends it cleanly
            with pytest.raises(TimeoutError):
                client.get("/contacts/", location_id="loc_x", timeout=0.2)

        async def main() -> None:
            async with h.AsyncClient(config) as client:
                await client.use_private_token("loc_x", "pit-token")
                t0 = time.monotonic()
                with pytest.raises(TimeoutError):
                    await client.get("/contacts/", location_id="loc_x", timeout=0.3)
                assert time.monotonic() - t0 < 2.0
                # nothing stays held: the limiter has no send in flight
                assert client.stats.failures == 1

        asyncio.run(main())
    finally:
        silent.close()


# -- (c) an 8-second token with the default leeway -------------------------------------------


@pytest.fixture(scope="module")
def ttl8_emulator(emulator_factory: Any) -> Any:
    return emulator_factory("--token-ttl-secs", "8", "--max", "100", "--interval-ms", "1000", "--locations", LOCATIONS)


def test_sync_8s_token_is_used_and_refreshed_once_per_due_point(ttl8_emulator: Any) -> None:
    emu, loc = ttl8_emulator, "loc_8s"
    config = make_config(emu)
    with h.Client(config) as client:  # default leeway (300 s): capped at half the token's life
        tokens = client.exchange_code(authorize(emu, config, loc))
        assert tokens.expires_in == 8
        before = res_stats(emu, loc).get("refreshes", 0)
        end = time.monotonic() + 6.0  # one due point (4 s); the next is at 8 s
        n = 0
        while time.monotonic() < end:
            assert client.get("/contacts/", **contacts(loc)).status_code == 200
            n += 1
            time.sleep(0.05)
        assert n > 40
        assert res_stats(emu, loc)["refreshes"] - before == 1 and client.stats.refreshes == 1
    s = res_stats(emu, loc)
    assert s["invalid_grants"] == 0 and s["unauthorized"] == 0


def test_async_8s_token_is_used_and_refreshed_once_per_due_point(ttl8_emulator: Any) -> None:
    emu, loc = ttl8_emulator, "loc_8s_async"
    config = make_config(emu)

    async def main() -> int:
        async with h.AsyncClient(config) as client:
            tokens = await client.exchange_code(authorize(emu, config, loc))
            before = res_stats(emu, loc).get("refreshes", 0)
            end = time.monotonic() + 6.0
            n = 0
            while time.monotonic() < end:
                rs = await asyncio.gather(*(client.get("/contacts/", **contacts(loc)) for _ in range(4)))
                assert [r.status_code for r in rs] == [200] * 4
                n += 4
                await asyncio.sleep(0.05)
            assert tokens.expires_in == 8
            assert res_stats(emu, loc)["refreshes"] - before == 1 and client.stats.refreshes == 1
            return n

    assert asyncio.run(main()) > 100
    s = res_stats(emu, loc)
    assert s["invalid_grants"] == 0 and s["unauthorized"] == 0


# -- (d) the first requests of a burst reach the server late ---------------------------------

BURST_ARGS = [
    "--max", "100", "--interval-ms", "2000",
    "--burst-delay-ms", "70", "--burst-delay-max-ms", "190", "--burst-delay-count", "10",
]  # fmt: skip


@pytest.fixture(scope="module")
def burst_emulator(emulator_factory: Any) -> Any:
    emu = emulator_factory(*BURST_ARGS, "--locations", LOCATIONS)
    if "max_in_interval" not in emu.stats():
        pytest.skip("the emulator binary has no max_in_interval counter (rebuild: cargo build -p hoopauth-emulator)")
    return emu


def test_async_late_burst_stays_within_the_limit(burst_emulator: Any) -> None:
    emu, loc = burst_emulator, "loc_burst_async"
    config = make_config(emu)

    async def main() -> List[int]:
        async with h.AsyncClient(config, limits=h.Limits(max=100, interval_ms=2000)) as client:
            await client.exchange_code(authorize(emu, config, loc))
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts(loc)) for _ in range(250)))
            return [r.status_code for r in rs]

    assert asyncio.run(main()) == [200] * 250
    stats = emu.stats()
    assert stats["max_in_interval_by_location"][loc] <= 100, stats["max_in_interval_by_location"]
    assert res_stats(emu, loc).get("rate_limited", 0) == 0


def test_sync_late_burst_stays_within_the_limit(burst_emulator: Any) -> None:
    emu, loc = burst_emulator, "loc_burst_sync"
    config = make_config(emu)
    with h.Client(config, limits=h.Limits(max=100, interval_ms=2000)) as client:
        client.exchange_code(authorize(emu, config, loc))
        with ThreadPoolExecutor(16) as ex:
            codes = list(ex.map(lambda _: client.get("/contacts/", **contacts(loc)).status_code, range(250)))
    assert codes == [200] * 250
    stats = emu.stats()
    assert stats["max_in_interval_by_location"][loc] <= 100, stats["max_in_interval_by_location"]
    assert res_stats(emu, loc).get("rate_limited", 0) == 0
