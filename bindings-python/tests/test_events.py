"""Watching it work: the ``hoopauth`` logger and the ``on_event`` hook over one paced call
with a refresh, against the emulator — the events in order, and no secret in any of them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, List

import pytest

import hoopauth as h
from test_e2e import authorize, contacts, make_config


@pytest.fixture(scope="module")
def short_emu(emulator_factory: Any) -> Any:
    # Tokens live 2 s; 2 requests per 2 s per location.
    return emulator_factory("--token-ttl-secs", "2", "--max", "2", "--interval-ms", "2000")


def _secrets(emu: Any, store: h.MemoryTokenStore, *token_sets: Any) -> List[str]:
    out = [emu.client_secret]
    for t in token_sets:
        out += [t.access_token, t.refresh_token]
    stored = store.get("loc_1")
    assert stored
    out.append(stored)
    return [s for s in out if s]


def _names(events: List[Dict[str, Any]]) -> List[str]:
    return [e["event"] for e in events]


def test_one_paced_call_with_a_refresh_logged_and_hooked(short_emu: Any, caplog: Any) -> None:
    short_emu.reset()
    config = make_config(short_emu)
    events: List[Dict[str, Any]] = []
    store = h.MemoryTokenStore()
    with h.Client(
        config, store=store, refresh_leeway_ms=1500, limits=h.Limits(max=2, interval_ms=2000), on_event=events.append
    ) as client:
        cb = authorize(short_emu, config, "loc_1")
        code = cb.code
        first = client.exchange_code(cb)
        for _ in range(2):  # fill the window: the next call waits for it
            client.get("/contacts/", **contacts("loc_1"))
        time.sleep(0.7)  # the tokens are now within the refresh leeway
        events.clear()
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="hoopauth"):
            r = client.get("/contacts/", **contacts("loc_1"))
        assert r.status_code == 200
        second = client.token_set("loc_1")
        assert second is not None and second.refresh_token != first.refresh_token

    names = _names(events)
    assert names[0] == "call_start" and names[-1] == "call_done", names
    for want in ("refresh_sent", "refresh_answered", "persist", "persist_saved", "wait", "send", "answer"):
        assert want in names, (want, names)
    assert names.index("refresh_sent") < names.index("refresh_answered") < names.index("persist")
    assert names.index("send") < names.index("answer") < names.index("call_done")
    waits = [e for e in events if e["event"] == "wait"]
    assert any(e["reason"] and e["ms"] > 0 for e in waits), waits
    assert all(e["resource"] == "loc_1" for e in events)
    start = events[0]
    assert start["method"] == "GET" and start["path"] == "/contacts/"
    sent = next(e for e in events if e["event"] == "send")
    assert sent["path"] == "/contacts/" and "?" not in sent["path"]  # no query values
    answer = next(e for e in events if e["event"] == "answer")
    assert answer["status"] == 200 and answer["ms"] >= 0

    # The logger saw the same events, at DEBUG.
    records = [r for r in caplog.records if r.name == "hoopauth"]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    logged = [r.getMessage().split()[1] for r in records]
    assert logged == names, (logged, names)

    # No secret anywhere: tokens (before and after the refresh), the client secret, the
    # code, the stored JSON.
    secrets = _secrets(short_emu, store, first, second) + [code]
    for rec in records:
        blob = " ".join([rec.getMessage(), str(rec.msg), repr(rec.args)])
        for s in secrets:
            assert s not in blob
    for e in events:
        blob = repr(e)
        for s in secrets:
            assert s not in blob


def test_async_hook_and_forget(short_emu: Any) -> None:
    short_emu.reset()
    config = make_config(short_emu)
    events: List[Dict[str, Any]] = []
    store = h.MemoryTokenStore()

    async def main() -> None:
        async with h.AsyncClient(config, store=store, on_event=events.append) as client:
            await client.exchange_code(authorize(short_emu, config, "loc_1"))
            r = await client.get("/contacts/", **contacts("loc_1"))
            assert r.status_code == 200
            assert store.get("loc_1") is not None
            assert await client.forget("loc_1") is True
            # Gone from memory and from the store: the next call has no tokens.
            assert store.get("loc_1") is None and client.token_set("loc_1") is None
            with pytest.raises(h.HoopAuthError):
                await client.get("/contacts/", **contacts("loc_1"))

    asyncio.run(main())
    names = _names(events)
    assert names[0] == "saved" and names[1:4] == ["call_start", "send", "answer"] and "forget" in names, names
    assert names[names.index("forget") + 1 :] == ["call_start", "call_failed"], names


def test_sync_forget_deletes_from_the_store(short_emu: Any) -> None:
    short_emu.reset()
    config = make_config(short_emu)
    store = h.MemoryTokenStore()
    with h.Client(config, store=store) as client:
        client.exchange_code(authorize(short_emu, config, "loc_2"))
        assert store.get("loc_2") is not None
        assert client.forget("loc_2") is True
        assert store.get("loc_2") is None and client.token_set("loc_2") is None
        assert client.forget("loc_2") is False


def test_a_broken_hook_does_not_break_calls(short_emu: Any) -> None:
    short_emu.reset()
    config = make_config(short_emu)

    def hook(_e: Dict[str, Any]) -> None:
        raise RuntimeError("boom")

    with h.Client(config, on_event=hook) as client:
        client.exchange_code(authorize(short_emu, config, "loc_3"))
        assert client.get("/contacts/", **contacts("loc_3")).status_code == 200


def test_coordinated_mode_reports_a_lost_race(short_emu: Any, tmp_path: Any) -> None:
    from hoopauth.shared import SqliteStore

    class Racy(SqliteStore):
        """Loses the next compare-and-set once (as if another process wrote first)."""

        lose_next = False

        def cas(self, resource: str, rev: int, data: str) -> bool:
            if self.lose_next:
                self.lose_next = False
                return False
            return super().cas(resource, rev, data)

    short_emu.reset()
    config = make_config(short_emu)
    events: List[Dict[str, Any]] = []
    store = Racy(str(tmp_path / "shared.db"))
    with h.Client(config, shared=store, on_event=events.append) as client:
        tokens = client.exchange_code(authorize(short_emu, config, "loc_1"))
        store.lose_next = True
        assert client.get("/contacts/", **contacts("loc_1")).status_code == 200
        assert client.stats.lost_races == 1
    names = _names(events)
    assert names[0] == "call_start" and names[-1] == "call_done", names
    assert "store_lost_race" in names and "send" in names and "answer" in names, names
    for e in events:
        for s in (tokens.access_token, tokens.refresh_token, short_emu.client_secret):
            assert s not in repr(e)


def test_config_from_env() -> None:
    c = h.config_from_env({"HOOPAUTH_CLIENT_ID": "cid", "HOOPAUTH_API_BASE": "http://127.0.0.1:5", "HOOPAUTH_MARKETPLACE": ""})
    assert c.client_id == "cid" and c.api_base.startswith("http://127.0.0.1:5")
    assert c.marketplace_base == h.Config("cid").marketplace_base and not c.has_client_secret
    with pytest.raises(h.InvalidConfigError):
        h.config_from_env({})
    v = h.webhook_verifier_from_env({})
    assert isinstance(v, h.WebhookVerifier)
