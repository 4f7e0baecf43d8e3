"""End to end: the httpx drivers against the platform emulator (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Dict, List, Optional

import httpx
import pytest

import hoopauth as h

REDIRECT = "http://127.0.0.1:9/oauth/callback"
SCOPES = ["contacts.readonly", "contacts.write", "locations.readonly"]


def make_config(emu: Any) -> h.Config:
    return h.Config(
        emu.client_id,
        client_secret=emu.client_secret,
        redirect_uri=REDIRECT,
        marketplace=emu.base_url,
        api_base=emu.base_url,
    )


def authorize(emu: Any, config: h.Config, location: str) -> h.Callback:
    """The user's side of the flow: open the authorization URL, read the redirect (no auto-follow)."""
    state = h.generate_state()
    url = config.authorization_url(SCOPES, state=state) + "&location_id=" + location
    r = httpx.get(url, follow_redirects=False, timeout=10)
    assert r.status_code == 302
    return h.parse_callback(r.headers["location"], state)


def res_stats(emu: Any, resource: str) -> Dict[str, int]:
    return emu.stats()["resources"].get(resource, {})


def contacts(loc: str) -> Dict[str, Any]:
    return {"location_id": loc, "params": {"locationId": loc}}


# ----------------------------------------------------------------------------------------
# The journey
# ----------------------------------------------------------------------------------------


def test_sync_journey(emulator: Any) -> None:
    emulator.reset()
    config = make_config(emulator)
    locs = ["loc_1", "loc_2", "loc_3"]
    with h.Client(config, limits=h.Limits(max=20, interval_ms=1000)) as client:
        for loc in locs:
            tokens = client.exchange_code(authorize(emulator, config, loc))
            assert tokens.location_id == loc
            assert "contacts.readonly" in tokens.scopes
            assert tokens.refresh_token
        for i in range(45):
            loc = locs[i % 3]
            r = client.get("/contacts/", **contacts(loc))
            assert r.status_code == 200
            assert "contacts" in r.json()
        r = client.post("/contacts/", location_id="loc_1", json={"locationId": "loc_1", "firstName": "Ada"})
        assert r.status_code in (200, 201)
        r = client.get("/locations/loc_2", location_id="loc_2")
        assert r.status_code == 200
        assert client.stats.calls == 47
    stats = emulator.stats()
    assert stats["totals"]["rate_limited"] == 0
    assert stats["totals"]["token_exchanges"] == 3
    for loc in locs:
        assert stats["resources"][loc]["ok"] >= 15


def test_async_journey(emulator: Any) -> None:
    emulator.reset()
    config = make_config(emulator)
    locs = ["loc_1", "loc_2", "loc_3"]

    async def main() -> List[int]:
        async with h.AsyncClient(config, limits=h.Limits(max=20, interval_ms=1000)) as client:
            for loc in locs:
                await client.exchange_code(authorize(emulator, config, loc))
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts(locs[i % 3])) for i in range(90)))
            return [r.status_code for r in rs]

    t0 = time.monotonic()
    codes = asyncio.run(main())
    assert codes == [200] * 90
    # 30 per location at 20 per second: paced, not refused.
    assert time.monotonic() - t0 >= 0.9
    assert emulator.stats()["totals"]["rate_limited"] == 0


def test_sync_client_is_thread_safe(emulator: Any) -> None:
    emulator.reset()
    config = make_config(emulator)
    with h.Client(config, limits=h.Limits(max=20, interval_ms=1000)) as client:
        client.exchange_code(authorize(emulator, config, "loc_1"))
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: client.get("/contacts/", **contacts("loc_1")).status_code, range(50)))
    assert codes == [200] * 50
    assert res_stats(emulator, "loc_1")["rate_limited"] == 0


# ----------------------------------------------------------------------------------------
# Bursts: 300 calls to one location, 0 × 429
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_emulator(emulator_factory: Any) -> Any:
    # The platform's max (100) in a 1 s window instead of 10 s, so 300 calls take ~3 s.
    return emulator_factory("--max", "100", "--interval-ms", "1000")


def test_async_burst_300_one_location_no_429(fast_emulator: Any) -> None:
    emu = fast_emulator
    config = make_config(emu)

    async def main() -> List[int]:
        # Default limits (100 per 10 s): the emulator's headers (100 per 1 s) take over.
        async with h.AsyncClient(config) as client:
            await client.exchange_code(authorize(emu, config, "loc_1"))
            emu.reset()
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts("loc_1")) for _ in range(300)))
            assert client.stats.rate_limited == 0
            return [r.status_code for r in rs]

    codes = asyncio.run(main())
    assert codes == [200] * 300
    s = res_stats(emu, "loc_1")
    assert s["requests"] == 300
    assert s["rate_limited"] == 0


def test_sync_burst_300_one_location_no_429(fast_emulator: Any) -> None:
    emu = fast_emulator
    config = make_config(emu)
    with h.Client(config, limits=h.Limits(max=100, interval_ms=1000)) as client:
        client.exchange_code(authorize(emu, config, "loc_2"))
        emu.reset()
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda _: client.get("/contacts/", **contacts("loc_2")).status_code, range(300)))
    assert codes == [200] * 300
    s = res_stats(emu, "loc_2")
    assert s["requests"] == 300
    assert s["rate_limited"] == 0


