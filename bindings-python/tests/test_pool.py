"""The AsyncClient's own connection pool: socket lookups are cached, the server-closed check stays.

A real loopback HTTP/1.1 server that closes each kept-alive connection a moment after answering;
the pool must notice (socket readable) and open a new connection instead of writing to a dead one.
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Tuple

import httpcore
import httpx

import hoopauth as h
from hoopauth._pool import _Backend, _Stream, cache_socket_lookups

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"


async def _closing_server(close_after_s: float) -> Tuple[asyncio.AbstractServer, str, List[int]]:
    """Answers one request per connection, then closes it after `close_after_s`."""
    connections: List[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(RESPONSE)
            await writer.drain()
            await asyncio.sleep(close_after_s)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


def _config() -> h.Config:
    return h.Config("client", client_secret="s3cr3t", redirect_uri="http://127.0.0.1:9/cb")


def test_own_http_gets_the_caching_backend_and_a_callers_is_left_alone() -> None:
    async def main() -> None:
        own = h.AsyncClient(_config())
        assert isinstance(own.http._transport._pool._network_backend, _Backend)  # type: ignore[attr-defined]
        theirs = httpx.AsyncClient()
        before = theirs._transport._pool._network_backend  # type: ignore[attr-defined]
        client = h.AsyncClient(_config(), http=theirs)
        assert client.http is theirs
        assert theirs._transport._pool._network_backend is before  # type: ignore[attr-defined]
        await own.aclose()
        await theirs.aclose()

    asyncio.run(main())


def test_only_httpx_default_direct_pool_qualifies() -> None:
    async def main() -> None:
        plain = httpx.AsyncClient()
        assert cache_socket_lookups(plain) is True
        assert cache_socket_lookups(plain) is False  # already wrapped: not twice
        mock = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        assert cache_socket_lookups(mock) is False
        proxied = httpx.AsyncClient(proxy="http://127.0.0.1:9")
        mounted = [t._pool for t in proxied._mounts.values() if t is not None]  # type: ignore[attr-defined]
        before = [p._network_backend for p in mounted]
        cache_socket_lookups(proxied)  # the direct transport only; proxied requests never use it
        assert mounted and type(mounted[0]) is httpcore.AsyncHTTPProxy
        assert [p._network_backend for p in mounted] == before
        for c in (plain, mock, proxied):
            await c.aclose()

    asyncio.run(main())


def test_is_readable_turns_true_when_the_server_closes() -> None:
    async def main() -> None:
        server, base, _ = await _closing_server(0.05)
        port = int(base.rsplit(":", 1)[1])
        stream = await _Backend(httpcore.AsyncConnectionPool()._network_backend).connect_tcp("127.0.0.1", port)
        assert isinstance(stream, _Stream)
        assert stream.get_extra_info("socket") is not None
        await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while not got.endswith(b"{}"):
            got += await stream.read(4096)
        assert stream.get_extra_info("is_readable") is False  # open and drained
        await asyncio.sleep(0.2)
        assert stream.get_extra_info("is_readable") is True  # the server closed it
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)  # passed through
        await stream.aclose()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_pool_replaces_a_connection_the_server_closed() -> None:
    rounds = 3

    async def main() -> List[Any]:
        server, base, connections = await _closing_server(0.05)
        client = h.AsyncClient(_config())
        statuses = []
        for _ in range(rounds):
            r = await client.http.get(base + "/")
            statuses.append(r.status_code)
            await asyncio.sleep(0.2)  # the server has closed the pooled connection by now
        await client.aclose()
        server.close()
        await server.wait_closed()
        assert len(connections) == rounds
        return statuses

    assert asyncio.run(main()) == [200] * rounds
