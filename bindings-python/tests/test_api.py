"""The Python surface: errors by kind and family, redaction, versions, stubs, conversions."""

from __future__ import annotations

import importlib.metadata
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import hoopauth as h
from hoopauth import _hoopauth

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "bindings-python"

SECRET = "s3cr3t-client-secret"
AT = "at-SUPERSECRET-access"
RT = "rt-SUPERSECRET-refresh"
CODE = "code-SUPERSECRET-123"


def cfg() -> h.Config:
    return h.Config("65f1c0ffee-lx2k9", client_secret=SECRET, redirect_uri="https://myapp.com/oauth/callback")


def token_body(**extra: object) -> str:
    d = {
        "access_token": AT,
        "refresh_token": RT,
        "token_type": "Bearer",
        "expires_in": 86399,
        "scope": "contacts.readonly contacts.write",
        "userType": "Location",
        "locationId": "loc_1",
        "companyId": "comp_1",
        "approvedLocations": ["loc_1"],
        "isBulkInstallation": "false",
        "somethingNew": {"a": [1, 2.5, None, True]},
    }
    d.update(extra)
    return json.dumps(d)


# ---------------------------------------------------------------------------- errors


FAMILY_CLASS = {
    "input": h.InputError,
    "authorization": h.AuthorizationError,
    "token": h.TokenError,
    "api": h.ApiError,
    "rate_limit": h.RateLimitError,
    "server": h.ServerError,
    "store": h.StoreError,
}


def test_every_core_kind_maps_to_a_class() -> None:
    kinds = h.error_kinds()
    assert len(kinds) >= 23 and len(set(kinds)) == len(kinds)
    for kind in kinds:
        cls = h.error_class(kind)
        assert cls is not h.HoopAuthError, kind
        assert cls.kind == kind
        family = h.error_family(kind)
        assert issubclass(cls, FAMILY_CLASS[family]), (kind, family)
        assert cls.family == family
        err = h._errors._from_core(kind, "msg", 418, 1500, False)
        assert type(err) is cls and isinstance(err, h.HoopAuthError) and isinstance(err, Exception)
        assert (err.kind, err.status, err.retry_after_ms) == (kind, 418, 1500)
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is cls and back.kind == kind and back.status == 418
    assert h.ConfigError is h.InputError
    assert issubclass(h.InputError, ValueError)


def test_native_errors_pick_the_most_specific_class() -> None:
    with pytest.raises(h.InvalidConfigError):
        h.Config("")
    with pytest.raises(h.InvalidScopeError):
        cfg().authorization_url([])
    with pytest.raises(h.StateMismatchError):
        h.parse_callback("?code=x&state=a", "b")
    with pytest.raises(h.MissingCodeError):
        h.parse_callback("?state=a")
    with pytest.raises(h.InvalidGrantError) as info:
        h.parse_token_response(400, '{"message": "Invalid grant: refresh token is invalid"}', 0)
    assert info.value.status == 400
    with pytest.raises(h.LocationInactiveError):
        h.parse_token_response(400, '{"statusCode":400,"message":"Location is not active"}', 0)
    with pytest.raises(h.RateLimitError):
        h.parse_token_response(429, "", 0)
    with pytest.raises(h.MalformedResponseError):
        h.parse_token_response(200, "[]", 0)
    with pytest.raises(h.InvalidKeyError):
        h.WebhookKey.parse("nope")
    with pytest.raises(h.InvalidArgumentError):
        cfg().api_request("TRACE", "/x", AT)
    with pytest.raises(h.InvalidArgumentError):
        cfg().api_request("GET", "https://evil.example/x", AT)


def test_classification_error_object() -> None:
    c = h.classify_response(429, {"Retry-After": "2"}, b"")
    assert (c.kind, c.rate_limit_scope, c.retry_after_ms, c.retryable) == ("rate_limited", "burst", 2000, True)
    err = c.error()
    assert isinstance(err, h.RateLimitError) and err.retry_after_ms == 2000 and err.status == 429
    with pytest.raises(h.RateLimitError):
        c.raise_for_error()
    ok = h.classify_response(200)
    assert ok.ok and ok.error() is None
    ok.raise_for_error()
    scope = h.classify_response(401, [("content-type", "application/json")], '{"message":"The token is not authorized for this scope."}')
    assert scope.kind == "insufficient_scope"
    assert isinstance(scope.error(), h.InsufficientScopeError)


# ---------------------------------------------------------------------------- redaction


def _all_text(*objs: object) -> str:
    return "\n".join(f"{o!r}\n{o!s}" for o in objs)


