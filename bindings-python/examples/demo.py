"""The journey in Python, against the platform emulator (or any compatible base URL):

authorization URL -> follow the redirect (read Location, no auto-follow) -> parse the
callback (state checked) -> exchange the code, one location at a time -> N paced calls
spread over the locations -> one JSON summary line on stdout.

    python demo.py --base-url http://127.0.0.1:PORT --client-id ID --client-secret S \
        [--calls 300 --locations loc_1,loc_2,loc_3 --mode async|sync --max 100 --interval-ms 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, Dict, List, Optional

import httpx

import hoopauth

SCOPES = ["contacts.readonly", "contacts.write", "locations.readonly"]
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"


def authorize(config: hoopauth.Config, location: str) -> hoopauth.Callback:
    state = hoopauth.generate_state()
    # `location_id` is the emulator's stand-in for the user picking a location.
    url = config.authorization_url(SCOPES, state=state) + "&location_id=" + location
    r = httpx.get(url, follow_redirects=False, timeout=30)
    if r.status_code not in (301, 302, 303, 307, 308):
        raise SystemExit(f"authorization page answered {r.status_code}, not a redirect")
    return hoopauth.parse_callback(r.headers["location"], expected_state=state)


def emulator_stats(base_url: str) -> Dict[str, Any]:
    try:
        r = httpx.get(base_url + "/_emulator/stats", timeout=10)
        return r.json()["totals"] if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError, KeyError):
        return {}


async def run_async(config: hoopauth.Config, limits: hoopauth.Limits, locations: List[str], calls: int, leeway: Optional[int]) -> int:
    async with hoopauth.AsyncClient(config, limits=limits, refresh_leeway_ms=leeway) as client:
        for loc in locations:
            await client.exchange_code(authorize(config, loc))
        rs = await asyncio.gather(
            *(
                client.get("/contacts/", location_id=locations[i % len(locations)],
                           params={"locationId": locations[i % len(locations)]})
                for i in range(calls)
            )
        )
        return sum(r.status_code == 200 for r in rs)


def run_sync(config: hoopauth.Config, limits: hoopauth.Limits, locations: List[str], calls: int, leeway: Optional[int]) -> int:
    ok = 0
    with hoopauth.Client(config, limits=limits, refresh_leeway_ms=leeway) as client:
        for loc in locations:
            client.exchange_code(authorize(config, loc))
        for i in range(calls):
            loc = locations[i % len(locations)]
            ok += client.get("/contacts/", location_id=loc, params={"locationId": loc}).status_code == 200
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--locations", default="loc_1,loc_2,loc_3")
    ap.add_argument("--mode", choices=["async", "sync"], default="async")
    ap.add_argument("--max", type=int, default=None, help="the platform's burst limit (default 100)")
    ap.add_argument("--interval-ms", type=int, default=None, help="its window (default 10000)")
    ap.add_argument("--refresh-leeway-ms", type=int, default=None, help="refresh this long before expiry (default 300000)")
    args = ap.parse_args()

    locations = [l for l in args.locations.split(",") if l]
    config = hoopauth.Config(
        args.client_id,
        client_secret=args.client_secret,
        redirect_uri=REDIRECT_URI,
        marketplace=args.base_url,
        api_base=args.base_url,
    )
    # Until the first response's X-RateLimit-* headers arrive, the pacer uses these.
    limits = hoopauth.Limits(max=args.max, interval_ms=args.interval_ms)
    before = emulator_stats(args.base_url)
    t0 = time.monotonic()
    try:
        if args.mode == "async":
            ok = asyncio.run(run_async(config, limits, locations, args.calls, args.refresh_leeway_ms))
        else:
            ok = run_sync(config, limits, locations, args.calls, args.refresh_leeway_ms)
    except hoopauth.HoopAuthError as e:
        print(f"demo failed: {e!r}", file=sys.stderr)
        raise SystemExit(1)
    wall = time.monotonic() - t0
    after = emulator_stats(args.base_url)

    def delta(k: str) -> Any:
        return after.get(k, 0) - before.get(k, 0) if after else None

    print(
        json.dumps(
            {
                "binding": "python",
                "mode": args.mode,
                "locations": len(locations),
                "calls": args.calls,
                "ok": ok,
                "429s": delta("rate_limited"),
                "refreshes": delta("refreshes"),
                "invalid_grants": delta("invalid_grants"),
                "token_exchanges": delta("token_exchanges"),
                "wall_time_s": round(wall, 3),
            }
        )
    )
    if ok != args.calls:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
