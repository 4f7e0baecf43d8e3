"""What every Python race driver shares: arguments, the user's side of the OAuth flow, the
harness's reset, the worker pool and the summary line. No client logic here."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.parse
import urllib.request
from typing import Any, Awaitable, Callable, Dict, List

REDIRECT = "http://127.0.0.1:9/oauth/callback"
SCOPES = "contacts.readonly contacts.write locations.readonly"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--locations", default="loc_1")
    p.add_argument("--calls", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=100, help="calls in flight per location")
    p.add_argument("--max", type=int, default=100)
    p.add_argument("--interval-ms", type=int, default=10_000)
    p.add_argument("--refresh-leeway-ms", type=int, default=30_000)
    p.add_argument("--driver", default="")
    a = p.parse_args()
    a.locations = [x for x in a.locations.split(",") if x]
    return a


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a: Any, **k: Any) -> None:  # type: ignore[override]
        return None


def authorize_code(base_url: str, client_id: str, location: str) -> str:
    """The user's consent on the emulator's authorization page: returns the code."""
    q = urllib.parse.urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
         "scope": SCOPES, "location_id": location}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(f"{base_url}/oauth/chooselocation?{q}", timeout=10)
    except urllib.error.HTTPError as e:
        if e.code != 302:
            raise
        loc = e.headers["Location"]
        return urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["code"][0]
    raise RuntimeError("the authorization page did not redirect")


def reset(base_url: str) -> None:
    """Harness step: zero the emulator's counters, windows and timeline just before the race."""
    req = urllib.request.Request(f"{base_url}/_emulator/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()


async def race(a: argparse.Namespace, call: Callable[[str], Awaitable[Any]]) -> Dict[str, Any]:
    """`a.calls` calls spread round-robin over the locations, `a.concurrency` in flight per location."""
    per: Dict[str, List[int]] = {loc: [] for loc in a.locations}
    for i in range(a.calls):
        per[a.locations[i % len(a.locations)]].append(i)
    ok = 0
    failed = 0
    errors: Dict[str, int] = {}
    last_done: Dict[str, float] = {}

    async def worker(loc: str, queue: List[int]) -> None:
        nonlocal ok, failed
        while queue:
            queue.pop()
            try:
                await call(loc)
                ok += 1
            except Exception as e:  # noqa: BLE001 — every failure is counted, by type
                failed += 1
                key = f"{type(e).__name__}: {str(e)[:80]}"
                errors[key] = errors.get(key, 0) + 1
            last_done[loc] = time.time()

    t0 = time.time()
    await asyncio.gather(
        *(worker(loc, q) for loc, q in per.items() for _ in range(min(a.concurrency, max(1, len(q)))))
    )
    t1 = time.time()
    return {
        "calls": a.calls,
        "ok": ok,
        "failed": failed,
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
        "start_unix_ms": int(t0 * 1000),
        "wall_ms": round((t1 - t0) * 1000),
    }


def emit(summary: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
