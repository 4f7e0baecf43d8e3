"""End to end over real httpx against the emulator: the app's lifecycle from its webhooks.

A bulk INSTALL (one company-level delivery) makes every approved location callable through a
location token minted from the company's token; a minted token that comes due is minted again
(never refreshed, never a re-authorization); an UNINSTALL leaves nothing in the store; a
repeated delivery is answered as a duplicate and changes nothing — in one process, and across
processes sharing a coordinated store (SQLite)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import httpx
import pytest

import hoopauth as h
from hoopauth.shared import SqliteStore
from test_e2e import SCOPES, contacts, make_config, res_stats

COMPANY = "comp_1"
APPROVED = ["loc_1", "loc_2", "loc_3"]


@pytest.fixture(scope="module")
def emu(emulator_factory: Any) -> Any:
    # Location tokens live 2 s (minted again after 1 s); company tokens a day.
    return emulator_factory(
        "--location-token-ttl-secs", "2", "--max", "100", "--interval-ms", "1000",
        "--locations", "loc_1,loc_2,loc_3,loc_4",
    )  # fmt: skip


def install_company(emu: Any, client: Any, approved: List[str]) -> h.TokenSet:
    """The agency's bulk install: consent for `approved`, code exchanged as Company."""
    config = client.config
    state = h.generate_state()
    url = config.authorization_url(SCOPES, state=state) + "&approved_locations=" + ",".join(approved)
    r = httpx.get(url, follow_redirects=False, timeout=10)
    assert r.status_code == 302
    cb = h.parse_callback(r.headers["location"], state)
    return client.exchange_code(cb, user_type="Company")  # type: ignore[no-any-return]


