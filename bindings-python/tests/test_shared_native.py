"""The native coordinated-mode surface: Pool.load_shared / export_shared / shared_written /
set_keys, Call.copy, the core's Redis/SQLite constants — and the transaction rules on a plain
dict "store" (no server): a lost race steps again from the call's copy on the winner's state."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Dict, Optional, Tuple

import pytest

import hoopauth as h

LOC = "loc-shared"
NONCE = bytes(24)


def cfg() -> h.Config:
    return h.Config("cid", client_secret="shared-secret", api_base="https://api.example")


def tokens(at: str = "at-shared-1", rt: str = "rt-shared-1", expires_in: int = 3600, now: int = 1_000_000) -> h.TokenSet:
    body = json.dumps({"access_token": at, "refresh_token": rt, "expires_in": expires_in, "locationId": LOC, "userType": "Location"})
    return h.parse_token_response(200, body, now)


def seeded(keys: Optional[list] = None) -> Tuple[h.Pool, str]:
    p = h.Pool(cfg(), limits=h.Limits(max=1, interval_ms=10_000))
    p.set_keys(keys)
    p.load_shared(LOC, None)
    p.load_tokens(tokens(), LOC)
    rec = p.export_shared(LOC, NONCE)
    assert rec is not None
    return p, rec


def test_constants_and_keys_are_the_core_ones() -> None:
    assert "HMGET" in h.REDIS_READ_SCRIPT and "TIME" in h.REDIS_READ_SCRIPT
    assert "PEXPIRE" in h.REDIS_CAS_SCRIPT
    assert h.SHARED_LEASE_MS < 30_000  # shorter than the platform's refresh grace
    assert h.SHARED_TTL_MS >= 365 * 86_400_000
    assert h.redis_key("hoopauth:", "loc_1") == "hoopauth:{loc_1}"
    assert h.redis_webhook_key("hoopauth:", "w-1") == "hoopauth:webhook:{w-1}"
    db = sqlite3.connect(":memory:")
    db.executescript(h.SQLITE_SCHEMA)
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == {"hoopauth_shared", "hoopauth_webhooks"}
    assert h.shared.SQLITE_SCHEMA == h.SQLITE_SCHEMA


def test_export_only_when_something_changed() -> None:
    p, rec = seeded()
    assert "at-shared-1" in rec  # unsealed: plain JSON
    p.load_shared(LOC, rec)
    assert p.export_shared(LOC, NONCE) is None  # nothing changed: nothing to write
    call = h.Call("GET", "/contacts/")
    step = p.start(call, LOC, 2_000_000, 1)
    assert step.kind == "send"
    assert p.export_shared(LOC, NONCE) is not None  # the send took a slot others must see


def test_nonce_must_be_24_bytes() -> None:
    p, _ = seeded()
    for bad in (b"", bytes(23), bytes(25), "x" * 24, 24, None, bytearray(24)):
        with pytest.raises(h.InvalidArgumentError):
            p.export_shared(LOC, bad)  # type: ignore[arg-type]


def test_set_keys_validation() -> None:
    p = h.Pool(cfg())
    p.set_keys([bytes(32)])
    p.set_keys([bytes(32), bytes(range(32))])
    p.set_keys([])
    p.set_keys(None)
    with pytest.raises(h.InvalidConfigError):
        p.set_keys([bytes(31)])
    for bad in (bytes(32), "k" * 32, [1], ["k" * 32], 5):
        with pytest.raises(h.InvalidArgumentError):
            p.set_keys(bad)  # type: ignore[arg-type]


def test_sealed_records_and_rotation() -> None:
    old, new = bytes(range(32)), bytes(range(1, 33))
    _, rec = seeded([old])
    assert rec.startswith("hs1.") and "at-shared-1" not in rec and "rt-shared-1" not in rec
    other = h.Pool(cfg())
    with pytest.raises(h.InvalidConfigError):
        other.load_shared(LOC, rec)  # sealed, no key
    other.set_keys([new])
    with pytest.raises(h.StoreError):
        other.load_shared(LOC, rec)  # the wrong key
    other.set_keys([new, old])
    other.load_shared(LOC, rec)
    assert other.token_set(LOC) == tokens()


def test_call_copy_is_independent() -> None:
    p, rec = seeded()
    call = h.Call("GET", "/contacts/")
    before = call.copy()
    p.load_shared(LOC, rec)
    assert p.start(call, LOC, 2_000_000, 1).kind == "send"
    assert not call.is_finished and call.stats["sends"] == 1
    assert before.stats["sends"] == 0
    import copy

    assert copy.copy(call).stats == call.stats


class DictStore:
    """A store in a dict: revision + data per resource."""

    def __init__(self) -> None:
        self.data: Dict[str, Tuple[int, str]] = {}

    def read(self, r: str) -> Tuple[int, Optional[str]]:
        return self.data.get(r, (0, None))

    def cas(self, r: str, rev: int, rec: str) -> bool:
        if self.data.get(r, (0, None))[0] != rev:
            return False
        self.data[r] = (rev + 1, rec)
        return True


def test_a_lost_race_steps_again_on_the_winner_state() -> None:
    """Two processes read revision 1 with one free slot (max 1): both would send; the second
    write loses, its call is put back and stepped again on the winner's record: it waits."""
    store = DictStore()
    _, rec = seeded()
    store.data[LOC] = (1, rec)
    a, b = h.Pool(cfg()), h.Pool(cfg())
    ca, cb = h.Call("GET", "/contacts/"), h.Call("GET", "/contacts/")
    now = 2_000_000
    rev_a, data_a = store.read(LOC)
    rev_b, data_b = store.read(LOC)
    a.load_shared(LOC, data_a)
    b.load_shared(LOC, data_b)
    copy_b = cb.copy()
    assert a.start(ca, LOC, now, 1).kind == "send"
    assert b.start(cb, LOC, now, 1).kind == "send"
    assert store.cas(LOC, rev_a, a.export_shared(LOC, NONCE) or "")
    assert not store.cas(LOC, rev_b, b.export_shared(LOC, NONCE) or "")
    cb = copy_b
    rev_b, data_b = store.read(LOC)
    b.load_shared(LOC, data_b)
    step = b.start(cb, LOC, now + 1, 1)
    assert step.kind == "wait" and step.reason in ("in_flight", "rate_limit")
    assert b.export_shared(LOC, NONCE) is None  # a waiting call writes nothing


def test_readme_coordinated_snippet_compiles_and_uses_real_names() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Many processes, one client", 1)[1]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m
    compile(m.group(1), "README.md", "exec")
    for name in re.findall(r"hoopauth\.([A-Za-z_]+)", m.group(1)):
        assert hasattr(h, name), name
    for name in re.findall(r"import ([A-Za-z_, ]+)\n", m.group(1).split("from hoopauth.shared", 1)[1])[0].split(","):
        assert hasattr(h.shared, name.strip()), name
