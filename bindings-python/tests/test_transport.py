"""hoopauth's httpx transports (hoopauth.Transport / AsyncTransport) under plain httpx clients
and under the PyPI SDK's own client (gohighlevel-api-client), against the platform emulator
(real HTTP on loopback): the resource from the query, body, path or header, Authorization
owned by hoopauth, one refresh under a burst, and no 429 ever reaching the caller."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import httpx
import pytest

import hoopauth as h
from hoopauth.transport import request_resource
from test_e2e import authorize, make_config, res_stats, wait_expired

LOCS = ["loc_1", "loc_2", "loc_3"]


class Recording(httpx.HTTPTransport):
    """httpx's own transport, noting the headers of each request it puts on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: List[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


@pytest.fixture(scope="module")
def emu(emulator_factory: Any) -> Any:
    """20 requests per second per location, tokens that live 3 s."""
    return emulator_factory("--max", "20", "--interval-ms", "1000", "--token-ttl-secs", "3")


def _authorized(emu: Any, client: h.Client) -> None:
    for loc in LOCS:
        client.exchange_code(authorize(emu, client.config, loc))


def test_resource_rules() -> None:
    def req(method: str, url: str, **kw: Any) -> httpx.Request:
        r = httpx.Request(method, url, **kw)
        r.read()
        return r

    rr = request_resource
    assert rr(req("GET", "https://x/contacts/?locationId=L1")) == "L1"
    assert rr(req("GET", "https://x/locations/search?companyId=C1")) == "C1"
    assert rr(req("GET", "https://x/contacts/?location_id=L1&companyId=C1")) == "L1"
    assert rr(req("POST", "https://x/contacts/", json={"locationId": "L2", "firstName": "A"})) == "L2"
    assert rr(req("POST", "https://x/contacts/", data={"companyId": "C2"})) == "C2"
    assert rr(req("GET", "https://x/locations/L3")) == "L3"
    assert rr(req("GET", "https://x/companies/C3/x")) == "C3"
    assert rr(req("GET", "https://x/locations/search")) is None
    assert rr(req("GET", "https://x/contacts/?locationId=L1", headers={"X-HoopAuth-Resource": "L9"})) == "L9"
    assert rr(req("POST", "https://x/oauth/token", data={"grant_type": "refresh_token"})) is None
    sdk = req("GET", "https://x/objects/o1")
    setattr(sdk, "__path_params", {"locationId": "L4"})
    assert rr(sdk) == "L4"


def test_sync_httpx_client_resource_from_query_body_path_header(emu: Any) -> None:
    config = make_config(emu)
    with h.Client(config, limits=h.Limits(max=20, interval_ms=1000)) as client:
        _authorized(emu, client)
        wire = Recording()
        transport = h.Transport(client, inner=wire)
        with httpx.Client(base_url=emu.base_url, transport=transport) as http:
            before = {loc: res_stats(emu, loc).get("requests", 0) for loc in LOCS}
            # query
            r = http.get("/contacts/", params={"locationId": "loc_1"})
            assert r.status_code == 200 and "contacts" in r.json()
            # JSON body
            r = http.post("/contacts/", json={"locationId": "loc_2", "firstName": "Ada"})
            assert r.status_code == 201 and r.json()["contact"]["firstName"] == "Ada"
            # path: the emulator answers /locations/{id} only to that location's token
            r = http.get("/locations/loc_3")
            assert r.status_code == 200
            # form body: the platform refuses a non-JSON body (400), answered as is, under loc_2's token
            r = http.post("/contacts/", data={"locationId": "loc_2", "firstName": "Bo"})
            assert r.status_code == 400
            # explicit header: nothing else names the resource; the platform's 422 comes back as is
            r = http.get("/contacts/", headers={"X-HoopAuth-Resource": "loc_1"})
            assert r.status_code == 422
            after = {loc: res_stats(emu, loc).get("requests", 0) for loc in LOCS}
            assert {loc: after[loc] - before[loc] for loc in LOCS} == {"loc_1": 2, "loc_2": 2, "loc_3": 1}
            # hoopauth's token of each resource went out, the resource header did not
            tokens = {loc: client.token_set(loc) for loc in LOCS}
            wanted = ["loc_1", "loc_2", "loc_3", "loc_2", "loc_1"]
            assert len(wire.sent) == 5
            for sent, loc in zip(wire.sent, wanted):
                ts = tokens[loc]
                assert ts is not None and sent.headers["authorization"] == f"Bearer {ts.access_token}"
                assert "x-hoopauth-resource" not in sent.headers
                assert sent.headers["version"]
            # no resource: straight to the inner transport, no call
            calls = client.stats.calls
            assert http.get("/_emulator/stats").status_code == 200
            assert client.stats.calls == calls


def test_sync_burst_no_429_reaches_the_caller(emu: Any) -> None:
    config = make_config(emu)
    with h.Client(config, limits=h.Limits(max=20, interval_ms=1000)) as client:
        _authorized(emu, client)
        emu.reset()
        with httpx.Client(base_url=emu.base_url, transport=h.Transport(client)) as http:

            def one(i: int) -> int:
                return http.get("/contacts/", params={"locationId": LOCS[i % 3]}).status_code

            t0 = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                codes = list(pool.map(one, range(90)))
            wall = time.monotonic() - t0
    assert codes == [200] * 90
    totals = emu.stats()["totals"]
    assert totals["rate_limited"] == 0
    assert emu.stats()["max_in_interval"] <= 20
    assert wall >= 1.0  # 30 per location at 20 per second: paced, not sent at once


