"""Shared fixtures: the vectors directory and the platform emulator (a real HTTP server on loopback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]


def vectors_dir() -> Path:
    env = os.environ.get("HOOPAUTH_VECTORS")
    return Path(env) if env else (ROOT.parent / "shared" / "vectors")


class Emulator:
    """One emulator process; `base_url`, `client_id`, `client_secret`, helpers for its routes."""

    def __init__(self, args: List[str]) -> None:
        binary = os.environ.get("HOOPAUTH_EMULATOR_BIN", str(ROOT / "target" / "debug" / "hoopauth-emulator"))
        if not Path(binary).exists():
            pytest.skip(f"emulator binary not built: {binary} (cargo build -p hoopauth-emulator)")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        info = json.loads(line)
        self.base_url: str = info["base_url"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]
        self.webhook_public_key: str = info["webhook_public_key"]

    def _http(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        import httpx

        r = httpx.request(method, self.base_url + path, json=body, timeout=10)
        r.raise_for_status()
        return r.json() if r.content else None

    def stats(self) -> Dict[str, Any]:
        return self._http("GET", "/_emulator/stats")

    def reset(self) -> None:
        self._http("POST", "/_emulator/reset")

    def control(self, **knobs: Any) -> Dict[str, Any]:
        return self._http("POST", "/_emulator/control", knobs)

    def send_webhook(self, url: str, type_: str, location_id: str) -> Dict[str, Any]:
        return self._http("POST", "/_emulator/webhooks/send", {"url": url, "type": type_, "locationId": location_id})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()


@pytest.fixture(scope="session")
def emulator_factory() -> Iterator[Any]:
    started: List[Emulator] = []

    def start(*args: str) -> Emulator:
        emu = Emulator(list(args))
        started.append(emu)
        return emu

    yield start
    for e in started:
        e.stop()


@pytest.fixture(scope="module")
def emulator(emulator_factory: Any) -> Emulator:
    """Small limits so bursts are quick: 20 requests per second per location."""
    return emulator_factory("--max", "20", "--interval-ms", "1000")


sys.path.insert(0, str(Path(__file__).parent))