def test_secrets_never_in_repr_or_str() -> None:
    c = cfg()
    tokens = h.parse_token_response(200, token_body(), 1_000)
    cb = h.parse_callback(f"https://myapp.com/cb?code={CODE}&state=xyz", "xyz")
    exchange = c.exchange_code_request(CODE)
    refresh = c.refresh_request(RT)
    api = c.api_request("POST", "/contacts/", AT, json={"a": 1})
    loc = c.location_token_request(AT, "comp_1", "loc_1")
    session = h.TokenSession(c)
    session.load(tokens)
    action = session.acquire(2_000)
    pool = h.Pool(c)
    pool.load_tokens(tokens)
    store = h.MemoryTokenStore()
    store.set("loc_1", pool.stored_json("loc_1") or "")
    errors = []
    for body in (
        f'{{"error":"invalid_grant","error_description":"bad"}}',
        f'{{"message":"Invalid grant: refresh token is invalid"}}',
    ):
        try:
            h.parse_token_response(400, body, 0)
        except h.HoopAuthError as e:
            errors.append(e)
    client = h.Client(c, store=store)
    text = _all_text(c, tokens, cb, exchange, refresh, api, loc, session, action, pool, store, client, *errors)
    client.close()
    for secret in (SECRET, AT, RT, CODE):
        assert secret not in text, secret
    assert "[redacted]" in repr(tokens) and "[redacted]" in repr(c) and "[redacted]" in repr(cb)
    # ... while the values stay reachable where the protocol needs them
    assert tokens.access_token == AT and tokens.refresh_token == RT and cb.code == CODE
    assert f"Bearer {AT}" == api.header("authorization")
    assert SECRET in exchange.body_text and RT in refresh.body_text
    assert action.action == "use" and action.access_token == AT


def test_errors_do_not_echo_tokens() -> None:
    with pytest.raises(h.InvalidArgumentError) as info:
        cfg().api_request("GET", "/x", AT + "\r\nX: y")
    assert AT not in str(info.value) and AT not in repr(info.value)


# ---------------------------------------------------------------------------- versions and stubs


def _workspace_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    m = re.search(r'\[workspace\.package\][^\[]*?version\s*=\s*"([^"]+)"', text, re.S)
    assert m
    return m.group(1)


def test_versions_agree() -> None:
    pyproject = (PKG / "pyproject.toml").read_text()
    m = re.search(r'^version\s*=\s*"([^"]+)"', pyproject, re.M)
    assert m
    ws = _workspace_version()
    assert m.group(1) == ws
    assert h.__version__ == ws
    assert importlib.metadata.version("hoopauth") == ws


def test_stubs_match_the_native_module() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "hoopauth"],
        capture_output=True,
        text=True,
        cwd=str(PKG / "tests"),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert (Path(h.__file__).parent / "py.typed").exists()
    assert (Path(h.__file__).parent / "_hoopauth.pyi").exists()


def test_mypy_accepts_the_package_and_an_example() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", str(PKG / "python" / "hoopauth"), str(PKG / "examples" / "requests_loop.py")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------------------- conversions


def test_token_set_attributes_and_dict_form() -> None:
    t = h.parse_token_response(200, token_body().encode(), 1_000)
    assert t.expires_at_ms == 1_000 + 86_399_000
    assert t.scopes == ["contacts.readonly", "contacts.write"]
    assert (t.user_type, t.location_id, t.company_id, t.resource_id) == ("Location", "loc_1", "comp_1", "loc_1")
    assert t.is_bulk_installation is False
    assert t.extra == {"somethingNew": {"a": [1, 2.5, None, True]}}
    d = t.to_dict()
    assert list(d) == [
        "access_token", "token_type", "expires_in", "expires_at_ms", "refresh_token", "scopes", "user_type",
        "location_id", "company_id", "approved_locations", "plan_id", "is_bulk_installation", "user_id", "extra",
    ]
    assert h.TokenSet.from_json(t.to_json()) == t
    assert t.is_expired(1_000 + 86_399_000) and not t.is_expired(1_000)
    # str and bytes bodies agree; v3 camelCase too
    v3 = h.parse_token_response(200, json.dumps({"accessToken": AT, "expiresIn": "10"}), 0)
    assert (v3.access_token, v3.expires_at_ms) == (AT, 10_000)


def test_headers_accept_dicts_pairs_and_httpx_headers() -> None:
    hs = {"X-RateLimit-Max": "25", "X-RateLimit-Interval-Milliseconds": "10000"}
    for form in (hs, list(hs.items()), httpx.Headers(hs), [list(p) for p in hs.items()]):
        r = h.parse_rate_limit_headers(form)
        assert (r.max, r.interval_ms, r.remaining) == (25, 10000, None)
    with pytest.raises(TypeError):
        h.parse_rate_limit_headers("X-RateLimit-Max: 1")


