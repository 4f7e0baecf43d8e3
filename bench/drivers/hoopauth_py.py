"""Race driver: hoopauth's Python binding, httpx AsyncClient driver (the core paces and refreshes)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import hoopauth as h

from race_common import REDIRECT, authorize_code, emit, parse_args, race, reset


async def main() -> None:
    a = parse_args()
    config = h.Config(a.client_id, client_secret=a.client_secret, redirect_uri=REDIRECT,
                      marketplace=a.base_url, api_base=a.base_url)
    # Diagnosis knob (unset in `make bench`): the httpx pool's connection cap (default 100).
    pool = os.environ.get("HOOPAUTH_BENCH_HTTPX_MAX_CONNECTIONS")
    http = None
    if pool:
        http = httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=int(pool) or None,
                                                                  max_keepalive_connections=int(pool) or None))
    extra = {}  # diagnosis knob (unset in `make bench`): calls stepping or sending at once (default 16)
    if os.environ.get("HOOPAUTH_BENCH_MAX_IN_FLIGHT"):
        extra["max_in_flight"] = int(os.environ["HOOPAUTH_BENCH_MAX_IN_FLIGHT"])
    async with h.AsyncClient(config, http=http, limits=h.Limits(max=a.max, interval_ms=a.interval_ms),
                             refresh_leeway_ms=a.refresh_leeway_ms, **extra) as client:
        exchanged = {}
        for loc in a.locations:
            await client.exchange_code(authorize_code(a.base_url, a.client_id, loc))
            exchanged[loc] = int(time.time() * 1000)
        reset(a.base_url)

        async def call(loc: str) -> None:
            await client.get("/contacts/", location_id=loc, params={"locationId": loc})

        out = await race(a, call)
        out.update(driver=a.driver or "hoopauth-python", exchanged_unix_ms=exchanged,
                   client_stats=client.stats.to_dict())
        emit(out)


asyncio.run(main())
