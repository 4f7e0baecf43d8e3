"""The examples run against the emulator: demo.py (the journey, sync and async) and requests_loop.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, List

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(emu: Any, script: str, *args: str) -> Any:
    cmd: List[str] = [
        sys.executable,
        str(EXAMPLES / script),
        "--base-url", emu.base_url,
        "--client-id", emu.client_id,
        "--client-secret", emu.client_secret,
        *args,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, r.stdout
    assert emu.client_secret not in r.stdout + r.stderr
    return json.loads(lines[0])


def test_demo_async_and_sync(emulator: Any) -> None:
    for mode in ("async", "sync"):
        emulator.reset()  # a new process knows nothing of the last one's sends: start from an empty window
        out = run(emulator, "demo.py", "--calls", "60", "--mode", mode, "--max", "20", "--interval-ms", "1000")
        assert out["binding"] == "python" and out["mode"] == mode
        assert out["calls"] == out["ok"] == 60
        assert out["429s"] == 0 and out["invalid_grants"] == 0
        assert out["token_exchanges"] == 3
        assert out["wall_time_s"] > 0


def test_requests_loop(emulator: Any) -> None:
    out = run(emulator, "requests_loop.py", "--location", "loc_2", "--calls", "5")
    assert out == {"location": "loc_2", "calls": 5, "ok": 5}