def test_requests_carry_what_any_client_needs() -> None:
    r = cfg().api_request("get", "/contacts/", AT, query={"locationId": "loc 1"})
    assert r.method == "GET"
    assert r.url == "https://services.leadconnectorhq.com/contacts/?locationId=loc+1"
    assert r.headers_dict["Version"] == "2021-07-28" and r.body == b""
    p = cfg().api_request("POST", "/contacts/", AT, json={"firstName": "Ada"})
    assert json.loads(p.body) == {"firstName": "Ada"} and p.header("content-type") == "application/json"
    raw = cfg().api_request("POST", "/contacts/", AT, json='{"x":1}')
    assert raw.body == b'{"x":1}'


def test_limiter_and_session_objects() -> None:
    lim = h.RateLimiter(h.Limits(max=2, interval_ms=1000, margin_ms=0))
    a, b = lim.acquire(0), lim.acquire(0)
    assert a and b and (a.send_id, b.send_id) == (0, 1) and lim.in_flight == 2
    d = lim.acquire(10)
    # both sends still await their answers: they hold their slots until answered
    assert not d and d.send_id is None and d.wait_ms == 1000 and not d.daily_exhausted
    lim.answered(a.send_id, 10)
    lim.answered(b.send_id, 10)
    assert lim.in_flight == 0
    d = lim.acquire(10)
    # answered at 10: the slots count from their answers
    assert not d and d.wait_ms == 1000 and not d.daily_exhausted
    lim.observe(20, 200, {"X-RateLimit-Max": "5", "X-RateLimit-Interval-Milliseconds": "1000"})
    assert lim.limits.max == 5
    s = h.TokenSession(cfg(), refresh_leeway_ms=0)
    assert s.acquire(0).action == "reauthorize"
    s.load(h.parse_token_response(200, token_body(expires_in=10), 0))
    assert s.acquire(5_000).action == "use"
    a = s.acquire(10_000)
    assert a.action == "refresh" and a.request is not None and RT in a.request.body_text
    assert s.acquire(10_001).action == "wait"
    new = s.refresh_response(200, token_body(access_token="at2", refresh_token="rt2"), 10_000)
    assert new.access_token == "at2"
    restored = h.TokenSession.from_json(cfg(), s.stored_json())
    assert restored.token_set == s.token_set


def test_state_and_scopes_helpers() -> None:
    s1, s2 = h.generate_state(), h.generate_state()
    assert s1 != s2 and len(s1) >= 43
    assert h.states_equal(s1, s1) and not h.states_equal(s1, s2)
    with pytest.raises(h.InvalidArgumentError):
        h.generate_state(b"short")
    assert h.is_known_scope("contacts.readonly")
    assert h.suggest_scope("contacts.read") == "contacts.readonly"
    assert "contacts.readonly" in h.known_scopes()


def test_webhook_helpers() -> None:
    assert h.WebhookKey.platform() == h.WebhookKey.parse("MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=")
    v = h.verify_webhook(b'{"type":"INSTALL"}', "N/A")
    assert not v and v.reason == "bad_signature"
    ev = h.parse_webhook_event('{"type":"ContactCreate","id":"c1"}')
    assert ev.type == "ContactCreate" and ev.body == {"type": "ContactCreate", "id": "c1"}
    with pytest.raises(h.MalformedResponseError):
        h.parse_webhook_event(b"[]")
    verifier = h.WebhookVerifier(legacy_rsa_key=True, max_age_ms=1000, seen_capacity=10)
    assert verifier.max_age_ms == 1000 and verifier.seen_len == 0


def test_native_module_exports_are_reexported() -> None:
    for name in _hoopauth.__all__:
        if not name.startswith("_"):
            assert hasattr(h, name), name
    for name in h.__all__:
        assert getattr(h, name) is not None, name


def test_readme_quickstart_compiles_and_uses_real_names() -> None:
    text = (PKG / "README.md").read_text()
    m = re.search(r"```python\n(.*?)```", text, re.S)
    assert m
    code = m.group(1)
    compile(code, "README.md", "exec")
    for name in re.findall(r"hoopauth\.([A-Za-z_]+)", code):
        assert hasattr(h, name), name


def test_package_source_parses_as_python_3_9() -> None:
    import ast

    files = list((PKG / "python" / "hoopauth").glob("*.py")) + list((PKG / "examples").glob("*.py"))
    assert len(files) >= 7
    for f in files:
        ast.parse(f.read_text(), filename=str(f), feature_version=(3, 9))