class Receiver:
    """The app's webhook endpoint on loopback: ``handle`` answers each delivery with
    ``(status, reason)``; every answer is recorded."""

    def __init__(self, handle: Callable[[bytes, Dict[str, str]], Tuple[int, str]]) -> None:
        answers: List[Tuple[int, str]] = []
        deliveries: List[Tuple[bytes, Dict[str, str]]] = []

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                deliveries.append((body, headers))
                status, reason = handle(body, headers)
                answers.append((status, reason))
                out = json.dumps({"reason": reason}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.answers = answers
        self.deliveries = deliveries
        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(emu: Any, url: str, **what: Any) -> Dict[str, Any]:
    r = httpx.post(emu.base_url + "/_emulator/webhooks/send", json={"url": url, **what}, timeout=30)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def delivered(answer: Dict[str, Any]) -> List[Any]:
    return [s for d in answer["deliveries"] for s in d["delivered_statuses"]]


@pytest.fixture()
def events() -> Iterator[List[Dict[str, Any]]]:
    yield []


def counting(events: List[Dict[str, Any]]) -> Callable[[Dict[str, Any]], None]:
    return events.append


def test_bulk_install_mints_every_location_renewed_by_minting_uninstall_forgets(emu: Any, events: List[Dict[str, Any]]) -> None:
    config = make_config(emu)
    store = h.MemoryTokenStore()
    with h.Client(config, store=store, webhook_key=emu.webhook_public_key, on_event=counting(events)) as client:
        company = install_company(emu, client, APPROVED)
        assert company.company_id == COMPANY and company.approved_locations == APPROVED
        assert company.is_bulk_installation is True
        rx = Receiver(client.handle_webhook)
        try:
            # One company-level INSTALL, delivered twice (the platform's retry): applied once.
            # (The company's own code exchange counts under its installing location.)
            exchanges = {loc: res_stats(emu, loc).get("token_exchanges", 0) for loc in APPROVED}
            answer = send(emu, rx.url, type="INSTALL", bulk=True, times=2)
            assert delivered(answer) == [200, 200]
            assert rx.answers == [(200, "applied"), (200, "duplicate")]
            body = json.loads(answer["body"])
            assert body["installType"] == "Company" and "locationId" not in body
            for loc in APPROVED:
                assert client.pool.minted_from(loc) == (COMPANY, loc)
                assert store.get(loc) is not None, "the minted token is saved"
                assert res_stats(emu, loc)["token_exchanges"] - exchanges[loc] == 1, "one mint per location"
            # Every approved location is callable.
            for loc in APPROVED:
                assert client.get("/contacts/", **contacts(loc)).status_code == 200
            assert res_stats(emu, "loc_4").get("token_exchanges", 0) == 0, "not approved: not minted"

            # A minted token (2 s) comes due after 1 s: minted again, never refreshed.
            loc = "loc_1"
            before = res_stats(emu, loc)["token_exchanges"]
            seen = len(events)
            end = time.monotonic() + 3.6
            n = 0
            while time.monotonic() < end:
                assert client.get("/contacts/", **contacts(loc)).status_code == 200
                n += 1
                time.sleep(0.03)
            s = res_stats(emu, loc)
            mints = s["token_exchanges"] - before
            assert n > 40
            assert 3 <= mints <= 5, f"one mint per due point over 3.6 s (due every ~1 s): {mints}"
            assert s["refreshes"] == 0 and s["invalid_grants"] == 0 and s["unauthorized"] == 0
            assert len([e for e in events[seen:] if e["event"] == "mint" and e["resource"] == loc]) == mints
            assert not [e for e in events if e["event"] == "call_failed"], "no re-authorization, no failure"
            stored = store.get(loc)
            assert stored is not None and '"refresh_token":null' in stored and '"minted_from"' in stored
            assert client.token_set(loc).refresh_token is None  # type: ignore[union-attr]

            # UNINSTALL of one location, delivered twice: applied once; nothing left of it.
            answer = send(emu, rx.url, type="UNINSTALL", locationId="loc_2", times=2, revoke=True)
            assert delivered(answer) == [200, 200]
            assert rx.answers[-2:] == [(200, "applied"), (200, "duplicate")]
            assert store.get("loc_2") is None
            assert client.pool.stored_json("loc_2") is None and client.pool.limits("loc_2") is None
            assert client.pool.minted_from("loc_2") is None
            with pytest.raises(h.HoopAuthError) as err:
                client.get("/contacts/", **contacts("loc_2"))
            assert err.value.reauthorize

            # The same delivery once more (past nothing: the verifier remembers it): a duplicate
            # that changes nothing.
            snapshot = {r: store.get(r) for r in ["loc_1", "loc_2", "loc_3", COMPANY]}
            raw_body, headers = rx.deliveries[-1]
            r = httpx.post(rx.url, content=raw_body, headers=headers, timeout=10)
            assert (r.status_code, r.json()["reason"]) == (200, "duplicate")
            assert {r: store.get(r) for r in snapshot} == snapshot
            # A forged or malformed delivery.
            r = httpx.post(rx.url, content=raw_body.replace(b"loc_2", b"loc_3"), headers=headers, timeout=10)
            assert (r.status_code, r.json()["reason"]) == (401, "bad_signature")
            assert client.handle_webhook(b"not json", headers) == (401, "bad_signature")
        finally:
            rx.close()


def test_install_for_a_location_holding_tokens_mints_nothing(emu: Any) -> None:
    config = make_config(emu)
    with h.Client(config, webhook_key=emu.webhook_public_key) as client:
        install_company(emu, client, ["loc_3", "loc_4"])
        rx = Receiver(client.handle_webhook)
        try:
            send(emu, rx.url, type="INSTALL", locationId="loc_4")
            assert rx.answers == [(200, "applied")]
            before = res_stats(emu, "loc_4")["token_exchanges"]
            # Another delivery (a new webhookId) for the same location: it holds tokens.
            send(emu, rx.url, type="INSTALL", locationId="loc_4")
            assert rx.answers[-1] == (200, "nothing_to_do")
            assert res_stats(emu, "loc_4")["token_exchanges"] == before
            assert client.get("/contacts/", **contacts("loc_4")).status_code == 200
        finally:
            rx.close()


def test_async_client_handles_deliveries(emu: Any) -> None:
    config = make_config(emu)
    recorded = Receiver(lambda body, headers: (200, "recorded"))
    try:
        send(emu, recorded.url, type="INSTALL", bulk=True, locations=["loc_1", "loc_3"])
        send(emu, recorded.url, type="UNINSTALL", locationId="loc_3")
    finally:
        recorded.close()
    (install, install_headers), (uninstall, uninstall_headers) = recorded.deliveries

    async def main() -> None:
        store = h.MemoryTokenStore()
        async with h.AsyncClient(config, store=store, webhook_key=emu.webhook_public_key, max_in_flight=1) as client:
            await install_company_async(emu, client, ["loc_1", "loc_3"])
            assert await client.handle_webhook(install, install_headers) == (200, "applied")
            assert await client.handle_webhook(install, install_headers) == (200, "duplicate")
            r = await asyncio.gather(*[client.get("/contacts/", **contacts(loc)) for loc in ["loc_1", "loc_3"] * 5])
            assert all(x.status_code == 200 for x in r)
            assert client.pool.minted_from("loc_3") == (COMPANY, "loc_3")
            # Due (2 s tokens): minted again under one in-flight slot, concurrent calls sharing it.
            before = res_stats(emu, "loc_1")["token_exchanges"]
            await asyncio.sleep(1.1)
            r = await asyncio.gather(*[client.get("/contacts/", **contacts("loc_1")) for _ in range(6)])
            assert all(x.status_code == 200 for x in r)
            assert res_stats(emu, "loc_1")["token_exchanges"] - before == 1
            assert res_stats(emu, "loc_1")["refreshes"] == 0
            assert await client.handle_webhook(uninstall, uninstall_headers) == (200, "applied")
            assert store.get("loc_3") is None and store.get("loc_1") is not None
            assert await client.handle_webhook(b"{", {}) == (401, "bad_signature")

    asyncio.run(main())


async def install_company_async(emu: Any, client: Any, approved: List[str]) -> h.TokenSet:
    state = h.generate_state()
    url = client.config.authorization_url(SCOPES, state=state) + "&approved_locations=" + ",".join(approved)
    async with httpx.AsyncClient() as http:
        r = await http.get(url, follow_redirects=False, timeout=10)
    cb = h.parse_callback(r.headers["location"], state)
    return await client.exchange_code(cb, user_type="Company")  # type: ignore[no-any-return]


def test_coordinated_processes_share_minted_tokens_and_duplicates(emu: Any, tmp_path: Path) -> None:
    config = make_config(emu)
    db = str(tmp_path / "shared.db")
    a = h.Client(config, shared=SqliteStore(db), webhook_key=emu.webhook_public_key)
    b = h.Client(config, shared=SqliteStore(db), webhook_key=emu.webhook_public_key)
    try:
        install_company(emu, a, ["loc_1", "loc_2"])
        recorded = Receiver(lambda body, headers: (200, "recorded"))
        try:
            send(emu, recorded.url, type="INSTALL", bulk=True, locations=["loc_1", "loc_2"])
        finally:
            recorded.close()
        body, headers = recorded.deliveries[0]
        before = {loc: res_stats(emu, loc)["token_exchanges"] for loc in ["loc_1", "loc_2"]}
        assert a.handle_webhook(body, headers) == (200, "applied")
        # The same delivery reaching another process: a duplicate through the store's seen-key.
        assert b.handle_webhook(body, headers) == (200, "duplicate")
        after = {loc: res_stats(emu, loc)["token_exchanges"] for loc in ["loc_1", "loc_2"]}
        assert {loc: after[loc] - before[loc] for loc in after} == {"loc_1": 1, "loc_2": 1}
        # The other process uses the minted tokens from the shared record: no mint of its own.
        for _ in range(5):
            assert b.get("/contacts/", **contacts("loc_1")).status_code == 200
        assert res_stats(emu, "loc_1")["token_exchanges"] == after["loc_1"]
        # Both processes call through a due point: one mint for both, never a refresh.
        time.sleep(1.2)
        errors: List[BaseException] = []

        def hammer(c: Any) -> None:
            try:
                for _ in range(10):
                    assert c.get("/contacts/", **contacts("loc_2")).status_code == 200
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=hammer, args=(c,)) for c in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        s = res_stats(emu, "loc_2")
        assert s["token_exchanges"] - after["loc_2"] == 1, "one mint per due point across processes"
        assert s["refreshes"] == 0 and s["unauthorized"] == 0
    finally:
        a.close()
        b.close()


