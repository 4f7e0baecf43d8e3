"""Secrets never print. The printed forms (repr, str, format, pickle where it works) of an
instance of EVERY public type are searched for the secret strings; the type list comes from
`hoopauth.__all__`, so a new public type without a factory here fails the suite."""

from __future__ import annotations

import inspect
import json
import pickle
from typing import Any, Callable, Dict, List

import pytest

import hoopauth as h

SECRET = "cs-SECRET-client-0001"
AT = "at-SECRET-access-0001"
RT = "rt-SECRET-refresh-0001"
AT2 = "at-SECRET-access-0002"
RT2 = "rt-SECRET-refresh-0002"
CODE = "code-SECRET-0001"
PIT = "pit-SECRET-private-0001"
SECRETS = (SECRET, AT, RT, AT2, RT2, CODE, PIT)
LOC = "loc_sec"


def cfg() -> h.Config:
    return h.Config("cid-sec", client_secret=SECRET, redirect_uri="https://app.example/cb")


def body(at: str = AT, rt: str = RT, expires_in: int = 3600) -> str:
    return json.dumps(
        {"access_token": at, "refresh_token": rt, "expires_in": expires_in, "locationId": LOC, "userType": "Location"}
    )


def tokens(expires_in: int = 3600) -> h.TokenSet:
    return h.parse_token_response(200, body(expires_in=expires_in), 0)


def session_actions() -> List[h.SessionAction]:
    s = h.TokenSession(cfg())
    out = [s.acquire(0)]  # reauthorize
    s.load(tokens(expires_in=10))
    out.append(s.acquire(1_000))  # use
    out.append(s.acquire(20_000))  # refresh (the request holds the refresh token and secret)
    out.append(s.acquire(20_001))  # wait
    s.refresh_response(200, body(AT2, RT2), 20_000)
    s.save_failed()
    out.append(s.acquire(20_002))  # save
    return out


def steps() -> List[h.Step]:
    pool = h.Pool(cfg())
    pool.load_tokens(tokens(expires_in=10))
    call = h.Call("POST", "/contacts/", json={"note": "x"})
    out = [pool.start(call, LOC, 20_000, 1)]  # send_refresh
    out.append(pool.start(h.Call("GET", "/x"), LOC, 20_001, 1))  # wait
    out.append(pool.response(call, LOC, 200, {}, body(AT2, RT2), 20_002, 1))  # persist
    out.append(pool.resume(call, LOC, 20_003, 1))  # send
    out.append(pool.response(call, LOC, 200, {}, b'{"ok": true}', 20_004, 1))  # done
    fail_call = h.Call("GET", "/x", max_auth_retries=0)
    pool.start(fail_call, LOC, 20_005, 1)
    # a server answer that echoes the token and the client secret
    echo = json.dumps({"statusCode": 401, "message": f"Invalid JWT {AT2} for client {SECRET}"})
    out.append(pool.response(fail_call, LOC, 401, {}, echo, 20_006, 1))  # reauthorize / fail
    return out


def requests() -> List[h.Request]:
    c = cfg()
    return [
        c.exchange_code_request(CODE),
        c.refresh_request(RT),
        c.api_request("POST", "/contacts/", AT, json={"a": 1}),
        c.location_token_request(AT, "comp_1", LOC),
        c.token_request("client_credentials"),
    ]


def store() -> h.MemoryTokenStore:
    s = h.MemoryTokenStore()
    p = h.Pool(cfg())
    p.load_tokens(tokens())
    s.set(LOC, p.stored_json(LOC) or "")
    return s


def client() -> Any:
    c = h.Client(cfg(), store=store())
    c.load_tokens(tokens())
    c.use_private_token("loc_pit", PIT)
    return c


def async_client() -> Any:
    c = h.AsyncClient(cfg(), store=store())
    c.pool.load_tokens(tokens())
    return c


def webhook_event() -> h.WebhookEvent:
    return h.parse_webhook_event(json.dumps({"type": "INSTALL", "locationId": LOC, "appId": "app", "webhookId": "w1"}))