# ----------------------------------------------------------------------------------------
# Expiry, refresh, faults
# ----------------------------------------------------------------------------------------

TTL_S = 2


@pytest.fixture(scope="module")
def short_ttl_emulator(emulator_factory: Any) -> Any:
    return emulator_factory("--token-ttl-secs", str(TTL_S), "--max", "100", "--interval-ms", "1000")


def wait_expired(tokens: h.TokenSet) -> None:
    assert tokens.expires_at_ms is not None
    delay = (tokens.expires_at_ms - h.now_ms()) / 1000 + 0.3
    if delay > 0:
        time.sleep(delay)


def test_async_50_tasks_on_expired_token_refresh_once(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)
    store = h.MemoryTokenStore()

    async def main() -> List[int]:
        async with h.AsyncClient(config, store=store, refresh_leeway_ms=0, limits=h.Limits(max=100, interval_ms=1000)) as client:
            tokens = await client.exchange_code(authorize(emu, config, "loc_1"))
            wait_expired(tokens)
            before = res_stats(emu, "loc_1").get("refreshes", 0)
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts("loc_1")) for _ in range(50)))
            assert res_stats(emu, "loc_1")["refreshes"] - before == 1
            assert client.stats.refreshes == 1
            new = client.token_set("loc_1")
            assert new is not None and new.access_token != tokens.access_token
            assert new.refresh_token != tokens.refresh_token
            return [r.status_code for r in rs]

    assert asyncio.run(main()) == [200] * 50
    s = res_stats(emu, "loc_1")
    assert s["invalid_grants"] == 0
    assert s["unauthorized"] == 0
    # the refreshed session was persisted in the store
    stored = store.get("loc_1")
    assert stored is not None and "refresh_token" in stored


def test_sync_expiry_mid_run_one_refresh(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)
    with h.Client(config, refresh_leeway_ms=0, limits=h.Limits(max=100, interval_ms=1000)) as client:
        tokens = client.exchange_code(authorize(emu, config, "loc_2"))
        before = res_stats(emu, "loc_2").get("refreshes", 0)
        assert tokens.expires_at_ms is not None
        end = tokens.expires_at_ms + (TTL_S * 1000) // 2
        n = 0
        while h.now_ms() < end:
            assert client.get("/contacts/", **contacts("loc_2")).status_code == 200
            n += 1
            time.sleep(0.02)
        assert n > 20
        assert client.stats.refreshes == 1
    s = res_stats(emu, "loc_2")
    assert s["refreshes"] - before == 1
    assert s["invalid_grants"] == 0


def test_lost_refresh_response_recovers_within_grace(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)
    with h.Client(config, refresh_leeway_ms=0) as client:
        tokens = client.exchange_code(authorize(emu, config, "loc_3"))
        wait_expired(tokens)
        emu.control(drop_after_rotate=1)
        before = res_stats(emu, "loc_3").get("refreshes", 0)
        r = client.get("/contacts/", **contacts("loc_3"))  # no re-authorization asked
        assert r.status_code == 200
        assert client.stats.transport_errors == 1
        assert client.stats.refreshes == 2  # the same refresh token, sent again
        new = client.token_set("loc_3")
        assert new is not None and new.refresh_token != tokens.refresh_token
        # the pair from the grace answer keeps working
        assert client.get("/contacts/", **contacts("loc_3")).status_code == 200
    s = res_stats(emu, "loc_3")
    assert s["invalid_grants"] == 0
    assert s["refreshes"] - before >= 1
    assert emu.control()["drop_after_rotate"] == 0


def test_async_lost_refresh_response_recovers(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)

    async def main() -> None:
        async with h.AsyncClient(config, refresh_leeway_ms=0) as client:
            tokens = await client.exchange_code(authorize(emu, config, "loc_1"))
            wait_expired(tokens)
            emu.control(drop_after_rotate=1)
            rs = await asyncio.gather(*(client.get("/contacts/", **contacts("loc_1")) for _ in range(10)))
            assert [r.status_code for r in rs] == [200] * 10
            assert client.stats.transport_errors == 1

    asyncio.run(main())
    assert res_stats(emu, "loc_1")["invalid_grants"] == 0


def test_paused_location_raises_location_inactive_then_recovers(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)
    with h.Client(config, refresh_leeway_ms=0) as client:
        tokens = client.exchange_code(authorize(emu, config, "loc_2"))
        wait_expired(tokens)
        emu.control(paused_locations=["loc_2"])
        try:
            with pytest.raises(h.LocationInactiveError) as info:
                client.get("/contacts/", **contacts("loc_2"))
            err = info.value
            assert isinstance(err, h.TokenError) and err.kind == "location_inactive"
            assert err.status == 400
            assert not err.reauthorize
        finally:
            emu.control(paused_locations=[])
        # the same refresh token works again once the location is active
        assert client.get("/contacts/", **contacts("loc_2")).status_code == 200


