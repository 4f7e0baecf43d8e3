"""The call loop with `requests` instead of httpx: hoopauth decides, any HTTP client sends.

    python requests_loop.py --base-url http://127.0.0.1:PORT --client-id ID --client-secret S

The core's `Pool` keeps every location's tokens and pacing; a call is driven step by step:
send what it says, feed back what came, sleep when told, persist when told.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Dict, Optional

import requests

import hoopauth

STORE: Dict[str, str] = {}  # resource id -> stored session (use a database in production)


def run(session: requests.Session, pool: hoopauth.Pool, call: hoopauth.Call, resource: str) -> requests.Response:
    """Drive one call to completion (single-threaded: one Pool per thread, or add a lock).

    Every way out of an unfinished call ends in `pool.abort` (Ctrl-C, a bug, an unexpected
    exception): the call's refresh lease, save and rate-limit slot are released."""
    try:
        step = pool.start(call, resource, hoopauth.now_ms(), random.getrandbits(64))
        last: Optional[requests.Response] = None
        while True:
            if step.kind in ("send", "send_refresh"):
                req = step.request
                assert req is not None
                try:
                    resp = session.request(
                        req.method, req.url, headers=req.headers_dict, data=req.body or None, timeout=30
                    )
                except requests.ConnectionError:
                    step = pool.transport_error(call, resource, hoopauth.now_ms(), random.getrandbits(64))
                    continue
                if step.kind == "send":
                    last = resp
                # feed each answer at once: the core frees its rate-limit slot now
                step = pool.response(
                    call, resource, resp.status_code, resp.headers, resp.content, hoopauth.now_ms(), random.getrandbits(64)
                )
            elif step.kind == "persist":
                try:
                    STORE[resource] = step.stored  # type: ignore[assignment]  # your database write
                except Exception as exc:
                    # the tokens stay in memory, unsaved; the next call saves them first
                    step = pool.persist_failed(call, resource, hoopauth.now_ms(), random.getrandbits(64))
                    raise step.error() from exc  # type: ignore[misc]
                step = pool.resume(call, resource, hoopauth.now_ms(), random.getrandbits(64))
            elif step.kind == "wait":
                time.sleep((step.wait_ms or 0) / 1000)  # exactly as long as told
                step = pool.resume(call, resource, hoopauth.now_ms(), random.getrandbits(64))
            elif step.kind == "done":
                assert last is not None
                return last
            else:  # "fail" or "reauthorize"
                err = step.error()
                assert err is not None
                raise err
    finally:
        if not call.is_finished:
            pool.abort(call, resource, hoopauth.now_ms())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--location", default="loc_1")
    ap.add_argument("--calls", type=int, default=10)
    args = ap.parse_args()

    config = hoopauth.Config(
        args.client_id,
        client_secret=args.client_secret,
        redirect_uri="http://127.0.0.1:9/oauth/callback",
        marketplace=args.base_url,
        api_base=args.base_url,
    )
    http = requests.Session()
    # 1. the user authorizes (the emulator answers the consent page with a redirect)
    state = hoopauth.generate_state()
    url = config.authorization_url(["contacts.readonly"], state=state) + "&location_id=" + args.location
    redirect = http.get(url, allow_redirects=False, timeout=30).headers["location"]
    callback = hoopauth.parse_callback(redirect, expected_state=state)
    # 2. exchange the code: the core builds the request and reads the answer
    req = config.exchange_code_request(callback.code)
    sent = hoopauth.now_ms()
    resp = http.post(req.url, headers=req.headers_dict, data=req.body, timeout=30)
    tokens = hoopauth.parse_token_response(resp.status_code, resp.content, sent, resp.headers)
    # 3. paced, refreshed calls
    pool = hoopauth.Pool(config)
    resource = pool.load_tokens(tokens)
    STORE[resource] = pool.stored_json(resource) or ""
    ok = 0
    for _ in range(args.calls):
        call = hoopauth.Call("GET", "/contacts/", query={"locationId": resource})
        ok += run(http, pool, call, resource).status_code == 200
    print(json.dumps({"location": resource, "calls": args.calls, "ok": ok}))


if __name__ == "__main__":
    main()
