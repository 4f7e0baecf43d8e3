#!/usr/bin/env python3
"""The pacing race: every client against a fresh emulator with the platform's default limits.

Scenarios (full): (a) 1,000 calls to one location; (b) 3,000 calls over 10 locations;
(c) (b) with tokens that come due mid-run. Clients: hoopauth's Python, Node and WASM drivers,
the official Node SDK (rateLimitRetry: true) and the official Python SDK, each SDK also over
hoopauth (axiosAdapter / AsyncTransport under its HTTP client); and, burst probe
only, Node's fetch and httpx alone (the floor under any client built on them). Each run: start
the emulator, the driver authorizes its locations, resets the emulator's counters and races;
the emulator's stats and timeline say what happened.

  race.py [--quick] [--out bench/results/race.json] [--clients a,b] [--scenarios a,b,c]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DRIVERS = HERE / "drivers"
RENEW_BUFFER_MS = 30_000  # the SDKs' fixed "refresh 30 s before expiry"; hoopauth is set to match

CLIENTS: Dict[str, Dict[str, Any]] = {
    "hoopauth-python": {"cmd": ["{python}", "hoopauth_py.py"], "env": {}, "family": "hoopauth"},
    # The same driver with fewer calls in flight: httpx's pool does work per request for every
    # connection it holds, so on loopback fewer slots send a window's calls sooner.
    "hoopauth-python-4": {"cmd": ["{python}", "hoopauth_py.py"], "env": {"HOOPAUTH_BENCH_MAX_IN_FLIGHT": "4"},
                          "family": "hoopauth", "label": "hoopauth-python (max_in_flight=4)"},
    "hoopauth-node": {"cmd": ["node", "hoopauth_js.mjs"], "env": {"HOOPAUTH_JS_IMPL": "bindings-node"}, "family": "hoopauth"},
    "hoopauth-wasm": {"cmd": ["node", "hoopauth_js.mjs"], "env": {"HOOPAUTH_JS_IMPL": "bindings-wasm/pkg-node"}, "family": "hoopauth"},
    "sdk-node": {"cmd": ["node", "sdk_node.mjs"], "env": {}, "family": "peer",
                 "label": "@gohighlevel/api-client (rateLimitRetry)"},
    "sdk-python": {"cmd": ["{python}", "sdk_py.py"], "env": {}, "family": "peer",
                   "label": "gohighlevel-api-client (PyPI)"},
    # The same SDKs with hoopauth under their HTTP clients (axiosAdapter, AsyncTransport).
    "sdk-node-hoopauth": {"cmd": ["node", "sdk_node_hoopauth.mjs"], "env": {"HOOPAUTH_JS_IMPL": "bindings-node"},
                          "family": "sdk-over-hoopauth", "label": "@gohighlevel/api-client over hoopauth axiosAdapter"},
    "sdk-python-hoopauth": {"cmd": ["{python}", "sdk_py_hoopauth.py"], "env": {}, "family": "sdk-over-hoopauth",
                            "label": "gohighlevel-api-client (PyPI) over hoopauth AsyncTransport"},
    # References, burst probe only (they do not pace): each language's HTTP client alone, so the
    # floor under any client built on it is measured in the same run, not asserted.
    "bare-fetch": {"cmd": ["node", "bare_fetch.mjs"], "env": {}, "family": "reference", "probe_only": True,
                   "label": "Node fetch alone (16 in flight)"},
    "bare-httpx": {"cmd": ["{python}", "bare_httpx.py"], "env": {}, "family": "reference", "probe_only": True,
                   "label": "httpx.AsyncClient alone (4 in flight)"},
}


def scenarios(quick: bool) -> List[Dict[str, Any]]:
    if quick:
        mx, iv, n_a, n_b, life = 20, 2_000, 100, 600, 2
    else:
        mx, iv, n_a, n_b, life = 100, 10_000, 1_000, 3_000, 8
    ten = [f"loc_{i}" for i in range(1, 11)]
    return [
        {"id": "a", "title": f"{n_a:,} calls to one location", "calls": n_a, "locations": ["loc_1"],
         "max": mx, "interval_ms": iv, "ttl_secs": 86_399},
        {"id": "b", "title": f"{n_b:,} calls over 10 locations", "calls": n_b, "locations": ten,
         "max": mx, "interval_ms": iv, "ttl_secs": 86_399},
        {"id": "c", "title": f"{n_b:,} calls over 10 locations, tokens due every {life} s", "calls": n_b,
         "locations": ten, "max": mx, "interval_ms": iv, "ttl_secs": RENEW_BUFFER_MS // 1000 + life,
         "token_life_ms": life * 1000},
    ]


def ideal_ms(calls: int, locations: List[str], mx: int, interval_ms: int) -> int:
    per = [len(range(i, calls, len(locations))) for i in range(len(locations))]
    return max((math.ceil(n / mx) - 1) * interval_ms for n in per if n > 0)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def start_emulator(sc: Dict[str, Any]) -> "tuple[subprocess.Popen, Dict[str, Any]]":
    binary = os.environ.get("HOOPAUTH_EMULATOR_BIN", str(ROOT / "target" / "release" / "hoopauth-emulator"))
    p = subprocess.Popen(
        [binary, "--port", "0", "--locations", ",".join(f"loc_{i}" for i in range(1, 11)),
         "--max", str(sc["max"]), "--interval-ms", str(sc["interval_ms"]),
         "--token-ttl-secs", str(sc["ttl_secs"])],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        p.kill()
        raise RuntimeError("the emulator did not start")
    return p, json.loads(line)


def last_request_unix_ms(fine: Dict[str, Any], resource: str) -> Optional[int]:
    for b in reversed(fine["buckets"]):
        if b["resources"].get(resource, {}).get("requests"):
            return b["start_unix_ms"] + fine["bucket_ms"]
    return None


def run_one(client: str, sc: Dict[str, Any], concurrency: int, timeout_s: int, python: str) -> Dict[str, Any]:
    spec = CLIENTS[client]
    emu, info = start_emulator(sc)
    try:
        cmd = [c.format(python=python) for c in spec["cmd"]] + [
            "--base-url", info["base_url"], "--client-id", info["client_id"],
            "--client-secret", info["client_secret"], "--locations", ",".join(sc["locations"]),
            "--calls", str(sc["calls"]), "--concurrency", str(concurrency), "--max", str(sc["max"]),
            "--interval-ms", str(sc["interval_ms"]), "--refresh-leeway-ms", str(RENEW_BUFFER_MS),
            "--driver", client,
        ]
        env = dict(os.environ, **spec["env"])
        env["PYTHONPATH"] = str(DRIVERS) + os.pathsep + env.get("PYTHONPATH", "")
        t0 = time.time()
        try:
            p = subprocess.run(cmd, cwd=DRIVERS, env=env, capture_output=True, text=True, timeout=timeout_s)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = "timeout", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), ""
        elapsed = time.time() - t0
        summary: Dict[str, Any] = {}
        for line in reversed(out.strip().splitlines()):
            if line.startswith("{"):
                summary = json.loads(line)
                break
        stats = get_json(f"{info['base_url']}/_emulator/stats")
        timeline = get_json(f"{info['base_url']}/_emulator/timeline")
        fine = get_json(f"{info['base_url']}/_emulator/timeline?bucket_ms=10")
    finally:
        emu.terminate()
        emu.wait(timeout=10)

    totals = stats["totals"]
    res = stats["resources"]
    expected = 0
    if sc.get("token_life_ms") and summary.get("exchanged_unix_ms"):
        for loc in sc["locations"]:
            last = last_request_unix_ms(fine, loc)
            ex = summary["exchanged_unix_ms"].get(loc)
            if last is not None and ex is not None:
                expected += max(0, (last - ex) // sc["token_life_ms"])
    refreshes = totals["refreshes"]
    duplicate_refreshes = max(0, refreshes - expected)
    seen = summary.get("responses_seen", {})
    # Token-endpoint refusals the emulator does not count in its stats (e.g. invalid_client).
    token_refusals = sum(v for k, v in seen.items() if k.startswith("/oauth/token ") and not k.endswith(" 200"))
    invalid = totals["invalid_grants"]
    wasted = totals["rate_limited"] + totals["unauthorized"] + duplicate_refreshes + max(invalid, token_refusals)
    ideal = ideal_ms(sc["calls"], sc["locations"], sc["max"], sc["interval_ms"])
    row = {
        "client": client,
        "family": spec["family"],
        "label": spec.get("label", client),
        "scenario": sc["id"],
        "exit": rc,
        "elapsed_s": round(elapsed, 1),
        "calls": sc["calls"],
        "ok": summary.get("ok"),
        "failed": summary.get("failed"),
        "errors": summary.get("errors", {}),
        "wall_ms": summary.get("wall_ms"),
        "ideal_ms": ideal,
        "ratio": round(summary["wall_ms"] / ideal, 4) if summary.get("wall_ms") and ideal else None,
        "requests": totals["requests"],
        "rate_limited": totals["rate_limited"],
        "unauthorized": totals["unauthorized"],
        "refreshes": refreshes,
        "expected_refreshes": expected,
        "refreshes_per_location": {k: v["refreshes"] for k, v in res.items() if v.get("refreshes")},
        "invalid_grants": invalid,
        "token_refusals_seen": token_refusals,
        "wasted": wasted,
        "responses_seen": seen,
        "client_stats": summary.get("client_stats"),
        "timeline": [{"t": b["start_ms"], "requests": b["requests"], "rate_limited": b["rate_limited"]}
                     for b in timeline["buckets"]],
        "concurrency": concurrency,
        "stderr_tail": err.strip().splitlines()[-12:] if rc not in (0,) else [],
    }
    return row


def probe_burst(client: str, sc: Dict[str, Any], concurrency: int, timeout_s: int, python: str) -> Optional[int]:
    """The client's own speed: one window's calls (max per location) with the limits lifted, in
    a fresh process against a fresh emulator. No pacing can finish the race sooner than the
    ideal plus this burst, since the last window's calls still have to be sent."""
    probe = dict(sc, calls=sc["max"] * len(sc["locations"]), max=1_000_000, ttl_secs=86_399)
    probe.pop("token_life_ms", None)
    row = run_one(client, probe, concurrency, timeout_s, python)
    return row["wall_ms"] if row["exit"] == 0 and not row.get("failed") else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results" / "race.json"))
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--scenarios", default="a,b,c")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="calls in flight per location (default: the scenario's max per interval)")
    ap.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--merge", action="store_true",
                    help="replace only these runs in an existing --out file (same mode), keep the others")
    a = ap.parse_args()
    timeout_s = 180 if a.quick else 900
    want = set(a.scenarios.split(","))
    rows = []
    bursts: Dict[Any, Optional[int]] = {}
    for sc in scenarios(a.quick):
        if sc["id"] not in want:
            continue
        for client in a.clients.split(","):
            sys.stderr.write(f"race ({sc['id']}) {sc['title']}: {client} ... ")
            sys.stderr.flush()
            key = (client, tuple(sc["locations"]), sc["max"])
            if CLIENTS[client].get("probe_only"):
                if key not in bursts:
                    bursts[key] = probe_burst(client, sc, a.concurrency or sc["max"], timeout_s, a.python)
                ideal = ideal_ms(sc["calls"], sc["locations"], sc["max"], sc["interval_ms"])
                ref: Dict[str, Any] = {"client": client, "family": "reference", "label": CLIENTS[client]["label"],
                                       "scenario": sc["id"], "ideal_ms": ideal, "burst_ms": bursts[key]}
                if bursts[key] is not None and ideal:
                    ref["floor_ms"] = ideal + bursts[key]
                    ref["floor_ratio"] = round(ref["floor_ms"] / ideal, 4)
                rows.append(ref)
                sys.stderr.write(f"burst {bursts[key]} ms (reference: no race)\n")
                continue
            row = run_one(client, sc, a.concurrency or sc["max"], timeout_s, a.python)
            if row["ok"] is None:  # the driver died before racing (e.g. a package rebuilt under it): once more
                sys.stderr.write(f"(exit {row['exit']}: {' | '.join(row['stderr_tail'][-2:])}; again) ... ")
                time.sleep(5)
                row = dict(run_one(client, sc, a.concurrency or sc["max"], timeout_s, a.python), retried=True)
            if key not in bursts:
                bursts[key] = probe_burst(client, sc, a.concurrency or sc["max"], timeout_s, a.python)
            burst = bursts[key]
            if burst is not None and row.get("wall_ms"):
                row["burst_ms"] = burst
                row["floor_ms"] = row["ideal_ms"] + burst
                row["ratio_floor"] = round(row["wall_ms"] / row["floor_ms"], 4)
            rows.append(row)
            sys.stderr.write(
                f"wall {row['wall_ms']} ms (ideal {row['ideal_ms']}), ok {row['ok']}, 429s {row['rate_limited']}, "
                f"401s {row['unauthorized']}, refreshes {row['refreshes']}/{row['expected_refreshes']}, "
                f"invalid grants {row['invalid_grants']}, exit {row['exit']}, burst {row.get('burst_ms')} ms\n"
            )
    if a.merge and Path(a.out).exists():
        old = json.loads(Path(a.out).read_text())
        if old.get("quick") == a.quick:
            done = {(r["client"], r["scenario"]) for r in rows}
            keep = [r for r in old["runs"] if (r["client"], r["scenario"]) not in done]
            order = {(c, s["id"]): i for i, (s, c) in enumerate((s, c) for s in scenarios(a.quick) for c in CLIENTS)}
            rows = sorted(keep + rows, key=lambda r: order.get((r["client"], r["scenario"]), 1 << 30))
            want |= {r["scenario"] for r in rows}
    out = {
        "quick": a.quick,
        "concurrency": a.concurrency or "max per interval",
        "renew_buffer_ms": RENEW_BUFFER_MS,
        "scenarios": [s for s in scenarios(a.quick) if s["id"] in want],
        "runs": rows,
        "finished_unix_ms": int(time.time() * 1000),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
