"""The README's Python code runs as written: each block is run in a subprocess, configured
only through the documented environment variables, against the emulator. The FastAPI
quickstart is served by uvicorn (``uvicorn app:app``) and walked through as a user would:
install (the emulator's consent page redirects back), contacts for the installed location,
a signed UNINSTALL webhook from the emulator, then contacts again (none left)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import httpx
import pytest

from readme_blocks import python_blocks, write_blocks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(emu: Any, port: int) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOPAUTH_")}
    env.update(
        HOOPAUTH_CLIENT_ID=emu.client_id,
        HOOPAUTH_CLIENT_SECRET=emu.client_secret,
        HOOPAUTH_REDIRECT_URI=f"http://127.0.0.1:{port}/oauth/callback",
        HOOPAUTH_MARKETPLACE=emu.base_url,
        HOOPAUTH_API_BASE=emu.base_url,
        HOOPAUTH_WEBHOOK_KEY=emu.webhook_public_key,
    )
    return env


def test_the_readmes_have_python_blocks() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert sum("FastAPI()" in b for b in blocks) == 1


@pytest.fixture()
def quickstart(emulator: Any, tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    (app,) = [b for b in python_blocks() if "FastAPI()" in b]
    (tmp_path / "app.py").write_text(app)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=str(tmp_path),
        env=_env(emulator, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/docs", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
        assert emulator.client_secret not in out


def test_fastapi_quickstart_runs_as_written(emulator: Any, quickstart: str) -> None:
    emulator.reset()
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        for loc in ("loc_2", "loc_3"):
            r = browser.get(quickstart + "/install")
            assert r.status_code in (302, 307), r.text
            consent = r.headers["location"]
            assert consent.startswith(emulator.base_url)
            # The user picks a location on the platform's page (the emulator: location_id).
            r = browser.get(consent + "&location_id=" + loc)
            assert r.status_code == 302
            callback = r.headers["location"]
            assert callback.startswith(quickstart + "/oauth/callback")
            r = browser.get(callback)
            assert r.status_code == 200, r.text
            assert r.json() == {"installed": loc}
        # A replayed callback: its state is spent.
        assert browser.get(callback).status_code == 400

        r = browser.get(quickstart + "/contacts")
        assert r.status_code == 200, r.text
        body = r.json()
        assert sorted(body) == ["loc_2", "loc_3"] and all("contacts" in v for v in body.values())

        # A webhook that the emulator signs with its key: accepted; a forged one: refused.
        sent = emulator.send_webhook(quickstart + "/webhooks", "UNINSTALL", "loc_2")
        assert sent["delivered_status"] == 200, sent
        forged = browser.post(quickstart + "/webhooks", content=sent["body"], headers={"x-ghl-signature": "AAAA"})
        assert forged.status_code == 401

        r = browser.get(quickstart + "/contacts")
        assert r.status_code == 200 and sorted(r.json()) == ["loc_3"], r.text
    assert emulator.stats()["totals"]["token_exchanges"] == 2


def test_the_other_blocks_run_as_written(emulator: Any, tmp_path: Path) -> None:
    env = _env(emulator, 9)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # built, not connected, by the block
    env["HOOPAUTH_KEYS"] = "11" * 32
    for i, code in enumerate(python_blocks()):
        if "FastAPI()" in code:
            continue
        p = tmp_path / f"block_{i}.py"
        p.write_text(code)
        r = subprocess.run([sys.executable, str(p)], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (code, r.stdout + r.stderr)


def test_mypy_strict_on_the_readme_code(tmp_path: Path) -> None:
    paths = write_blocks(tmp_path / "blocks")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, paths)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
