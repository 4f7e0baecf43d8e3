"""Reference driver: httpx.AsyncClient alone — no hoopauth, no pacing, no refresh. The race only
uses it for the burst probe (limits lifted): how long httpx itself takes to put one window's
calls on the wire, the floor under any client built on it.
BARE_MAX_IN_FLIGHT bounds the requests in flight and the pool (default 4: httpx's fastest on
loopback; its pool works per request for every connection it holds)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx

from race_common import REDIRECT, authorize_code, emit, parse_args, race, reset


async def main() -> None:
    a = parse_args()
    bound = int(os.environ.get("BARE_MAX_IN_FLIGHT", "4"))
    limits = httpx.Limits(max_connections=bound, max_keepalive_connections=bound)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        tokens = {}
        exchanged = {}
        for loc in a.locations:
            r = await http.post(f"{a.base_url}/oauth/token", data={
                "client_id": a.client_id, "client_secret": a.client_secret, "grant_type": "authorization_code",
                "code": authorize_code(a.base_url, a.client_id, loc), "user_type": "Location", "redirect_uri": REDIRECT,
            })
            r.raise_for_status()
            tokens[loc] = r.json()["access_token"]
            exchanged[loc] = int(time.time() * 1000)
        slots = asyncio.Semaphore(bound)
        base = a.base_url.rstrip("/")
        reset(a.base_url)

        async def call(loc: str) -> None:
            async with slots:
                r = await http.get(f"{base}/contacts/?locationId={loc}",
                                   headers={"Authorization": f"Bearer {tokens[loc]}", "Version": "2021-07-28"})
                r.json()
                r.raise_for_status()

        out = await race(a, call)
        out.update(driver=a.driver or "bare-httpx", exchanged_unix_ms=exchanged)
        emit(out)


asyncio.run(main())