FACTORIES: Dict[str, Callable[[], List[Any]]] = {
    "App": lambda: [cfg()],
    "Config": lambda: [cfg()],
    "Request": requests,
    "TokenSet": lambda: [tokens()],
    "Callback": lambda: [h.parse_callback(f"https://app.example/cb?code={CODE}&state=s1", "s1")],
    "Classification": lambda: [h.classify_response(401, None, json.dumps({"message": f"bad token {AT}"}))],
    "RateLimitHeaders": lambda: [h.parse_rate_limit_headers({"X-RateLimit-Max": "100"})],
    "Limits": lambda: [h.Limits()],
    "Decision": lambda: [h.RateLimiter().acquire(0)],
    "RateLimiter": lambda: [h.RateLimiter()],
    "SessionAction": session_actions,
    "TokenSession": lambda: [_session()],
    "Call": lambda: [h.Call("POST", "/contacts/", json={"a": 1})],
    "Step": steps,
    "Pool": lambda: [_pool()],
    "WebhookKey": lambda: [h.WebhookKey.platform()],
    "Verification": lambda: [h.verify_webhook(b"{}", "sig")],
    "WebhookVerifier": lambda: [h.WebhookVerifier()],
    "WebhookEvent": lambda: [webhook_event()],
    "WebhookPlan": lambda: [
        _pool().plan_webhook(json.dumps({"type": "INSTALL", "locationId": LOC, "companyId": "comp_1", "webhookId": "w1"}))
    ],
    "Client": lambda: [client()],
    "AsyncClient": lambda: [async_client()],
    "Transport": lambda: [h.Transport(client())],
    "AsyncTransport": lambda: [h.AsyncTransport(async_client())],
    "TokenStore": lambda: [store()],
    "AsyncTokenStore": lambda: [store()],
    "MemoryTokenStore": lambda: [store()],
    "DriverStats": lambda: [h.DriverStats()],
}


def _session() -> h.TokenSession:
    s = h.TokenSession(cfg())
    s.load(tokens())
    return s


def _pool() -> h.Pool:
    p = h.Pool(cfg())
    p.load_tokens(tokens())
    p.load_private("loc_pit", PIT)
    return p


def public_types() -> List[str]:
    out = []
    for name in h.__all__:
        obj = getattr(h, name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            out.append(name)
    return out


def printed(obj: Any) -> str:
    parts = [repr(obj), str(obj), format(obj), f"{obj!r:>1}"]
    try:
        parts.append(pickle.dumps(obj).decode("latin-1"))
    except Exception:
        pass  # not picklable: nothing to print
    return "\n".join(parts)


def test_every_public_type_has_a_factory() -> None:
    missing = [n for n in public_types() if n not in FACTORIES]
    assert not missing, f"add a factory to FACTORIES for the new public types {missing}"


@pytest.mark.parametrize("name", public_types())
def test_public_type_never_prints_a_secret(name: str) -> None:
    objs = FACTORIES[name]()
    assert objs
    for obj in objs:
        text = printed(obj)
        for s in SECRETS:
            assert s not in text, f"{name}: {s} in {text!r}"


def test_raw_values_stay_reachable_through_accessors() -> None:
    reqs = requests()
    assert CODE in reqs[0].body_text and SECRET in reqs[0].body_text and RT in reqs[1].body_text
    assert reqs[2].header("authorization") == f"Bearer {AT}"
    assert tokens().access_token == AT and tokens().refresh_token == RT
    acts = session_actions()
    assert acts[1].access_token == AT and acts[2].request is not None and RT in acts[2].request.body_text
    assert [a.action for a in acts] == ["reauthorize", "use", "refresh", "wait", "save"]
    st = steps()
    assert [s.kind for s in st][:5] == ["send_refresh", "wait", "persist", "send", "done"]
    assert RT2 in (st[2].stored or "") and st[3].request is not None
    assert st[3].request.header("authorization") == f"Bearer {AT2}"


def exception_types() -> List[str]:
    return [n for n in h.__all__ if inspect.isclass(getattr(h, n)) and issubclass(getattr(h, n), BaseException)]


@pytest.mark.parametrize("name", exception_types())
def test_every_error_class_prints_and_pickles_without_secrets(name: str) -> None:
    cls = getattr(h, name)
    err = cls("neutral message", kind=cls.kind if cls.kind != "unknown" else "server_error")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, h.HoopAuthError) and back.message == "neutral message"
    assert all(s not in printed(err) for s in SECRETS)


def test_server_text_echoing_known_secrets_is_scrubbed_from_errors() -> None:
    fail = steps()[-1]
    assert fail.kind in ("fail", "reauthorize")
    err = fail.error()
    assert isinstance(err, h.HoopAuthError)
    text = printed(err) + "\n" + pickle.dumps(err).decode("latin-1")
    assert AT2 not in text and SECRET not in text
    assert "[redacted]" in err.message
    # a refresh answer that echoes the spent refresh token
    pool = h.Pool(cfg())
    pool.load_tokens(tokens(expires_in=10))
    call = h.Call("GET", "/x")
    assert pool.start(call, LOC, 20_000, 1).kind == "send_refresh"
    echo = json.dumps({"error": "invalid_grant", "error_description": f"refresh token {RT} was revoked ({SECRET})"})
    step = pool.response(call, LOC, 400, {}, echo, 20_001, 1)
    err = step.error()
    assert err is not None and err.kind == "invalid_grant"
    assert RT not in printed(err) and SECRET not in printed(err) and "[redacted]" in err.message
    # the standalone session too
    s = h.TokenSession(cfg())
    s.load(tokens(expires_in=10))
    assert s.acquire(20_000).action == "refresh"
    with pytest.raises(h.InvalidGrantError) as info:
        s.refresh_response(400, echo, 20_000)
    assert RT not in printed(info.value) and SECRET not in printed(info.value)
