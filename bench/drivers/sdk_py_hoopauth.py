"""Race driver: the official Python SDK (PyPI gohighlevel-api-client) with hoopauth under its
http_client (hoopauth.AsyncTransport over a hoopauth.AsyncClient): the SDK builds and sends
each call exactly as in sdk_py.py; hoopauth holds the tokens (the SDK carries a placeholder
that the transport replaces), paces the calls on each location's window and refreshes."""

from __future__ import annotations

import asyncio
import time
from typing import Dict

import httpx
import hoopauth as h
from highlevel import HighLevel
from highlevel.utils.request_utils import get_auth_token

from race_common import REDIRECT, authorize_code, emit, parse_args, race, reset


async def main() -> None:
    a = parse_args()
    config = h.Config(a.client_id, client_secret=a.client_secret, redirect_uri=REDIRECT,
                      marketplace=a.base_url, api_base=a.base_url)
    async with h.AsyncClient(config, limits=h.Limits(max=a.max, interval_ms=a.interval_ms),
                             refresh_leeway_ms=a.refresh_leeway_ms) as client:
        HighLevel.BASE_URL = a.base_url
        ghl = HighLevel(private_integration_token="hoopauth-managed", log_level="error")
        sdk_http = ghl.http_client
        ghl.http_client = httpx.AsyncClient(
            base_url=a.base_url, headers=sdk_http.headers, event_hooks=sdk_http.event_hooks,
            timeout=sdk_http.timeout, transport=h.AsyncTransport(client, replace_authorization=True),
        )
        await sdk_http.aclose()
        ghl.update_config({})  # the services take the new http_client
        seen: Dict[str, int] = {}

        async def count(resp: httpx.Response) -> None:  # observation only: what the SDK's client received
            key = f"{resp.request.url.path} {resp.status_code}"
            seen[key] = seen.get(key, 0) + 1

        ghl.http_client.event_hooks["response"].insert(0, count)
        exchanged = {}
        for loc in a.locations:
            await client.exchange_code(authorize_code(a.base_url, a.client_id, loc))
            exchanged[loc] = int(time.time() * 1000)
        reset(a.base_url)
        seen.clear()

        async def call(loc: str) -> None:  # as in sdk_py.py, verbatim
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
        out.update(driver=a.driver or "sdk-python-hoopauth", exchanged_unix_ms=exchanged, responses_seen=seen,
                   client_stats=client.stats.to_dict())
        await ghl.close()
        emit(out)


asyncio.run(main())
