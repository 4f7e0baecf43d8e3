#!/usr/bin/env python3
"""One process of a coordinated fleet (notes: FLEET.md, "Fleet worker CLI"): a hoopauth Client
in coordinated mode (Redis or SQLite) that sends --calls GET /contacts/ spread round-robin over
--resources, --concurrency at a time, from a common --start-at-ms. Prints ONE JSON line.

    python tests/fleet/worker.py --base-url URL --client-id ID --client-secret S \\
        --redis-url redis://127.0.0.1:PORT/0 --resources loc_1 --calls 250 --concurrency 8 \\
        --start-at-ms EPOCH [--async] [--clock-skew-ms 250] [--key HEX64 ...] [--idle-until-ms EPOCH]

Test-only: --die-after-refresh-answer MARKER kills this process (SIGKILL, as kill -9) right
after the token endpoint answered a refresh, before anything is saved — once per fleet: only
the process that creates MARKER first dies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from typing import Any, Dict, List, Optional

import httpx

import hoopauth as h
from hoopauth.shared import AsyncRedisStore, RedisStore, SqliteStore


# After a store_unavailable error a worker's thread (task) waits this long before its next
# call, as an application would: the error itself comes at once.
BACKOFF_S = 0.5


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--redis-url")
    g.add_argument("--sqlite")
    p.add_argument("--prefix", default="hoopauth:")
    p.add_argument("--resources", required=True)
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--start-at-ms", type=int, default=0)
    p.add_argument("--clock-skew-ms", type=int, default=0)
    p.add_argument("--key", action="append", default=[])
    p.add_argument("--idle-until-ms", type=int, default=0)
    p.add_argument("--async", dest="use_async", action="store_true")
    p.add_argument("--die-after-refresh-answer", metavar="MARKER", default=None)
    return p.parse_args()


def sleep_until(epoch_ms: int) -> None:
    delay = (epoch_ms - h.now_ms()) / 1000
    if delay > 0:
        time.sleep(delay)


def is_refresh(request: httpx.Request) -> bool:
    return request.url.path.endswith("/oauth/token") and b"grant_type=refresh_token" in request.read()


def maybe_die(marker: Optional[str]) -> None:
    """The token endpoint answered a refresh: die now (once per fleet), before any save."""
    if marker is None:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, f"{os.getpid()} {h.now_ms()}\n".encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class DyingTransport(httpx.BaseTransport):
    def __init__(self, marker: Optional[str], **kw: Any) -> None:
        self.inner = httpx.HTTPTransport(**kw)
        self.marker = marker

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        refresh = is_refresh(request)
        resp = self.inner.handle_request(request)
        if refresh:
            resp.read()
            maybe_die(self.marker)
        return resp

    def close(self) -> None:
        self.inner.close()


class AsyncDyingTransport(httpx.AsyncBaseTransport):
    def __init__(self, marker: Optional[str], **kw: Any) -> None:
        self.inner = httpx.AsyncHTTPTransport(**kw)
        self.marker = marker

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        refresh = is_refresh(request)
        resp = await self.inner.handle_async_request(request)
        if refresh:
            await resp.aread()
            maybe_die(self.marker)
        return resp

    async def aclose(self) -> None:
        await self.inner.aclose()


class Tally:
    def __init__(self) -> None:
        self.ok = 0
        self.errors: Counter = Counter()
        self.reauthorize = 0
        self.calls = 0
        self.lock = threading.Lock()
        self.latencies: List[float] = []
        self.first_error_ms = 0
        self.last_error_ms = 0
        self.ok_since_error = 0
        self.max_error_s = 0.0
        self.idle_from_ms = 0

    def done(self, exc: Optional[BaseException], took: float) -> None:
        with self.lock:
            self.calls += 1
            self.latencies.append(took)
            if exc is None:
                self.ok += 1
                self.ok_since_error += 1
                return
            kind = getattr(exc, "kind", None) or type(exc).__name__
            self.errors[kind] += 1
            self.max_error_s = max(self.max_error_s, took)
            self.ok_since_error = 0
            t = h.now_ms()
            self.first_error_ms = self.first_error_ms or t
            self.last_error_ms = t
            if getattr(exc, "reauthorize", False):
                self.reauthorize += 1


def plan(resources: List[str], calls: int, offset: int = 0) -> List[str]:
    return [resources[(offset + i) % len(resources)] for i in range(calls)]


def run_sync(args: argparse.Namespace, config: h.Config, keys: Optional[List[bytes]], resources: List[str], tally: Tally) -> h.Client:
    store: Any = RedisStore(args.redis_url, prefix=args.prefix) if args.redis_url else SqliteStore(args.sqlite, prefix=args.prefix)
    limits = dict(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    http = httpx.Client(transport=DyingTransport(args.die_after_refresh_answer, limits=httpx.Limits(**limits)), timeout=30)
    client = h.Client(config, shared=store, keys=keys, http=http, max_in_flight=args.concurrency)
    client._now = lambda: h.now_ms() + args.clock_skew_ms

    def batch(todo: List[str]) -> None:
        it = iter(todo)
        it_lock = threading.Lock()

        def worker() -> None:
            while True:
                with it_lock:
                    loc = next(it, None)
                if loc is None:
                    return
                t = time.monotonic()
                try:
                    client.get("/contacts/", location_id=loc, params={"locationId": loc}, timeout=120)
                    tally.done(None, time.monotonic() - t)
                except Exception as e:  # noqa: BLE001 - counted by kind
                    tally.done(e, time.monotonic() - t)
                    if getattr(e, "kind", None) == "store_unavailable":
                        time.sleep(BACKOFF_S)

        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    batch(plan(resources, args.calls))
    if args.idle_until_ms:
        tally.idle_from_ms = h.now_ms()
        sleep_until(args.idle_until_ms)
        batch(plan(resources, args.calls, args.calls))
    return client


async def run_async(args: argparse.Namespace, config: h.Config, keys: Optional[List[bytes]], resources: List[str], tally: Tally) -> h.AsyncClient:
    store: Any = AsyncRedisStore(args.redis_url, prefix=args.prefix) if args.redis_url else SqliteStore(args.sqlite, prefix=args.prefix)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    http = httpx.AsyncClient(transport=AsyncDyingTransport(args.die_after_refresh_answer, limits=limits), timeout=30)
    client = h.AsyncClient(config, shared=store, keys=keys, http=http, max_in_flight=args.concurrency)
    client._now = lambda: h.now_ms() + args.clock_skew_ms

    async def batch(todo: List[str]) -> None:
        queue: "asyncio.Queue[str]" = asyncio.Queue()
        for loc in todo:
            queue.put_nowait(loc)

        async def worker() -> None:
            while not queue.empty():
                loc = queue.get_nowait()
                t = time.monotonic()
                try:
                    await client.get("/contacts/", location_id=loc, params={"locationId": loc}, timeout=120)
                    tally.done(None, time.monotonic() - t)
                except Exception as e:  # noqa: BLE001 - counted by kind
                    tally.done(e, time.monotonic() - t)
                    if getattr(e, "kind", None) == "store_unavailable":
                        await asyncio.sleep(BACKOFF_S)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))

    await batch(plan(resources, args.calls))
    if args.idle_until_ms:
        tally.idle_from_ms = h.now_ms()
        await asyncio.sleep(max(args.idle_until_ms - h.now_ms(), 0) / 1000)
        await batch(plan(resources, args.calls, args.calls))
    return client


def main() -> int:
    args = parse()
    config = h.Config(args.client_id, client_secret=args.client_secret, marketplace=args.base_url, api_base=args.base_url)
    keys = [bytes.fromhex(k) for k in args.key] or None
    resources = [r for r in args.resources.split(",") if r]
    tally = Tally()
    sleep_until(args.start_at_ms)
    start = args.start_at_ms or h.now_ms()
    if args.use_async:
        client: Any = asyncio.run(run_async(args, config, keys, resources, tally))
    else:
        client = run_sync(args, config, keys, resources, tally)
    end = h.now_ms()
    lat = sorted(tally.latencies)
    s = client.stats
    out: Dict[str, Any] = {
        "lang": "python",
        "calls": tally.calls,
        "ok": tally.ok,
        "errors": dict(tally.errors),
        "refreshes": s.refreshes,
        "reauthorize": tally.reauthorize,
        "store_reads": s.store_reads,
        "store_writes": s.store_writes,
        "wall_ms": end - start,
        # extras (not in the contract)
        "impl": "python-async" if args.use_async else "python-sync",
        "pid": os.getpid(),
        "sends": s.sends,
        "lost_races": s.lost_races,
        "rate_limited": s.rate_limited,
        "end_ms": end,
        "first_error_ms": tally.first_error_ms or None,
        "last_error_ms": tally.last_error_ms or None,
        "ok_after_last_error": tally.ok_since_error,
        "max_error_call_ms": round(tally.max_error_s * 1000, 1) if tally.errors else None,
        "idle_from_ms": tally.idle_from_ms or None,
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
    }
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
