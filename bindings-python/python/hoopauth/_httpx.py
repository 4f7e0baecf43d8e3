"""httpx drivers: :class:`Client` (sync, thread-safe) and :class:`AsyncClient` (asyncio).

Both run the core's call loop — pace, send, classify, refresh once, retry — and keep each
resource's session in a pluggable token store.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Dict, List, Optional, Tuple, Union

import httpx

from ._driver import _DriverBase, _rand, _resource, now_ms
from ._hoopauth import Call, Callback, Config, Limits, Request, Step, TokenSet, parse_callback, parse_token_response
from ._pool import cache_socket_lookups

__all__ = ["Client", "AsyncClient"]

# Sleep at most this long before asking the core again: limits learned from responses
# meanwhile (the server's headers beat the defaults) then apply to waiting calls too.
_MAX_SLEEP_S = 1.0

QueryParams = Union[Dict[str, Any], List[Tuple[str, Any]], None]


def _content(req: Request) -> Optional[bytes]:
    body = req.body
    return body if body else None


def _pool_limits(max_in_flight: int) -> httpx.Limits:
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    return httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)


class Client(_DriverBase):
    """Synchronous driver over ``httpx.Client``. Safe to share between threads.

    >>> client = Client(config)                      # doctest: +SKIP
    >>> tokens = client.exchange_code(code)          # doctest: +SKIP
    >>> client.get("/contacts/", location_id=tokens.location_id,
    ...            params={"locationId": tokens.location_id})  # doctest: +SKIP
    """

    def __init__(
        self,
        config: Config,
        *,
        http: Optional[httpx.Client] = None,
        store: Any = None,
        limits: Optional[Limits] = None,
        refresh_leeway_ms: Optional[int] = None,
        lease_ms: Optional[int] = None,
        timeout: float = 30.0,
        max_in_flight: int = 16,
        **call_options: int,
    ) -> None:
        super().__init__(
            config,
            store=store,
            limits=limits,
            refresh_leeway_ms=refresh_leeway_ms,
            lease_ms=lease_ms,
            call_options=call_options,
        )
        self._own_http = http is None
        self.http = http if http is not None else httpx.Client(timeout=timeout, follow_redirects=False, limits=_pool_limits(max_in_flight))
        # Calls beyond the connection pool wait here, before the core paces them: a send the
        # core allowed goes out at once instead of queueing for a connection (which would
        # shift it past the pacing margin).
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        self._refresh_cond = threading.Condition()

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, req: Request) -> httpx.Response:
        return self.http.request(req.method, req.url, headers=req.headers, content=_content(req))

    def _refresh_finished(self) -> None:
        with self._refresh_cond:
            self._refresh_cond.notify_all()

    def _ensure_loaded(self, resource: str) -> None:
        # Consult the store while this process holds no tokens for the resource (another
        # process may have stored some since).
        with self._lock:
            if self.pool.has_session(resource):
                return
        stored = self.store.get(resource)
        if stored is not None:
            with self._lock:
                if not self.pool.has_session(resource):
                    self.pool.load_stored(resource, stored)

    def _run(self, call: Call, resource: str) -> httpx.Response:
        self._ensure_loaded(resource)
        slots = self._in_flight
        # A call holds a slot while it steps and sends, not while it waits (see AsyncClient).
        slots.acquire()
        try:
            return self._run_holding(call, resource, slots)
        finally:
            slots.release()

    def _run_holding(self, call: Call, resource: str, slots: threading.BoundedSemaphore) -> httpx.Response:
        pool, lock = self.pool, self._lock
        with lock:
            step: Step = pool.start(call, resource, now_ms(), _rand())
        last: Optional[httpx.Response] = None
        while True:
            kind = step.kind
            if kind == "send" or kind == "send_refresh":
                req = step.request
                assert req is not None
                try:
                    resp = self._send(req)
                except httpx.TransportError:
                    with lock:
                        self.stats.transport_errors += 1
                        step = pool.transport_error(call, resource, now_ms(), _rand())
                    if kind == "send_refresh":
                        self._refresh_finished()
                    continue
                except BaseException:
                    # Abort: a step that does not fit the call's state ends it and frees a refresh lease.
                    with lock:
                        pool.start(call, resource, now_ms(), _rand())
                    self._refresh_finished()
                    raise
                if kind == "send":
                    last = resp
                    if resp.status_code == 429:
                        self.stats.rate_limited += 1
                with lock:
                    step = pool.response(
                        call, resource, resp.status_code, resp.headers, resp.content, now_ms(), _rand()
                    )
                if kind == "send_refresh":
                    self._refresh_finished()
            elif kind == "persist":
                stored = step.stored
                assert stored is not None
                self.store.set(resource, stored)
                with lock:
                    step = pool.resume(call, resource, now_ms(), _rand())
                self._refresh_finished()
            elif kind == "wait":
                wait_s = (step.wait_ms or 0) / 1000.0
                slots.release()
                try:
                    if step.reason == "refresh":
                        with self._refresh_cond:
                            self._refresh_cond.wait(wait_s)
                    else:
                        time.sleep(min(wait_s, _MAX_SLEEP_S))
                finally:
                    slots.acquire()
                with lock:
                    step = pool.resume(call, resource, now_ms(), _rand())
            elif kind == "done":
                self._account(call, False)
                assert last is not None
                return last
            else:
                self._account(call, True)
                err = step.error()
                assert err is not None
                raise err

    # -- public API ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        location_id: Optional[str] = None,
        company_id: Optional[str] = None,
        resource_id: Optional[str] = None,
        params: QueryParams = None,
        json: Any = None,
        **call_options: int,
    ) -> httpx.Response:
        """Send an API request for one location (or company), paced and refreshed by the core.

        Returns the successful ``httpx.Response``; raises a :class:`hoopauth.HoopAuthError`
        subclass otherwise (``err.reauthorize`` tells whether the user must authorize again).
        """
        resource = _resource(location_id, company_id, resource_id)
        call = self._new_call(method, path, params, json, call_options)
        return self._run(call, resource)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def exchange_code(
        self,
        code: Union[str, Callback],
        *,
        user_type: Optional[str] = None,
        resource_id: Optional[str] = None,
    ) -> TokenSet:
        """Exchange an authorization code (or a parsed :class:`Callback`) for tokens, keep them
        for their location (or company) and persist them in the store."""
        if isinstance(code, Callback):
            code = code.code
        req = self.config.exchange_code_request(code, user_type=user_type)
        sent = now_ms()
        resp = self._send(req)
        tokens = parse_token_response(resp.status_code, resp.content, sent, resp.headers)
        self.load_tokens(tokens, resource_id)
        return tokens

    def handle_callback(
        self, url: str, *, expected_state: str, user_type: Optional[str] = None
    ) -> TokenSet:
        """Check the redirect's ``state``, then exchange its code (see :meth:`exchange_code`)."""
        return self.exchange_code(parse_callback(url, expected_state), user_type=user_type)

    def location_token(self, company_id: str, location_id: str) -> TokenSet:
        """Get a location token with the company's (agency) token and keep it for ``location_id``."""
        self._ensure_loaded(company_id)
        with self._lock:
            agency = self.pool.token_set(company_id)
        if agency is None:
            from ._errors import UnauthorizedError

            raise UnauthorizedError("no tokens for the company: authorize the app for it first", reauthorize=True)
        req = self.config.location_token_request(agency.access_token, company_id, location_id)
        sent = now_ms()
        resp = self._send(req)
        tokens = parse_token_response(resp.status_code, resp.content, sent, resp.headers)
        self.load_tokens(tokens, location_id)
        return tokens

    def load_tokens(self, tokens: TokenSet, resource_id: Optional[str] = None) -> str:
        """Use ``tokens`` for ``resource_id`` (default: their location or company); persist them."""
        rid, stored = self._load_tokens_locked(tokens, resource_id)
        self.store.set(rid, stored)
        return rid

    def use_private_token(self, resource_id: str, token: str) -> None:
        """Use a private-integration token (never expires, never refreshes) for ``resource_id``."""
        with self._lock:
            self.pool.load_private(resource_id, token)
            stored = self.pool.stored_json(resource_id)
        assert stored is not None
        self.store.set(resource_id, stored)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class AsyncClient(_DriverBase):
    """asyncio driver over ``httpx.AsyncClient``. Many tasks may share it: when a token
    expires, one task refreshes and the others wait for it (exactly one refresh).

    The store may be synchronous or asynchronous (``get``/``set`` returning awaitables).
    """

    def __init__(
        self,
        config: Config,
        *,
        http: Optional[httpx.AsyncClient] = None,
        store: Any = None,
        limits: Optional[Limits] = None,
        refresh_leeway_ms: Optional[int] = None,
        lease_ms: Optional[int] = None,
        timeout: float = 30.0,
        max_in_flight: int = 16,
        **call_options: int,
    ) -> None:
        super().__init__(
            config,
            store=store,
            limits=limits,
            refresh_leeway_ms=refresh_leeway_ms,
            lease_ms=lease_ms,
            call_options=call_options,
        )
        self._own_http = http is None
        self.http = (
            http
            if http is not None
            else httpx.AsyncClient(timeout=timeout, follow_redirects=False, limits=_pool_limits(max_in_flight))
        )
        if self._own_http:
            cache_socket_lookups(self.http)
        # As in Client: calls beyond the pool wait before the core paces them.
        self._max_in_flight = max_in_flight
        self._in_flight: Optional[asyncio.Semaphore] = None
        self._refresh_event: Optional[asyncio.Event] = None

    # -- plumbing -------------------------------------------------------------------------
    async def _send(self, req: Request) -> httpx.Response:
        return await self.http.request(req.method, req.url, headers=req.headers, content=_content(req))

    def _refresh_finished(self) -> None:
        ev, self._refresh_event = self._refresh_event, None
        if ev is not None:
            ev.set()

    async def _wait_refresh(self, wait_s: float) -> None:
        if self._refresh_event is None:
            self._refresh_event = asyncio.Event()
        ev = self._refresh_event
        try:
            await asyncio.wait_for(ev.wait(), timeout=wait_s)
        except asyncio.TimeoutError:
            pass

    async def _ensure_loaded(self, resource: str) -> None:
        # Consult the store while this process holds no tokens for the resource (another
        # process may have stored some since).
        with self._lock:
            if self.pool.has_session(resource):
                return
        stored = await _maybe_await(self.store.get(resource))
        if stored is not None:
            with self._lock:
                if not self.pool.has_session(resource):
                    self.pool.load_stored(resource, stored)

    async def _run(self, call: Call, resource: str) -> httpx.Response:
        await self._ensure_loaded(resource)
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self._max_in_flight)
        slots = self._in_flight
        # A call holds a slot while it steps and sends, not while it waits: a send the core
        # allowed goes out at once instead of queueing for a pooled connection.
        await slots.acquire()
        try:
            return await self._run_holding(call, resource, slots)
        finally:
            slots.release()

    async def _run_holding(self, call: Call, resource: str, slots: asyncio.Semaphore) -> httpx.Response:
        pool, lock = self.pool, self._lock
        with lock:
            step: Step = pool.start(call, resource, now_ms(), _rand())
        last: Optional[httpx.Response] = None
        while True:
            kind = step.kind
            if kind == "send" or kind == "send_refresh":
                req = step.request
                assert req is not None
                try:
                    resp = await self._send(req)
                except httpx.TransportError:
                    with lock:
                        self.stats.transport_errors += 1
                        step = pool.transport_error(call, resource, now_ms(), _rand())
                    if kind == "send_refresh":
                        self._refresh_finished()
                    continue
                except BaseException:
                    # Cancelled or failed otherwise: end the call and free a refresh lease.
                    with lock:
                        pool.start(call, resource, now_ms(), _rand())
                    self._refresh_finished()
                    raise
                if kind == "send":
                    last = resp
                    if resp.status_code == 429:
                        self.stats.rate_limited += 1
                with lock:
                    step = pool.response(
                        call, resource, resp.status_code, resp.headers, resp.content, now_ms(), _rand()
                    )
                if kind == "send_refresh":
                    self._refresh_finished()
            elif kind == "persist":
                stored = step.stored
                assert stored is not None
                await _maybe_await(self.store.set(resource, stored))
                with lock:
                    step = pool.resume(call, resource, now_ms(), _rand())
                self._refresh_finished()
            elif kind == "wait":
                wait_s = (step.wait_ms or 0) / 1000.0
                slots.release()
                try:
                    if step.reason == "refresh":
                        await self._wait_refresh(wait_s)
                    else:
                        await asyncio.sleep(min(wait_s, _MAX_SLEEP_S))
                finally:
                    await slots.acquire()
                with lock:
                    step = pool.resume(call, resource, now_ms(), _rand())
            elif kind == "done":
                self._account(call, False)
                assert last is not None
                return last
            else:
                self._account(call, True)
                err = step.error()
                assert err is not None
                raise err

    # -- public API ----------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        location_id: Optional[str] = None,
        company_id: Optional[str] = None,
        resource_id: Optional[str] = None,
        params: QueryParams = None,
        json: Any = None,
        **call_options: int,
    ) -> httpx.Response:
        """As :meth:`Client.request`, awaitable."""
        resource = _resource(location_id, company_id, resource_id)
        call = self._new_call(method, path, params, json, call_options)
        return await self._run(call, resource)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def exchange_code(
        self,
        code: Union[str, Callback],
        *,
        user_type: Optional[str] = None,
        resource_id: Optional[str] = None,
    ) -> TokenSet:
        """As :meth:`Client.exchange_code`, awaitable."""
        if isinstance(code, Callback):
            code = code.code
        req = self.config.exchange_code_request(code, user_type=user_type)
        sent = now_ms()
        resp = await self._send(req)
        tokens = parse_token_response(resp.status_code, resp.content, sent, resp.headers)
        await self.load_tokens(tokens, resource_id)
        return tokens

    async def handle_callback(
        self, url: str, *, expected_state: str, user_type: Optional[str] = None
    ) -> TokenSet:
        """Check the redirect's ``state``, then exchange its code."""
        return await self.exchange_code(parse_callback(url, expected_state), user_type=user_type)

    async def location_token(self, company_id: str, location_id: str) -> TokenSet:
        """As :meth:`Client.location_token`, awaitable."""
        await self._ensure_loaded(company_id)
        with self._lock:
            agency = self.pool.token_set(company_id)
        if agency is None:
            from ._errors import UnauthorizedError

            raise UnauthorizedError("no tokens for the company: authorize the app for it first", reauthorize=True)
        req = self.config.location_token_request(agency.access_token, company_id, location_id)
        sent = now_ms()
        resp = await self._send(req)
        tokens = parse_token_response(resp.status_code, resp.content, sent, resp.headers)
        await self.load_tokens(tokens, location_id)
        return tokens

    async def load_tokens(self, tokens: TokenSet, resource_id: Optional[str] = None) -> str:
        """Use ``tokens`` for ``resource_id`` (default: their location or company); persist them."""
        rid, stored = self._load_tokens_locked(tokens, resource_id)
        await _maybe_await(self.store.set(rid, stored))
        return rid

    async def use_private_token(self, resource_id: str, token: str) -> None:
        """Use a private-integration token for ``resource_id``."""
        with self._lock:
            self.pool.load_private(resource_id, token)
            stored = self.pool.stored_json(resource_id)
        assert stored is not None
        await _maybe_await(self.store.set(resource_id, stored))

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