def test_authorization_ownership(emu: Any) -> None:
    config = make_config(emu)
    with h.Client(config) as client:
        client.exchange_code(authorize(emu, config, "loc_1"))
        with httpx.Client(base_url=emu.base_url, transport=h.Transport(client)) as http:
            with pytest.raises(h.InvalidArgumentError) as e:
                http.get("/contacts/", params={"locationId": "loc_1"}, headers={"Authorization": "Bearer theirs"})
            assert "replace_authorization" in str(e.value) and "theirs" not in str(e.value)
        wire = Recording()
        with httpx.Client(base_url=emu.base_url, transport=h.Transport(client, inner=wire, replace_authorization=True)) as http:
            r = http.get("/contacts/", params={"locationId": "loc_1"}, headers={"Authorization": "Bearer theirs"})
            assert r.status_code == 200
            ts = client.token_set("loc_1")
            assert ts is not None
            assert [s.headers["authorization"] for s in wire.sent] == [f"Bearer {ts.access_token}"]
        # no tokens for the resource: hoopauth's error, not a request
        with httpx.Client(base_url=emu.base_url, transport=h.Transport(client)) as http:
            with pytest.raises(h.HoopAuthError) as err:
                http.get("/contacts/", params={"locationId": "loc_9"})
            assert err.value.reauthorize


def test_async_refresh_once_under_a_burst(emu: Any) -> None:
    config = make_config(emu)

    async def main() -> List[int]:
        async with h.AsyncClient(config, refresh_leeway_ms=0, limits=h.Limits(max=20, interval_ms=1000)) as client:
            tokens = await client.exchange_code(authorize(emu, config, "loc_1"))
            wait_expired(tokens)
            before = res_stats(emu, "loc_1").get("refreshes", 0)
            async with httpx.AsyncClient(base_url=emu.base_url, transport=h.AsyncTransport(client)) as http:
                rs = await asyncio.gather(*(http.get("/contacts/", params={"locationId": "loc_1"}) for _ in range(40)))
            assert res_stats(emu, "loc_1")["refreshes"] - before == 1
            assert client.stats.refreshes == 1
            return [r.status_code for r in rs]

    emu.reset()
    assert asyncio.run(main()) == [200] * 40
    s = emu.stats()
    assert s["totals"]["rate_limited"] == 0 and s["totals"]["unauthorized"] == 0 and s["totals"]["invalid_grants"] == 0


# ----------------------------------------------------------------------------------------
# The PyPI SDK (gohighlevel-api-client) over AsyncTransport
# ----------------------------------------------------------------------------------------


def _sdk(emu: Any, client: h.AsyncClient) -> Any:
    """The SDK as its README builds it, with hoopauth under its http_client. The SDK wants a
    token of its own before it sends: a placeholder, which the transport replaces."""
    from highlevel import HighLevel  # type: ignore[import-untyped]

    HighLevel.BASE_URL = emu.base_url
    ghl = HighLevel(private_integration_token="hoopauth-managed", log_level="error")
    sdk_http = ghl.http_client
    ghl.http_client = httpx.AsyncClient(
        base_url=emu.base_url,
        headers=sdk_http.headers,
        event_hooks=sdk_http.event_hooks,
        timeout=sdk_http.timeout,
        transport=h.AsyncTransport(client, replace_authorization=True),
    )
    ghl.update_config({})  # the services take the new http_client
    return ghl


def test_pypi_sdk_over_the_transport(emu: Any) -> None:
    config = make_config(emu)
    seen: Dict[int, int] = {}

    async def main() -> None:
        async with h.AsyncClient(config, refresh_leeway_ms=0, limits=h.Limits(max=20, interval_ms=1000)) as client:
            tokens = None
            for loc in LOCS:
                tokens = await client.exchange_code(authorize(emu, config, loc))
            ghl = _sdk(emu, client)

            async def note(resp: httpx.Response) -> None:  # what the SDK's client receives
                seen[resp.status_code] = seen.get(resp.status_code, 0) + 1

            ghl.http_client.event_hooks["response"].insert(0, note)
            # path parameter and JSON body, through the SDK's typed methods
            loc = await ghl.locations.get_location("loc_2")
            assert json.dumps(loc)  # the emulator's location, as the SDK returns it
            made = await ghl.contacts.create_contact({"locationId": "loc_3", "firstName": "Ada"})
            assert made["contact"]["firstName"] == "Ada"
            # a burst: 90 calls, 30 per location (the limit: 20 per second), tokens coming due under it (3 s life)
            assert tokens is not None
            wait_expired(tokens)
            emu.reset()

            async def one(i: int) -> Any:
                return await ghl.locations.get_location(LOCS[i % 3])

            rs = await asyncio.gather(*(one(i) for i in range(90)))
            assert len(rs) == 90
            await ghl.http_client.aclose()

    asyncio.run(main())
    s = emu.stats()
    assert s["totals"]["rate_limited"] == 0
    assert s["totals"]["unauthorized"] == 0 and s["totals"]["invalid_grants"] == 0
    assert s["totals"]["refreshes"] == 3  # once per location, the tokens having expired
    assert set(seen) == {200, 201}