def test_client_location_token_is_renewed_by_minting(emu: Any) -> None:
    config = make_config(emu)
    # One in-flight slot: the location's call gives it back while the company's mint call runs.
    with h.Client(config, max_in_flight=1) as client:
        install_company(emu, client, ["loc_4"])
        tokens = client.location_token(COMPANY, "loc_4")
        assert tokens.expires_in == 2
        assert client.pool.minted_from("loc_4") == (COMPANY, "loc_4")
        before = res_stats(emu, "loc_4")["token_exchanges"]
        time.sleep(1.1)
        assert client.get("/contacts/", timeout=5, **contacts("loc_4")).status_code == 200
        s = res_stats(emu, "loc_4")
        assert s["token_exchanges"] - before == 1 and s["refreshes"] == 0



class _DeleteFailsOnce(h.MemoryTokenStore):
    """A token store whose ``delete`` of ``fail`` raises once."""

    fail = ""

    def delete(self, resource_id: str) -> None:
        if resource_id == self.fail:
            self.fail = ""
            raise RuntimeError("store down")
        super().delete(resource_id)


class _CasFailsOnce(SqliteStore):
    """A shared store whose compare-and-set of ``fail`` cannot reach the store once."""

    fail = ""

    def cas(self, resource: str, rev: int, data: str) -> bool:
        if resource == self.fail:
            self.fail = ""
            raise h.StoreUnavailableError("store_unavailable: store down", kind="store_unavailable")
        return super().cas(resource, rev, data)


