"""The install scene's driver for the Python package: ``hoopauth-demo install -- python
tests/demo/drivers/install.py`` appends the scene's arguments (see tests/demo/src/install.rs)
and judges the run.

The app: an http.server webhook endpoint answering each delivery with
``Client.handle_webhook``; a company-wide bulk install (the emulator's consent page with
``approved_locations``, the code exchanged as Company); the emulator's bulk INSTALL delivered
twice; paced calls spread over the approved locations (threads) while their minted tokens
come due; UNINSTALL of one location delivered twice; then what its store holds and one call
to the uninstalled location."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

import httpx

import hoopauth as h


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("base-url", "client-id", "client-secret", "webhook-key", "approved", "uninstall"):
        p.add_argument(f"--{name}", required=True)
    for name in ("calls", "max", "interval-ms"):
        p.add_argument(f"--{name}", type=int, required=True)
    a = p.parse_args()
    base = a.base_url.rstrip("/")
    approved = [x for x in a.approved.split(",") if x]
    config = h.Config(
        a.client_id, client_secret=a.client_secret, redirect_uri="http://127.0.0.1:9/oauth/callback",
        marketplace=base, api_base=base,
    )  # fmt: skip
    store = h.MemoryTokenStore()
    client = h.Client(
        config, store=store, webhook_key=a.webhook_key,
        limits=h.Limits(max=a.max, interval_ms=a.interval_ms), max_in_flight=32,
    )  # fmt: skip
    webhooks: List[Dict[str, Any]] = []

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                kind = json.loads(body).get("type")
            except ValueError:
                kind = None
            try:
                status, reason = client.handle_webhook(body, dict(self.headers.items()))
            except Exception as e:  # noqa: BLE001 — the answer says what went wrong
                status, reason = 500, getattr(e, "kind", type(e).__name__)
            webhooks.append({"type": kind, "status": status, "reason": reason})
            out = json.dumps({"reason": reason}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_port}/webhooks"
    http = httpx.Client(timeout=30, follow_redirects=False)

    def send(payload: Dict[str, Any]) -> None:
        r = http.post(f"{base}/_emulator/webhooks/send", json={"url": hook_url, **payload})
        if r.status_code != 200:
            raise RuntimeError(f"webhooks/send answered {r.status_code}: {r.text}")

    started = time.monotonic()
    # 1. The agency installs the app on the approved locations at once.
    state = h.generate_state()
    scopes = ["contacts.readonly", "contacts.write", "locations.readonly"]
    url = config.authorization_url(scopes, state=state) + "&approved_locations=" + ",".join(approved)
    r = http.get(url)
    company = client.exchange_code(h.parse_callback(r.headers["location"], state), user_type="Company")
    print(f"install: company {company.company_id} approved {company.approved_locations}", file=sys.stderr)
    # 2. The platform's bulk INSTALL, delivered twice (a retry).
    send({"type": "INSTALL", "bulk": True, "times": 2})
    # 3. Paced calls over the approved locations while their minted tokens come due.
    failures: Dict[str, int] = {}
    lock = threading.Lock()
    counts = {"ok": 0, "reauth": 0}

    def one(i: int) -> None:
        loc = approved[i % len(approved)]
        try:
            client.get("/contacts/", location_id=loc, params={"locationId": loc})
            with lock:
                counts["ok"] += 1
        except h.HoopAuthError as e:
            with lock:
                failures[e.kind] = failures.get(e.kind, 0) + 1
                if getattr(e, "reauthorize", False):
                    counts["reauth"] += 1

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(a.calls)))
    wall_ms = int((time.monotonic() - started) * 1000)
    # 4. One location uninstalled, delivered twice.
    send({"type": "UNINSTALL", "locationId": a.uninstall, "revoke": True, "times": 2})
    try:
        client.get("/contacts/", location_id=a.uninstall, params={"locationId": a.uninstall})
        uninstalled_call = "ok"
    except h.HoopAuthError as e:
        uninstalled_call = e.kind
    server.shutdown()
    print(
        f"install: {counts['ok']}/{a.calls} calls ok in {wall_ms} ms; webhooks "
        + ", ".join(f"{w['type']} {w['status']} {w['reason']}" for w in webhooks)
        + f"; store holds {store.resource_ids()}",
        file=sys.stderr,
    )
    print(json.dumps({
        "calls": a.calls, "ok": counts["ok"], "failed": a.calls - counts["ok"], "failures": failures,
        "wall_ms": wall_ms, "webhooks": webhooks, "reauthorizations": counts["reauth"],
        "stored_after_uninstall": store.resource_ids(), "uninstalled_call": uninstalled_call,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
