"""Race driver: the official Python SDK (PyPI gohighlevel-api-client), BASE_URL pointed at the
emulator, OAuth tokens in its MemorySessionStorage. Its Contacts service has no method for
GET /contacts/, so `call` is the SDK's generated-method pattern (get_auth_token with the
"bearer" requirement → its httpx client, whose response hook refreshes on 401), verbatim."""

from __future__ import annotations

import asyncio
import time
from typing import Dict

from highlevel import HighLevel
from highlevel.utils.request_utils import get_auth_token

from race_common import REDIRECT, authorize_code, emit, parse_args, race, reset


async def main() -> None:
    a = parse_args()
    HighLevel.BASE_URL = a.base_url
    ghl = HighLevel(client_id=a.client_id, client_secret=a.client_secret, log_level="error")
    seen: Dict[str, int] = {}

    async def count(resp):  # observation only: what the SDK's client received
        key = f"{resp.request.url.path} {resp.status_code}"
        seen[key] = seen.get(key, 0) + 1

    ghl.http_client.event_hooks["response"].insert(0, count)
    exchanged = {}
    for loc in a.locations:
        code = authorize_code(a.base_url, a.client_id, loc)
        tokens = await ghl.oauth.get_access_token({
            "client_id": a.client_id, "client_secret": a.client_secret,
            "grant_type": "authorization_code", "code": code,
            "user_type": "Location", "redirect_uri": REDIRECT,
        })
        await ghl.session_storage.set_session(loc, tokens)
        exchanged[loc] = int(time.time() * 1000)
    reset(a.base_url)
    seen.clear()

    async def call(loc: str) -> None:
        requirements = ["bearer"]
        params = {"locationId": loc}
        headers = {"Version": ghl.API_VERSION}
        token = await get_auth_token(ghl, requirements, headers, dict(params), {})
        if token:
            headers["Authorization"] = token
        kwargs = {"method": "GET", "url": "/contacts/", "params": params, "headers": headers}
        request = ghl.http_client.build_request(**kwargs)
        setattr(request, "__security_requirements", requirements)
        setattr(request, "__path_params", {})
        setattr(request, "__request_kwargs", {k: (dict(v) if isinstance(v, dict) else v) for k, v in kwargs.items()})
        resp = await ghl.http_client.send(request)
        resp.json()

    out = await race(a, call)
    out.update(driver=a.driver or "sdk-python", exchanged_unix_ms=exchanged, responses_seen=seen)
    await ghl.close()
    emit(out)


asyncio.run(main())