def test_a_delivery_whose_apply_fails_is_unmarked_its_retry_is_applied(emu: Any, tmp_path: Path) -> None:
    config = make_config(emu)
    store = _DeleteFailsOnce()
    shared = _CasFailsOnce(str(tmp_path / "shared.db"))
    own = h.Client(config, store=store, webhook_key=emu.webhook_public_key)
    coordinated = h.Client(config, shared=shared, webhook_key=emu.webhook_public_key)
    recorded = Receiver(lambda body, headers: (200, "recorded"))
    try:
        send(emu, recorded.url, type="INSTALL", bulk=True, locations=["loc_1", "loc_2"])
        send(emu, recorded.url, type="UNINSTALL", locationId="loc_2")
    finally:
        recorded.close()
    (install, install_headers), (uninstall, uninstall_headers) = recorded.deliveries
    try:
        for client, failing in ((own, store), (coordinated, shared)):
            install_company(emu, client, ["loc_1", "loc_2"])
            assert client.handle_webhook(install, install_headers) == (200, "applied")
            assert client.get("/contacts/", **contacts("loc_2")).status_code == 200
            failing.fail = "loc_2"
            if client is own:
                # Anything else raised while applying is raised, the delivery un-marked.
                with pytest.raises(RuntimeError):
                    client.handle_webhook(uninstall, uninstall_headers)
            else:
                assert client.handle_webhook(uninstall, uninstall_headers) == (503, "store_unavailable")
            # The platform's retry is handled in full, then the delivery is a duplicate.
            assert client.handle_webhook(uninstall, uninstall_headers) == (200, "applied")
            assert client.handle_webhook(uninstall, uninstall_headers) == (200, "duplicate")
            with pytest.raises(h.HoopAuthError):
                client.get("/contacts/", **contacts("loc_2"))
            assert client.get("/contacts/", **contacts("loc_1")).status_code == 200
    finally:
        own.close()
        coordinated.close()


def test_async_client_unmarks_a_delivery_whose_apply_fails(emu: Any) -> None:
    config = make_config(emu)
    recorded = Receiver(lambda body, headers: (200, "recorded"))
    try:
        send(emu, recorded.url, type="INSTALL", bulk=True, locations=["loc_1", "loc_2"])
        send(emu, recorded.url, type="UNINSTALL", locationId="loc_2")
    finally:
        recorded.close()
    (install, install_headers), (uninstall, uninstall_headers) = recorded.deliveries

    async def main() -> None:
        store = _DeleteFailsOnce()
        async with h.AsyncClient(config, store=store, webhook_key=emu.webhook_public_key) as client:
            await install_company_async(emu, client, ["loc_1", "loc_2"])
            assert await client.handle_webhook(install, install_headers) == (200, "applied")
            store.fail = "loc_2"
            with pytest.raises(RuntimeError):
                await client.handle_webhook(uninstall, uninstall_headers)
            assert await client.handle_webhook(uninstall, uninstall_headers) == (200, "applied")
            assert await client.handle_webhook(uninstall, uninstall_headers) == (200, "duplicate")
            assert store.get("loc_2") is None and store.get("loc_1") is not None

    asyncio.run(main())
