"""The native call lifecycle: one list (tests/lifecycle.json at the repo root, shared with the JS
natives) fixes the Pool / Call surface; then the lifecycle's rules on the native Pool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import hoopauth as h

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE: Dict[str, List[str]] = json.loads((ROOT / "tests" / "lifecycle.json").read_text())

SECRET = "lifecycle-client-secret"
LOC = "loc-lifecycle"


@pytest.mark.parametrize("name", LIFECYCLE["pool_methods"])
def test_pool_has_lifecycle_method(name: str) -> None:
    assert callable(getattr(h.Pool, name, None)), f"Pool.{name} missing"


@pytest.mark.parametrize("name", LIFECYCLE["call_methods"])
def test_call_has_lifecycle_member(name: str) -> None:
    assert hasattr(h.Call, name), f"Call.{name} missing"
    assert getattr(h.Call("GET", "/x"), name) is False  # a fresh call is not finished


def _value(name: str) -> Any:
    return True if name == "coordinate_refresh" else 7


@pytest.mark.parametrize("name", LIFECYCLE["call_options"])
def test_call_takes_every_option(name: str) -> None:
    call = h.Call("GET", "/x", **{name: _value(name)})
    assert call.options[name] == _value(name)


def test_call_options_are_exactly_the_list() -> None:
    assert sorted(h.Call("GET", "/x").options) == sorted(LIFECYCLE["call_options"])
    defaults = h.Call("GET", "/x").options
    assert defaults["coordinate_refresh"] is False and defaults["recheck_ms"] == 1000


def test_every_event_of_the_lifecycle_is_a_pool_method() -> None:
    # The events the core knows (Event::name) are the list's step methods.
    events = {"start", "resume", "response", "transport_error", "conflict", "persist_failed"}
    assert events <= set(LIFECYCLE["pool_methods"]) and "abort" in LIFECYCLE["pool_methods"]


# -- behaviour -----------------------------------------------------------------------------


def tokens_body(at: str, rt: str, expires_in: int = 3600) -> str:
    return json.dumps(
        {
            "access_token": at,
            "refresh_token": rt,
            "expires_in": expires_in,
            "token_type": "Bearer",
            "userType": "Location",
            "locationId": LOC,
            "scope": "contacts.readonly",
        }
    )


def expired_pool() -> h.Pool:
    pool = h.Pool(h.Config("cid", client_secret=SECRET))
    pool.load_tokens(h.parse_token_response(200, tokens_body("at1", "rt1", 10), 0))
    return pool


def until_persist(pool: h.Pool, now: int = 100_000) -> h.Call:
    call = h.Call("GET", "/contacts/")
    step = pool.start(call, LOC, now, 1)
    assert step.kind == "send_refresh"
    step = pool.response(call, LOC, 200, {}, tokens_body("at2", "rt2"), now, 1)
    assert step.kind == "persist"
    return call


def test_persist_failed_ends_the_call_with_store_error_and_the_next_call_saves_first() -> None:
    pool = expired_pool()
    call = until_persist(pool)
    step = pool.persist_failed(call, LOC, 100_001, 1)
    assert step.kind == "fail" and call.is_finished
    err = step.error()
    assert isinstance(err, h.StoreError) and err.kind == "store_error" and err.family == "store"
    assert pool.is_unsaved(LOC) and pool.unsaved_resources() == [LOC]
    nxt = h.Call("GET", "/contacts/")
    step = pool.start(nxt, LOC, 100_002, 1)
    assert step.kind == "persist" and "rt2" in (step.stored or "")
    step = pool.resume(nxt, LOC, 100_003, 1)
    assert step.kind == "send" and step.request is not None
    assert step.request.header("authorization") == "Bearer at2"  # no new refresh
    assert not pool.is_unsaved(LOC)


def test_abort_during_the_save_keeps_the_tokens_unsaved() -> None:
    pool = expired_pool()
    call = until_persist(pool)
    pool.abort(call, LOC, 100_001)
    pool.abort(call, LOC, 100_001)  # idempotent
    assert call.is_finished and pool.is_unsaved(LOC)
    assert pool.token_set(LOC).access_token == "at2"  # type: ignore[union-attr]
    # an explicit flush: begin_save / end_save
    stored = pool.begin_save(LOC)
    assert stored is not None and "rt2" in stored
    assert pool.begin_save(LOC) is None  # a save is under way
    other = h.Call("GET", "/x")
    assert pool.start(other, LOC, 100_002, 1).kind == "wait"  # nobody uses unsaved tokens
    pool.abort(other, LOC, 100_002)
    pool.end_save(LOC, False)
    assert pool.is_unsaved(LOC)
    assert pool.begin_save(LOC) is not None
    pool.end_save(LOC, True)
    assert not pool.is_unsaved(LOC) and pool.unsaved_resources() == []
    step = pool.start(h.Call("GET", "/x"), LOC, 100_003, 1)
    assert step.kind == "send"


def test_abort_during_the_refresh_frees_the_lease() -> None:
    pool = expired_pool()
    call = h.Call("GET", "/x")
    assert pool.start(call, LOC, 100_000, 1).kind == "send_refresh"
    waiting = h.Call("GET", "/x")
    assert pool.start(waiting, LOC, 100_001, 1).kind == "wait"
    pool.abort(call, LOC, 100_002)
    assert pool.resume(waiting, LOC, 100_003, 1).kind == "send_refresh"


def test_abort_frees_the_rate_limit_slot_of_a_send_in_flight() -> None:
    pool = h.Pool(h.Config("cid"), limits=h.Limits(max=1, interval_ms=1000, margin_ms=0))
    pool.load_private(LOC, "pit-token")
    a = h.Call("GET", "/x")
    assert pool.start(a, LOC, 0, 1).kind == "send"
    b = h.Call("GET", "/x")
    step = pool.start(b, LOC, 10, 1)
    assert step.kind == "wait" and step.reason == "in_flight"
    pool.abort(a, LOC, 20)
    step = pool.resume(b, LOC, 500, 1)
    assert step.kind == "wait" and step.reason == "rate_limit" and step.wait_ms == 520


def test_a_misfit_event_aborts_instead_of_wedging() -> None:
    pool = expired_pool()
    call = h.Call("GET", "/x")
    assert pool.start(call, LOC, 100_000, 1).kind == "send_refresh"
    step = pool.start(call, LOC, 100_001, 1)  # misfit: start into a live call
    assert step.is_final and call.is_finished
    assert pool.start(h.Call("GET", "/x"), LOC, 100_002, 1).kind == "send_refresh"


def test_coordinate_refresh_persists_the_lease_and_conflict_fits() -> None:
    pool = expired_pool()
    call = h.Call("GET", "/x", coordinate_refresh=True)
    step = pool.start(call, LOC, 100_000, 1)
    assert step.kind == "persist"  # the lease, before the refresh
    before = pool.stored_json(LOC)
    assert before is not None
    # another process won: the driver reloads the store's record, then feeds conflict
    winner = h.Pool(h.Config("cid", client_secret=SECRET))
    winner.load_tokens(h.parse_token_response(200, tokens_body("at9", "rt9"), 99_000))
    won = json.loads(winner.stored_json(LOC) or "{}")
    won["version"] = json.loads(before)["version"] + 5
    pool.load_stored(LOC, json.dumps(won))
    step = pool.conflict(call, LOC, 100_001, 1)
    while step.kind == "wait":
        step = pool.resume(call, LOC, 100_002, 1)
    assert step.kind == "send" and step.request is not None
    assert step.request.header("authorization") == "Bearer at9"