def test_invalid_grant_paths(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)
    with h.Client(config, refresh_leeway_ms=0) as client:
        # a code that was never issued
        with pytest.raises(h.InvalidGrantError) as info:
            client.exchange_code("not-a-real-code")
        assert info.value.kind == "invalid_grant"
        # a code used twice
        cb = authorize(emu, config, "loc_3")
        client.exchange_code(cb)
        with pytest.raises(h.InvalidGrantError):
            client.exchange_code(cb)
        # a refresh token the platform does not know: re-authorization
        body = json.dumps(
            {"access_token": "stale-at", "refresh_token": "unknown-rt", "expires_in": 1, "locationId": "loc_1"}
        )
        client.load_tokens(h.parse_token_response(200, body, h.now_ms() - 10_000))
        sent_before = emu.stats()["totals"]["requests"]
        with pytest.raises(h.InvalidGrantError) as info:
            client.get("/contacts/", **contacts("loc_1"))
        assert info.value.reauthorize is True
        assert isinstance(info.value, h.TokenError)
        # no second refresh attempt: the session knows it needs the user
        with pytest.raises(h.UnauthorizedError) as info2:
            client.get("/contacts/", **contacts("loc_1"))
        assert info2.value.reauthorize is True
        assert client.stats.refreshes == 1
        assert emu.stats()["totals"]["requests"] == sent_before  # no API request went out


def test_unknown_resource_asks_for_authorization(emulator: Any) -> None:
    with h.Client(make_config(emulator)) as client:
        with pytest.raises(h.UnauthorizedError) as info:
            client.get("/contacts/", **contacts("loc_9"))
        assert info.value.reauthorize


def test_denied_authorization(emulator: Any) -> None:
    emulator.control(deny=True)
    try:
        with pytest.raises(h.AuthorizationDeniedError):
            authorize(emulator, make_config(emulator), "loc_1")
    finally:
        emulator.control(deny=False)


def test_async_store_is_used_across_clients(emulator: Any) -> None:
    config = make_config(emulator)

    class Store:
        def __init__(self) -> None:
            self.data: Dict[str, str] = {}
            self.sets = 0

        async def get(self, rid: str) -> Optional[str]:
            await asyncio.sleep(0)
            return self.data.get(rid)

        async def set(self, rid: str, stored: str) -> None:
            await asyncio.sleep(0)
            self.sets += 1
            self.data[rid] = stored

        async def delete(self, rid: str) -> None:
            self.data.pop(rid, None)

    store = Store()

    async def main() -> None:
        async with h.AsyncClient(config, store=store, limits=h.Limits(max=20, interval_ms=1000)) as a:
            await a.exchange_code(authorize(emulator, config, "loc_3"))
        assert store.sets == 1
        before = emulator.stats()["totals"]["token_exchanges"]
        async with h.AsyncClient(config, store=store, limits=h.Limits(max=20, interval_ms=1000)) as b:
            r = await b.get("/contacts/", **contacts("loc_3"))
            assert r.status_code == 200
        assert emulator.stats()["totals"]["token_exchanges"] == before

    asyncio.run(main())


# ----------------------------------------------------------------------------------------
# Webhooks from the emulator
# ----------------------------------------------------------------------------------------


def test_webhook_delivery_verifies(emulator: Any) -> None:
    received: List[Dict[str, Any]] = []
    verifier = h.WebhookVerifier(emulator.webhook_public_key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            v = verifier.verify(body, dict(self.headers.items()), h.now_ms())
            received.append({"valid": v.valid, "reason": v.reason, "event": h.parse_webhook_event(body)})
            self.send_response(200 if v else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        out = emulator.send_webhook(url, "INSTALL", "loc_2")
        assert out["delivered_status"] == 200
        # the same delivery again is a duplicate
        body, sig = out["body"], out["signature"]
        again = verifier.verify(body.encode(), {"x-ghl-signature": sig}, h.now_ms())
        assert not again and again.reason == "duplicate"
        # a tampered body is refused
        assert h.verify_webhook(body.replace("loc_2", "loc_3"), sig, public_key=emulator.webhook_public_key).reason == "bad_signature"
    finally:
        server.shutdown()
    assert received and received[0]["valid"] and received[0]["reason"] == "ok"
    ev = received[0]["event"]
    assert ev.type == "INSTALL" and ev.location_id == "loc_2"


def test_sync_threads_on_expired_token_refresh_once(short_ttl_emulator: Any) -> None:
    emu = short_ttl_emulator
    config = make_config(emu)
    with h.Client(config, refresh_leeway_ms=0, limits=h.Limits(max=100, interval_ms=1000)) as client:
        tokens = client.exchange_code(authorize(emu, config, "loc_3"))
        wait_expired(tokens)
        before = res_stats(emu, "loc_3").get("refreshes", 0)
        barrier = threading.Barrier(12)

        def one(_: int) -> int:
            barrier.wait()
            return client.get("/contacts/", **contacts("loc_3")).status_code

        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(one, range(12)))
        assert codes == [200] * 12
        assert client.stats.refreshes == 1
    assert res_stats(emu, "loc_3")["refreshes"] - before == 1
