"""Bad numbers are bad input: every numeric parameter of the public API answers NaN,
infinities, negatives, out-of-range integers, bools and non-numbers with
`InvalidArgumentError` (kind `invalid_argument`), never OverflowError / TypeError / a clamp."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, List, Tuple

import pytest

import hoopauth as h

CFG = h.Config("cid", client_secret="numbers-secret")
BODY = json.dumps({"access_token": "at", "refresh_token": "rt", "expires_in": 60, "locationId": "loc"})
TOKENS = h.parse_token_response(200, BODY, 0)


def pool() -> h.Pool:
    p = h.Pool(CFG)
    p.load_tokens(TOKENS)
    return p


def session() -> h.TokenSession:
    s = h.TokenSession(CFG)
    s.load(TOKENS)
    return s


def lifecycle(method: str, slot: str) -> Callable[[Any], Any]:
    def run(v: Any) -> Any:
        p = pool()
        c = h.Call("GET", "/x")
        args = {"now_ms": 1, "random": 1}
        args[slot] = v
        if method == "response":
            return p.response(c, "loc", 200, {}, b"{}", args["now_ms"], args["random"])
        return getattr(p, method)(c, "loc", args["now_ms"], args["random"])

    return run


# (parameter, call with the value in that parameter)
PARAMS: List[Tuple[str, Callable[[Any], Any]]] = [
    ("parse_token_response.status", lambda v: h.parse_token_response(v, BODY, 0)),
    ("parse_token_response.now_ms", lambda v: h.parse_token_response(200, BODY, v)),
    ("classify_response.status", lambda v: h.classify_response(v)),
    ("classify_response.now_ms", lambda v: h.classify_response(200, None, None, v)),
    ("TokenSet.is_expired.now_ms", lambda v: TOKENS.is_expired(v)),
    ("Limits.max", lambda v: h.Limits(max=v)),
    ("Limits.interval_ms", lambda v: h.Limits(interval_ms=v)),
    ("Limits.margin_ms", lambda v: h.Limits(margin_ms=v)),
    ("Limits.daily_max", lambda v: h.Limits(daily_max=v)),
    ("Limits.answer_timeout_ms", lambda v: h.Limits(answer_timeout_ms=v)),
    ("RateLimiter.acquire.now_ms", lambda v: h.RateLimiter().acquire(v)),
    ("RateLimiter.check.now_ms", lambda v: h.RateLimiter().check(v)),
    ("RateLimiter.answered.send_id", lambda v: h.RateLimiter().answered(v, 0)),
    ("RateLimiter.answered.now_ms", lambda v: h.RateLimiter().answered(0, v)),
    ("RateLimiter.observe.now_ms", lambda v: h.RateLimiter().observe(v, 200)),
    ("RateLimiter.observe.status", lambda v: h.RateLimiter().observe(0, v)),
    ("TokenSession.refresh_leeway_ms", lambda v: h.TokenSession(CFG, refresh_leeway_ms=v)),
    ("TokenSession.lease_ms", lambda v: h.TokenSession(CFG, lease_ms=v)),
    ("TokenSession.from_json.refresh_leeway_ms", lambda v: h.TokenSession.from_json(CFG, session().stored_json(), refresh_leeway_ms=v)),
    ("TokenSession.from_json.lease_ms", lambda v: h.TokenSession.from_json(CFG, session().stored_json(), lease_ms=v)),
    ("TokenSession.acquire.now_ms", lambda v: session().acquire(v)),
    ("TokenSession.refresh_response.status", lambda v: session().refresh_response(v, BODY, 0)),
    ("TokenSession.refresh_response.sent_at_ms", lambda v: session().refresh_response(200, BODY, v)),
    ("TokenSession.api_response.status", lambda v: session().api_response(v, b"", "at")),
    *[
        (f"Call.{o}", (lambda o: lambda v: h.Call("GET", "/x", **{o: v}))(o))
        for o in (
            "max_auth_retries",
            "max_rate_limit_retries",
            "max_server_retries",
            "max_refresh_attempts",
            "backoff_base_ms",
            "backoff_max_ms",
            "max_wait_ms",
            "refresh_poll_ms",
            "recheck_ms",
        )
    ],
    ("Pool.refresh_leeway_ms", lambda v: h.Pool(CFG, refresh_leeway_ms=v)),
    ("Pool.lease_ms", lambda v: h.Pool(CFG, lease_ms=v)),
    *[
        (f"Pool.{m}.{slot}", lifecycle(m, slot))
        for m in ("start", "resume", "response", "transport_error", "conflict", "persist_failed")
        for slot in ("now_ms", "random")
    ],
    ("Pool.response.status", lambda v: pool().response(h.Call("GET", "/x"), "loc", v, {}, b"", 1, 1)),
    ("Pool.abort.now_ms", lambda v: pool().abort(h.Call("GET", "/x"), "loc", v)),
    ("verify_webhook.now_ms", lambda v: h.verify_webhook(b"{}", "sig", now_ms=v)),
    ("verify_webhook.max_age_ms", lambda v: h.verify_webhook(b"{}", "sig", max_age_ms=v)),
    ("WebhookVerifier.max_age_ms", lambda v: h.WebhookVerifier(max_age_ms=v)),
    ("WebhookVerifier.seen_capacity", lambda v: h.WebhookVerifier(seen_capacity=v)),
    ("WebhookVerifier.verify.now_ms", lambda v: h.WebhookVerifier().verify(b"{}", {}, v)),
    ("Client.timeout", lambda v: h.Client(CFG, timeout=v)),
    ("Client.max_in_flight", lambda v: h.Client(CFG, max_in_flight=v)),
    ("Client.refresh_leeway_ms", lambda v: h.Client(CFG, refresh_leeway_ms=v)),
    ("Client.lease_ms", lambda v: h.Client(CFG, lease_ms=v)),
    ("Client.max_wait_ms", lambda v: h.Client(CFG, max_wait_ms=v)),
    ("Client.request.timeout", lambda v: h.Client(CFG).get("/x", location_id="loc", timeout=v)),
    ("Client.request.recheck_ms", lambda v: h.Client(CFG).get("/x", location_id="loc", recheck_ms=v)),
    ("AsyncClient.timeout", lambda v: h.AsyncClient(CFG, timeout=v)),
    ("AsyncClient.max_in_flight", lambda v: h.AsyncClient(CFG, max_in_flight=v)),
    ("AsyncClient.lease_ms", lambda v: h.AsyncClient(CFG, lease_ms=v)),
    ("AsyncClient.backoff_base_ms", lambda v: h.AsyncClient(CFG, backoff_base_ms=v)),
    ("AsyncClient.request.timeout", lambda v: _run_async(h.AsyncClient(CFG).get("/x", location_id="loc", timeout=v))),
]


def _run_async(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


BAD = [
    ("nan", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("negative", -1),
    ("negative float", -0.5),
    ("2**64", 2**64),
    ("2**200", 2**200),
    ("huge float", 1e300),
    ("True", True),
    ("False", False),
    ("str", "5"),
    ("bytes", b"5"),
    ("list", [5]),
]


@pytest.mark.parametrize("value", [v for _, v in BAD], ids=[n for n, _ in BAD])
@pytest.mark.parametrize("param,fn", PARAMS, ids=[p for p, _ in PARAMS])
def test_bad_number_is_invalid_argument(param: str, fn: Callable[[Any], Any], value: Any) -> None:
    if param.endswith(".random") and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        pytest.skip("any u64 is a random number")
    with pytest.raises(h.InvalidArgumentError) as info:
        fn(value)
    assert info.value.kind == "invalid_argument"
    slot = param.rsplit(".", 1)[1]
    if slot not in ("timeout",) or not param.startswith("Client.request"):
        assert slot in str(info.value) or slot == "timeout", f"{param}: {info.value}"


@pytest.mark.parametrize(
    "param,fn",
    [
        ("status 1.5", lambda: h.classify_response(200.5)),
        ("status 1000", lambda: h.classify_response(1000)),
        ("Limits.max fraction", lambda: h.Limits(max=2.5)),
        ("Limits.max 2**32", lambda: h.Limits(max=2**32)),
        ("Call.max_auth_retries 2**32", lambda: h.Call("GET", "/x", max_auth_retries=2**32)),
        ("Call.coordinate_refresh 1", lambda: h.Call("GET", "/x", coordinate_refresh=1)),
        ("Pool.end_save saved 1", lambda: pool().end_save("loc", 1)),
        ("Client timeout 0", lambda: h.Client(CFG, timeout=0)),
        ("Client max_in_flight 0", lambda: h.Client(CFG, max_in_flight=0)),
    ],
)
def test_out_of_range_is_invalid_argument(param: str, fn: Callable[[], Any]) -> None:
    with pytest.raises(h.InvalidArgumentError):
        fn()


def test_good_numbers_still_work() -> None:
    assert h.Limits(max=5.0, interval_ms=1000.7).interval_ms == 1000  # whole floats; ms fractions dropped
    assert h.RateLimiter().acquire(1.7e12).allowed
    assert h.classify_response(200.0).ok
    assert h.parse_token_response(200, BODY, 1_000.9).expires_at_ms == 61_000
    assert h.Call("GET", "/x", coordinate_refresh=True).options["coordinate_refresh"] is True
    assert h.Limits(daily_max=2**64 - 1).daily_max == 2**64 - 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_json_bodies_with_non_finite_numbers_are_invalid_argument(bad: float) -> None:
    with pytest.raises(h.InvalidArgumentError):
        CFG.api_request("POST", "/contacts/", "at", json={"a": bad})
    with pytest.raises(h.InvalidArgumentError):
        h.Call("POST", "/contacts/", json={"a": [1, bad]})
    with pytest.raises(h.InvalidArgumentError):
        h.Client(CFG).post("/contacts/", location_id="loc", json={"a": bad})


def test_unserialisable_json_is_invalid_argument() -> None:
    with pytest.raises(h.InvalidArgumentError):
        h.Call("POST", "/contacts/", json={"a": object()})
