"""Runs every `*.json` vector file in HOOPAUTH_VECTORS (default ../shared/vectors) through the binding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple
from urllib.parse import parse_qsl

import pytest

import hoopauth as h
from conftest import vectors_dir

DIR = vectors_dir()
# Cases proposed for SPEC (minted location sessions, the webhook plan), kept beside the core
# until the shared vectors carry them.
PROPOSED = Path(__file__).resolve().parents[2] / "core" / "tests" / "vectors_proposed"


def _cases() -> List[Tuple[str, str, Dict[str, Any]]]:
    out = []
    files = sorted(DIR.glob("*.json"))
    assert files, f"no vector files in {DIR}"
    files += sorted(PROPOSED.glob("*.json"))
    for f in files:
        doc = json.loads(f.read_text())
        for case in doc["cases"]:
            out.append((f.name, doc["op"], case))
    return out


CASES = _cases()


def config(inp: Dict[str, Any]) -> h.Config:
    c = dict(inp.get("config") or {})
    cid = c.pop("client_id", "")
    return h.Config(cid, **c)


def request_json(r: h.Request) -> Dict[str, Any]:
    origin_path, _, query = r.url.partition("?")
    ct = r.header("content-type") or ""
    out: Dict[str, Any] = {
        "method": r.method,
        "url": r.url,
        "origin_path": origin_path,
        "url_query": [list(p) for p in parse_qsl(query, keep_blank_values=True)],
        "headers": [list(p) for p in r.headers],
    }
    if not r.body:
        out["body"] = None
    elif ct.startswith("application/x-www-form-urlencoded"):
        out["form"] = [list(p) for p in parse_qsl(r.body_text, keep_blank_values=True)]
        out["body"] = r.body_text
    else:
        out["json"] = json.loads(r.body)
        out["body"] = r.body_text
    return out


def token_set_json(t: h.TokenSet) -> Dict[str, Any]:
    d = t.to_dict()
    d.pop("extra")
    return d


def sorted_pairs(v: Any) -> List[Tuple[str, str]]:
    return sorted((p[0], p[1]) for p in (v or []))


def compare(expect: Dict[str, Any], actual: Dict[str, Any]) -> None:
    for k, ev in expect.items():
        av = actual.get(k)
        if k in ("query", "form", "url_query"):
            key = "url_query" if k == "query" else k
            ok = sorted_pairs(ev) == sorted_pairs(actual.get(key))
        elif k == "headers":
            have = actual.get("headers") or []
            ok = all(any(n.lower() == name.lower() and v == val for n, v in have) for name, val in ev.items())
        elif k == "absent_headers":
            have = actual.get("headers") or []
            ok = all(not any(n.lower() == name.lower() for n, _ in have) for name in ev)
        elif k == "form_includes":
            have = [tuple(p) for p in actual.get("form") or []]
            ok = all(tuple(p) in have for p in ev)
        else:
            ok = av == ev
        assert ok, f"field `{k}`: expected {ev!r}, got {av!r}"


def run_case(op: str, inp: Dict[str, Any]) -> Dict[str, Any]:
    if op == "authorization_url":
        url = config(inp).authorization_url(
            inp["scopes"],
            state=inp.get("state"),
            login_window_open_mode=inp.get("login_window_open_mode"),
            version_id=inp.get("version_id"),
        )
        origin_path, _, query = url.partition("?")
        return {"origin_path": origin_path, "url_query": parse_qsl(query, keep_blank_values=True)}
    if op == "parse_callback":
        cb = h.parse_callback(inp["url"], inp.get("expected_state"))
        return {"code": cb.code, "state": cb.state}
    if op == "token_request":
        r = config(inp).token_request(
            inp["grant"], code=inp.get("code"), refresh_token=inp.get("refresh_token"), user_type=inp.get("user_type")
        )
        return request_json(r)
    if op == "location_token_request":
        r = config(inp).location_token_request(inp["agency_access_token"], inp["company_id"], inp["location_id"])
        return request_json(r)
    if op == "api_request":
        js = json.dumps(inp["json"]) if "json" in inp else None
        r = config(inp).api_request(inp["method"], inp["path"], inp["access_token"], query=inp.get("query"), json=js)
        return request_json(r)
    if op == "parse_token_response":
        t = h.parse_token_response(inp["status"], inp["body"], inp["now_ms"], headers=inp.get("headers"))
        return token_set_json(t)
    if op == "classify_response":
        c = h.classify_response(inp["status"], inp.get("headers"), inp.get("body", ""), inp.get("now_ms"))
        return {
            "kind": c.kind,
            "retryable": c.retryable,
            "rate_limit_scope": c.rate_limit_scope,
            "retry_after_ms": c.retry_after_ms,
        }
    if op == "parse_rate_limit_headers":
        return h.parse_rate_limit_headers(inp.get("headers") or {}).to_dict()
    if op == "verify_webhook":
        v = h.verify_webhook(
            inp["body"],
            inp.get("signature"),
            public_key=inp.get("public_key"),
            now_ms=inp.get("now_ms"),
            max_age_ms=inp.get("max_age_ms"),
        )
        return {"valid": v.valid, "reason": v.reason}
    if op == "rate_limiter":
        run_rate_limiter(inp)
        return {}
    if op == "token_session":
        run_session(inp)
        return {}
    if op == "webhook_plan":
        pool = h.Pool(config(inp))
        now = inp.get("now_ms", 0)
        for resource, body in (inp.get("tokens") or {}).items():
            pool.load_tokens(h.parse_token_response(200, body, now), resource)
        body = inp["body"]
        reads = h.webhook_reads(body)
        plan = pool.plan_webhook(body)
        return {
            "reads": reads,
            "company_id": plan.company_id,
            "mint": plan.mint,
            "forget": plan.forget,
            "applied": list(plan.reply(1)),
            "unchanged": list(plan.reply(0)),
        }
    if op == "webhook_reply":
        r = h.WebhookPlan.rejected(inp["verification"])
        return {"reply": list(r) if r is not None else None}
    raise AssertionError(f"unknown op {op}")


def run_rate_limiter(inp: Dict[str, Any]) -> None:
    limiter = h.RateLimiter(h.Limits(**inp["limits"]))
    allowed: List[int] = []  # send ids of the sends the script allowed, in order
    for i, step in enumerate(inp["steps"]):
        at = step["at"]
        if step["op"] == "acquire":
            for n in range(step.get("count", 1)):
                d = limiter.acquire(at)
                actual = (
                    {"allow": True}
                    if d.allowed
                    else {"allow": False, "wait_ms": d.wait_ms, "daily_exhausted": d.daily_exhausted}
                )
                if d.allowed:
                    assert d.send_id is not None
                    allowed.append(d.send_id)
                    if not step.get("in_flight", False):
                        limiter.answered(d.send_id, at)
                else:
                    assert d.send_id is None
                try:
                    compare(step["expect"], actual)
                except AssertionError as e:
                    raise AssertionError(f"step {i} (acquire {n} at {at}): {e}") from None
        elif step["op"] == "answered":
            for idx in step["sends"]:
                limiter.answered(allowed[idx], at)
        elif step["op"] == "observe":
            limiter.observe(at, step["status"], step.get("headers"))
        else:
            raise AssertionError(f"unknown step op {step['op']}")


def run_session(inp: Dict[str, Any]) -> None:
    cfg = config(inp)
    opts = inp.get("options") or {}
    session = h.TokenSession(cfg, **opts)
    for i, step in enumerate(inp["steps"]):
        at = step["at"]
        op = step["op"]
        body = step.get("body", "")
        if op == "load":
            if "private_token" in step:
                session.load_private(step["private_token"])
            else:
                session.load(h.parse_token_response(step["status"], body, at))
        elif op == "acquire":
            a = session.acquire(at)
            if a.action == "use":
                actual: Dict[str, Any] = {"action": "use", "access_token": a.access_token}
            elif a.action == "refresh":
                assert a.request is not None
                actual = request_json(a.request)
                actual["action"] = "refresh"
            elif a.action == "mint":
                actual = {"action": "mint", "company_id": a.company_id, "location_id": a.location_id}
            else:
                actual = {"action": a.action}
            try:
                compare(step["expect"], actual)
            except AssertionError as e:
                raise AssertionError(f"step {i} (acquire at {at}): {e}") from None
        elif op == "refresh_response":
            try:
                session.refresh_response(step["status"], body, at)
            except h.HoopAuthError:
                pass
        elif op == "api_response":
            session.api_response(step["status"], body, step["access_token"])
        elif op == "roundtrip":
            session = h.TokenSession.from_json(cfg, session.stored_json(), **opts)
        elif op == "minted":
            session.set_minted_from(step["company_id"], step["location_id"])
        elif op == "mint_response":
            try:
                session.mint_response(step["status"], body, at)
            except h.HoopAuthError:
                pass
        elif op == "mint_failed":
            session.mint_failed()
        elif op == "stored":
            stored = json.loads(session.stored_json())
            t = session.token_set
            m = session.minted_from
            view = {
                "minted_from": {"company_id": m[0], "location_id": m[1]} if m is not None else None,
                "access_token": t.access_token if t is not None else None,
                "refresh_token": t.refresh_token if t is not None else None,
                "location_id": t.location_id if t is not None else None,
                "company_id": t.company_id if t is not None else None,
                "user_type": t.user_type if t is not None else None,
                "expires_at_ms": t.expires_at_ms if t is not None else None,
                "lease": stored.get("refresh_lease_until_ms") is not None,
                "reauthorize": stored.get("reauthorize", False),
                "json_has_minted_from": "minted_from" in stored,
            }
            try:
                compare(step["expect"], view)
            except AssertionError as e:
                raise AssertionError(f"step {i} (stored at {at}): {e}") from None
        else:
            raise AssertionError(f"unknown step op {op}")


@pytest.mark.parametrize("file,op,case", CASES, ids=[f"{f}:{c['name']}" for f, _, c in CASES])
def test_vector(file: str, op: str, case: Dict[str, Any]) -> None:
    expect = case["expect"]
    kind = expect.get("error")
    if kind is not None:
        with pytest.raises(h.HoopAuthError) as info:
            run_case(op, case["input"])
        assert info.value.kind == kind, f"expected error {kind}, got {info.value.kind} ({info.value})"
        assert isinstance(info.value, h.error_class(kind))
    else:
        compare(expect, run_case(op, case["input"]))
