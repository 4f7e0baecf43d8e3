#!/usr/bin/env python3
"""The cost of coordination per call: one Python process sends N sequential GETs through
hoopauth.Client against the emulator (limits high enough never to wait), in memory and in
coordinated mode on Redis (plain and sealed) and SQLite. Prints a JSON line per mode: µs per
call, store round trips per call, and the extra µs against the in-memory mode.

    python tests/fleet/bench_coord.py [--calls 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hoopauth as h  # noqa: E402
from hoopauth.shared import RedisStore, SqliteStore  # noqa: E402
from run import Emulator, Redis, config_for, seed  # noqa: E402


def measure(client: h.Client, loc: str, calls: int) -> float:
    for _ in range(20):  # warm-up: connections, scripts, caches
        client.get("/contacts/", location_id=loc, params={"locationId": loc})
    t = time.perf_counter()
    for _ in range(calls):
        client.get("/contacts/", location_id=loc, params={"locationId": loc})
    return (time.perf_counter() - t) / calls * 1e6


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    emu = Emulator("--max", "1000000", "--interval-ms", "1000", "--locations", "loc_1")
    redis = Redis()
    tmp = tempfile.mkdtemp(prefix="hoopauth-bench-")
    key = os.urandom(32)
    lim = h.Limits(max=1_000_000, interval_ms=1000)
    try:
        cfg = config_for(emu)
        tokens = seed(emu, RedisStore(redis.url, prefix="plain:"), ["loc_1"], None, learn=False)["loc_1"]
        seed_limits = dict(limits=lim)
        modes: Dict[str, Any] = {}
        for name, make in (
            ("memory", lambda: h.Client(cfg, **seed_limits)),
            ("redis", lambda: h.Client(cfg, shared=RedisStore(redis.url, prefix="plain:"), **seed_limits)),
            ("redis-sealed", lambda: h.Client(cfg, shared=RedisStore(redis.url, prefix="sealed:"), keys=[key], **seed_limits)),
            ("sqlite", lambda: h.Client(cfg, shared=SqliteStore(os.path.join(tmp, "b.db")), **seed_limits)),
        ):
            client = make()
            client.load_tokens(tokens, "loc_1")  # the same (long-lived) tokens in every mode
            runs: List[float] = []
            for _ in range(args.repeat):
                before = (client.stats.store_reads, client.stats.store_writes, client.stats.calls)
                runs.append(measure(client, "loc_1", args.calls))
            s = client.stats
            calls = s.calls
            modes[name] = {
                "us_per_call": round(min(runs), 1),
                "runs_us": [round(r, 1) for r in runs],
                "store_reads_per_call": round(s.store_reads / calls, 2),
                "store_writes_per_call": round(s.store_writes / calls, 2),
            }
            client.close()
            del before
        base = modes["memory"]["us_per_call"]
        for name, m in modes.items():
            m["extra_us_vs_memory"] = round(m["us_per_call"] - base, 1)
            print(json.dumps({"mode": name, **m}))
    finally:
        emu.stop()
        redis.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
