"""httpx drivers: :class:`Client` (sync, thread-safe) and :class:`AsyncClient` (asyncio).

Both run the core's call loop — pace, send, classify, refresh once, retry — and keep each
resource's session in a pluggable token store.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

import httpx

from ._driver import (
    _READ,
    _SEND,
    _SET,
    _MINT,
    _SLOT,
    _STEP,
    _W_EXPECT,
    _W_FORGET,
    _W_LOAD,
    _W_NOW,
    _W_SEEN,
    _W_TOKEN,
    _WAIT,
    EventHook,
    _Loop,
    _count,
    _DriverBase,
    _deadline,
    _Event,
    _Flow,
    _resource,
    _seconds,
    _SharedCall,
    _timed_out,
    _Txn,
    now_ms,
)
from ._hoopauth import (
    Call,
    Callback,
    Config,
    Limits,
    Request,
    Step,
    TokenSet,
    WebhookKey,
    parse_callback,
    parse_token_response,
)
from ._pool import cache_socket_lookups
from ._store import AnyTokenStore, TokenStore

__all__ = ["Client", "AsyncClient"]

# Waits: the driver sleeps exactly the step's wait_ms (the core hands long waits out in
# pieces of at most CallOptions.recheck_ms, so a refresh that comes due or a limit learned
# meanwhile applies to waiting calls too). Waits for a refresh or for answers in flight end
# early when something happens on the same resource.
_WAKE_EARLY = ("refresh", "in_flight")

QueryParams = Union[Dict[str, Any], List[Tuple[str, Any]], None]


def _tokens_resource(tokens: TokenSet, resource_id: Optional[str]) -> str:
    rid = resource_id if resource_id is not None else tokens.resource_id
    if not rid:
        from ._errors import InvalidArgumentError

        raise InvalidArgumentError(
            "the token set names no location or company: give a resource id", kind="invalid_argument"
        )
    return rid


def _content(req: Request) -> Optional[bytes]:
    body = req.body
    return body if body else None


def _send_timeout(base: httpx.Timeout, deadline: Optional[float]) -> Any:
    """The client's timeouts, each cut to what is left of a per-call deadline."""
    if deadline is None:
        return httpx.USE_CLIENT_DEFAULT
    left = max(deadline - time.monotonic(), 0.001)

    def cut(v: Optional[float]) -> float:
        return left if v is None else min(v, left)

    return httpx.Timeout(connect=cut(base.connect), read=cut(base.read), write=cut(base.write), pool=cut(base.pool))


def _http_timeout(timeout: Any) -> Any:
    if timeout is None or isinstance(timeout, httpx.Timeout):
        return timeout
    return _seconds(timeout, "timeout")


def _pool_limits(max_in_flight: int) -> httpx.Limits:
    max_in_flight = _count(max_in_flight, "max_in_flight")
    return httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)


class Client(_DriverBase):
    """Synchronous driver over ``httpx.Client``. Safe to share between threads.

    >>> client = Client(config)                      # doctest: +SKIP
    >>> tokens = client.exchange_code(code)          # doctest: +SKIP
    >>> client.get("/contacts/", location_id=tokens.location_id,
    ...            params={"locationId": tokens.location_id})  # doctest: +SKIP

    ``store``: where each resource's tokens are kept (:class:`hoopauth.TokenStore`; default
    in memory). ``on_event``: called with each event of the calls (a small dict, see
    :data:`hoopauth.Event`); the ``hoopauth`` logger gets the same events at DEBUG.
    """

    def __init__(
        self,
        config: Config,
        *,
        http: Optional[httpx.Client] = None,
        store: Optional[TokenStore] = None,
        limits: Optional[Limits] = None,
        refresh_leeway_ms: Optional[int] = None,
        lease_ms: Optional[int] = None,
        timeout: float = 30.0,
        max_in_flight: int = 16,
        shared: Any = None,
        keys: Optional[List[bytes]] = None,
        on_event: Optional[EventHook] = None,
        webhook_key: Union[str, WebhookKey, None] = None,
        webhook_max_age_ms: Optional[int] = None,
        **call_options: int,
    ) -> None:
        super().__init__(
            config,
            store=store,
            limits=limits,
            refresh_leeway_ms=refresh_leeway_ms,
            lease_ms=lease_ms,
            call_options=call_options,
            shared=shared,
            keys=keys,
            on_event=on_event,
            webhook_key=webhook_key,
            webhook_max_age_ms=webhook_max_age_ms,
        )
        self._own_http = http is None
        self.http: httpx.Client = http if http is not None else httpx.Client(timeout=_http_timeout(timeout), follow_redirects=False, limits=_pool_limits(max_in_flight))
        # Calls beyond the connection pool wait here, before the core paces them: a send the
        # core allowed goes out at once instead of queueing for a connection (which would
        # shift it past the pacing margin).
        self._in_flight = threading.BoundedSemaphore(_count(max_in_flight, "max_in_flight"))
        self._cond = threading.Condition()
        if shared is not None and inspect.iscoroutinefunction(getattr(shared, "read", None)):
            raise TypeError("Client needs a synchronous shared store (RedisStore, SqliteStore); AsyncRedisStore is for AsyncClient")
        self._txn_locks: Dict[str, threading.Lock] = {}

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, req: Request, deadline: Optional[float] = None) -> httpx.Response:
        return self.http.request(
            req.method,
            req.url,
            headers=req.headers,
            content=_content(req),
            timeout=_send_timeout(self.http.timeout, deadline),
        )

    def _wake(self, resource: str) -> None:
        with self._cond:
            self._gen[resource] = self._gen.get(resource, 0) + 1
            self._cond.notify_all()

    def _ensure_loaded(self, resource: str) -> None:
        # Consult the store while this process holds no tokens for the resource (another
        # process may have stored some since).
        with self._lock:
            if self.pool.has_session(resource):
                return
        self._load_stored(resource, self.store.get(resource))

    def _acquire_slot(self, deadline: Optional[float], timeout: Any) -> bool:
        if deadline is None:
            self._in_flight.acquire()
        elif not self._in_flight.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise _timed_out(timeout)
        return True

    def _sleep(self, resource: str, gen: int, wait_ms: int, reason: Optional[str], deadline: Optional[float], timeout: Any) -> None:
        wait_s = wait_ms / 1000.0
        late = deadline is not None and deadline - time.monotonic() < wait_s
        if late:
            wait_s = max(deadline - time.monotonic(), 0.0)  # type: ignore[operator]
        if reason in _WAKE_EARLY:
            with self._cond:
                woke = self._cond.wait_for(lambda: self._gen.get(resource, 0) != gen, wait_s)
            if woke:
                return
        else:
            time.sleep(wait_s)
        if late:
            raise _timed_out(timeout)

    def _run(self, call: Call, resource: str, timeout: Any = None) -> httpx.Response:
        return self._drive(self._call_loop(call, resource), call, None, resource, timeout)

    def _drive(
        self, loop: _Loop, call: Call, st: Optional[_SharedCall], resource: str, timeout: Any,
        send: Optional[Callable[[Step], httpx.Response]] = None,
    ) -> httpx.Response:
        """Run the call loop (``_DriverBase._call_loop``) with blocking I/O. ``send``: sends a
        send step's request instead of ``self.http`` (the transport's inner transport)."""
        deadline = _deadline(timeout)
        holding = False
        try:
            op = next(loop)
            while True:
                tag = op[0]
                res: Any = None
                if tag == _SEND:
                    try:
                        res = self._send(op[1].request, deadline) if send is None else send(op[1])
                    except httpx.TransportError:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise _timed_out(timeout) from None
                elif tag == _STEP:
                    wait_s = None if deadline is None else deadline - time.monotonic()
                    try:
                        res, _now = self._io(self._call_txn(st, resource, op[1]), resource, wait_s)  # type: ignore[arg-type]
                    except TimeoutError:
                        raise _timed_out(timeout) from None
                elif tag == _WAIT:
                    # A call holds a slot while it steps and sends, not while it waits.
                    if holding:
                        self._in_flight.release()
                        holding = False
                    self._sleep(resource, op[3], op[1], op[2], deadline, timeout)
                    holding = self._acquire_slot(deadline, timeout)
                elif tag == _SET:
                    try:
                        # step.stored goes straight to the store: no local holds the tokens.
                        self.store.set(resource, op[1].stored)
                    except Exception as exc:
                        res = exc
                elif tag == _SLOT:
                    holding = self._acquire_slot(deadline, timeout)
                elif tag == _MINT:
                    # The mint call takes its own slot: this one's is given back meanwhile.
                    if holding:
                        self._in_flight.release()
                        holding = False
                    res = self._run_mint(op[1], op[2], deadline, timeout)
                    holding = self._acquire_slot(deadline, timeout)
                else:  # _LOAD
                    self._ensure_loaded(resource)
                op = loop.send(res)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            # Every way out of an unfinished call (timeout, KeyboardInterrupt, a bug) aborts
            # it: no lease, save or rate-limit slot stays held.
            loop.close()
            try:
                if st is not None and not st.call.is_finished:
                    # In coordinated mode, through the store: released for every process.
                    try:
                        self._io(self._abort_txn(st, resource), resource, 0.05)
                        self._account(st.call, True)
                    except Exception:  # the store is gone too: released below, here at least
                        pass
                    self._wake(resource)
            finally:
                self._abort(st.call if st is not None else call, resource)
                if holding:
                    self._in_flight.release()

    def _run_mint(self, company: str, location: str, deadline: Optional[float], timeout: Any) -> _Event:
        """Run the mint call of a location's ``mint`` step on the company (within what is left
        of the location call's deadline); its answer or its error for the location's call."""
        from ._errors import HoopAuthError

        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        try:
            if self.shared is not None:
                resp = self._run_shared(_SharedCall(lambda: self._mint_call(company, location)), company, left)
            else:
                resp = self._run(self._mint_call(company, location), company, left)
        except TimeoutError:
            raise _timed_out(timeout) from None
        except HoopAuthError as exc:
            return self._mint_answer(None, exc)
        return self._mint_answer(resp, None)

    def _run_token(self, resource: str) -> None:
        """Make sure ``resource`` holds a usable, saved token (a minted location: mint it)."""
        if self.shared is not None:
            self._run_shared(_SharedCall(self._token_call), resource)
        else:
            self._run(self._token_call(), resource)

    def handle_webhook(self, body: Union[bytes, str], headers: Any) -> Tuple[int, str]:
        """Handle one webhook delivery end to end and return what the web framework answers,
        ``(status, reason)``: verify it (signature with ``webhook_key``, the replay window, a
        ``webhookId`` seen before — by any process in coordinated mode), parse it, and apply it:
        an ``INSTALL`` under a company (a bulk one too: every approved location) mints and
        stores a location token for each location holding none — paced on the company's
        budget, each renewed by minting when it comes due; an ``UNINSTALL`` deletes the
        resource's tokens and pacing state. ``200 applied``, ``200 nothing_to_do`` (e.g. the
        same delivery again past the duplicate memory), ``200 ignored`` (another event type),
        ``200 no_company_tokens``, ``200 duplicate``, ``401 bad_signature``, ``401 stale``,
        ``400 malformed``, ``503 store_unavailable`` (the store failed: the delivery is not
        kept as seen, so the platform's retry is handled in full; any other error raised
        while applying un-marks it too, then is raised). ``body``: the raw bytes as received;
        ``headers``: a mapping or pairs. A location whose mint failed stays marked as minted:
        its first call mints again."""
        return self._run_flow(self._webhook_flow(body, headers), body)

    def _run_flow(self, flow: _Flow, body: Any) -> Tuple[int, str]:
        from ._errors import HoopAuthError

        applying = False  # past verification: the delivery is marked as seen
        try:
            op = next(flow)
            while True:
                tag = op[0]
                res: Any = None
                applying = applying or tag not in (_W_NOW, _W_SEEN)
                if tag == _W_NOW:
                    res = self._clock()
                elif tag == _W_SEEN:
                    try:
                        res = bool(self.shared.seen_first(op[1], op[2]))
                    except Exception as exc:
                        raise self._shared_error(exc) from exc
                elif tag == _W_LOAD:
                    if self.shared is not None:
                        self._put(op[1], None)
                    else:
                        self._ensure_loaded(op[1])
                elif tag == _W_FORGET:
                    res = self.forget(op[1])
                elif tag == _W_EXPECT:
                    res = self._expect_minted(op[1], op[2])
                else:  # _W_TOKEN
                    try:
                        self._run_token(op[1])
                    except HoopAuthError as exc:
                        res = exc
                op = flow.send(res)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except BaseException as exc:
            # Applying failed: un-mark the delivery (best effort; the original error wins) so
            # the platform's retry is handled in full, never answered as a duplicate.
            if applying:
                try:
                    wid, forget_seen = self._webhook_unmark(body)
                    if wid is not None and forget_seen is not None:
                        forget_seen(wid)
                except Exception:
                    pass
            answer = self._webhook_failure(exc)
            if answer is None:
                raise
            return answer

    def _expect_minted(self, location: str, company: str) -> bool:
        if self.shared is not None:
            self._put(location, lambda: self.pool.expect_minted(location, company))
            with self._lock:
                return not self.pool.has_session(location)
        self._ensure_loaded(location)
        with self._lock:
            return self.pool.expect_minted(location, company)

    # -- coordinated mode -----------------------------------------------------------------
    def _io(self, txn: _Txn, resource: str, wait_s: Optional[float] = None) -> Any:
        """Run a store transaction (see ``_DriverBase._call_txn``) against the shared store.
        This process's transactions on one resource take turns (a lock per resource), so
        only other processes race for the record. ``wait_s``: how long to wait for the turn
        (``TimeoutError`` past it; default: as long as it takes — each store operation is
        bounded by the store's own timeouts)."""
        lock = self._txn_lock(resource)
        if not lock.acquire(timeout=-1 if wait_s is None else max(wait_s, 0.0)):
            txn.close()
            raise TimeoutError("hoopauth: the shared store's turn did not come in time")
        try:
            return self._io_locked(txn, resource)
        finally:
            lock.release()

    def _txn_lock(self, resource: str) -> threading.Lock:
        with self._lock:
            lock = self._txn_locks.get(resource)
            if lock is None:
                lock = self._txn_locks[resource] = threading.Lock()
            return lock

    def _io_locked(self, txn: _Txn, resource: str) -> Any:
        store = self.shared
        op = next(txn)
        while True:
            try:
                if op == _READ:
                    with self._lock:
                        self.stats.store_reads += 1
                    res = store.read(resource)
                elif isinstance(op, float):
                    time.sleep(op)
                    res = None
                else:
                    res = store.cas(resource, op[0], op[1])
            except Exception as exc:
                op = txn.throw(self._shared_error(exc))
                continue
            except BaseException as exc:
                txn.throw(exc)
                raise
            try:
                op = txn.send(res)
            except StopIteration as stop:
                return stop.value

    def _run_shared(self, st: _SharedCall, resource: str, timeout: Any = None) -> httpx.Response:
        return self._drive(self._call_loop(st.call, resource, st), st.call, st, resource, timeout)

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
        timeout: Optional[float] = None,
        **call_options: Any,
    ) -> httpx.Response:
        """Send an API request for one location (or company), paced and refreshed by the core.

        Returns the successful ``httpx.Response``; raises a :class:`hoopauth.HoopAuthError`
        subclass otherwise (``err.reauthorize`` tells whether the user must authorize again;
        :class:`hoopauth.StoreError` when the token store failed to save refreshed tokens,
        which stay in memory and are saved by the next call). ``timeout``: seconds for the
        whole call (waits included); past it the call is aborted and ``TimeoutError`` raised.
        """
        resource = _resource(location_id, company_id, resource_id)
        if self.shared is not None:
            self._new_call(method, path, params, json, call_options)  # bad arguments fail here
            st = _SharedCall(lambda: self._new_call(method, path, params, json, call_options))
            return self._run_shared(st, resource, timeout)
        call = self._new_call(method, path, params, json, call_options)
        return self._run(call, resource, timeout)

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
        req = self.config.exchange_code_request(
            code.code if isinstance(code, Callback) else code, user_type=user_type
        )
        del code  # the (single-use) code stays out of this frame's locals
        sent = self._clock()
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
        if self.shared is not None:
            self._put(company_id, None)  # the company's record, as the store holds it
        else:
            self._ensure_loaded(company_id)
        with self._lock:
            agency = self.pool.token_set(company_id)
        if agency is None:
            from ._errors import UnauthorizedError

            raise UnauthorizedError("no tokens for the company: authorize the app for it first", reauthorize=True)
        req = self.config.location_token_request(agency.access_token, company_id, location_id)
        sent = self._clock()
        resp = self._send(req)
        tokens = parse_token_response(resp.status_code, resp.content, sent, resp.headers)
        # A minted location session: renewed by minting from the company when it comes due.
        if self.shared is not None:
            self._put(location_id, lambda: self.pool.load_minted(location_id, company_id, tokens))
        else:
            with self._lock:
                self.pool.load_minted(location_id, company_id, tokens)
            self._save(location_id)
        return tokens

    def load_tokens(self, tokens: TokenSet, resource_id: Optional[str] = None) -> str:
        """Use ``tokens`` for ``resource_id`` (default: their location or company); persist them.

        When the store raises: :class:`hoopauth.StoreError` (the store's exception as its
        cause); the tokens stay in memory, unsaved, and the next call or :meth:`flush` saves them."""
        if self.shared is not None:
            rid = _tokens_resource(tokens, resource_id)
            self._put(rid, lambda: self.pool.load_tokens(tokens, rid))
            return rid
        rid = self._load_tokens_locked(tokens, resource_id)
        self._save(rid)
        return rid

    def use_private_token(self, resource_id: str, token: str) -> None:
        """Use a private-integration token (never expires, never refreshes) for ``resource_id``."""
        if self.shared is not None:
            self._put(resource_id, lambda: self.pool.load_private(resource_id, token))
            return
        with self._lock:
            self.pool.load_private(resource_id, token)
        self._save(resource_id)

    def _clock(self) -> int:
        """Now: the shared store's clock in coordinated mode, else this process's."""
        if self.shared is not None:
            try:
                return int(self.shared.now_ms())
            except Exception as exc:
                raise self._shared_error(exc) from exc
        return self._now()

    def _put(self, resource: str, put: Any) -> bool:
        return bool(self._io(self._put_txn(resource, put), resource))

    def forget(self, resource_id: str) -> bool:
        """Remove a resource's tokens from memory and from the token store (its ``delete``):
        what to call on an UNINSTALL webhook. Returns whether this process held a session. In
        coordinated mode the shared record loses its tokens for every process (an empty
        record is written rather than the key deleted, so no process writes back its copy)."""
        if self.shared is not None:
            had = self.pool.has_session(resource_id)
            self._put(resource_id, lambda: self.pool.forget(resource_id))
            return had
        had = self._forget_local(resource_id)
        self._store_delete(resource_id)
        if self._watched():
            self._emit("forget", resource_id)
        return had

    def _save(self, resource: str) -> None:
        try:
            self.store.set(resource, self._stored(resource))
        except Exception as exc:
            raise self._store_failed(resource, exc) from exc
        except BaseException:  # interrupted: kept in memory, unsaved
            self._end_save(resource, False)
            raise
        if self._watched():
            self._emit("saved", resource)

    def flush(self) -> List[str]:
        """Save every resource whose tokens the store does not hold (an earlier save failed
        or was interrupted). Returns the resources saved; raises :class:`hoopauth.StoreError`
        (after trying them all) when the store failed again (those stay unsaved)."""
        saved: List[str] = []
        failure: Optional[BaseException] = None
        if self.shared is not None:
            for resource in self._unsaved():
                try:
                    if self._put(resource, None):
                        saved.append(resource)
                except Exception as exc:
                    failure = failure or exc
            if failure is not None:
                raise failure
            return saved
        for resource in self._unsaved():
            if not self._begin_save(resource):
                continue  # a call is saving it right now
            ok = False
            try:
                self.store.set(resource, self._stored(resource))
                ok = True
                saved.append(resource)
                if self._watched():
                    self._emit("saved", resource)
            except Exception as exc:
                failure = failure or exc
                if self._watched():
                    self._emit("save_failed", resource, error=type(exc).__name__)
            finally:
                self._end_save(resource, ok)
        if failure is not None:
            from ._errors import StoreError

            raise StoreError(
                f"the token store failed ({type(failure).__name__}); the tokens stay in memory, unsaved",
                kind="store_error",
            ) from failure
        return saved

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_asyncio_timeout = getattr(asyncio, "timeout", None)  # Python 3.11+


def _resolve(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class AsyncClient(_DriverBase):
    """asyncio driver over ``httpx.AsyncClient``. Many tasks may share it: when a token
    expires, one task refreshes and the others wait for it (exactly one refresh).

    The store may be synchronous or asynchronous (``get``/``set``/``delete`` returning
    awaitables). ``on_event`` and the ``hoopauth`` logger: as for :class:`Client`.
    """

    def __init__(
        self,
        config: Config,
        *,
        http: Optional[httpx.AsyncClient] = None,
        store: Optional[AnyTokenStore] = None,
        limits: Optional[Limits] = None,
        refresh_leeway_ms: Optional[int] = None,
        lease_ms: Optional[int] = None,
        timeout: float = 30.0,
        max_in_flight: int = 16,
        shared: Any = None,
        keys: Optional[List[bytes]] = None,
        on_event: Optional[EventHook] = None,
        webhook_key: Union[str, WebhookKey, None] = None,
        webhook_max_age_ms: Optional[int] = None,
        **call_options: int,
    ) -> None:
        super().__init__(
            config,
            store=store,
            limits=limits,
            refresh_leeway_ms=refresh_leeway_ms,
            lease_ms=lease_ms,
            call_options=call_options,
            shared=shared,
            keys=keys,
            on_event=on_event,
            webhook_key=webhook_key,
            webhook_max_age_ms=webhook_max_age_ms,
        )
        self._own_http = http is None
        self.http: httpx.AsyncClient = (
            http
            if http is not None
            else httpx.AsyncClient(timeout=_http_timeout(timeout), follow_redirects=False, limits=_pool_limits(max_in_flight))
        )
        if self._own_http:
            cache_socket_lookups(self.http)
        # As in Client: calls beyond the pool wait before the core paces them.
        self._max_in_flight = _count(max_in_flight, "max_in_flight")
        self._in_flight: Optional[asyncio.Semaphore] = None
        # Calls waiting (for a refresh or for answers in flight) per resource: woken early.
        self._waiters: Dict[str, List["asyncio.Future[None]"]] = {}
        # A synchronous shared store (RedisStore, SqliteStore) runs in a worker thread.
        self._shared_async = shared is not None and inspect.iscoroutinefunction(getattr(shared, "read", None))
        self._txn_locks: Dict[str, asyncio.Lock] = {}

    # -- plumbing -------------------------------------------------------------------------
    async def _send(self, req: Request) -> httpx.Response:
        return await self.http.request(req.method, req.url, headers=req.headers, content=_content(req))

    def _wake(self, resource: str) -> None:
        waiters = self._waiters.pop(resource, None)
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def _sleep(self, resource: str, wait_ms: int, reason: Optional[str]) -> None:
        wait_s = wait_ms / 1000.0
        if reason not in _WAKE_EARLY:
            await asyncio.sleep(wait_s)
            return
        loop = asyncio.get_running_loop()
        fut: "asyncio.Future[None]" = loop.create_future()
        self._waiters.setdefault(resource, []).append(fut)
        timer = loop.call_later(wait_s, _resolve, fut)
        try:
            await fut
        finally:
            timer.cancel()
            waiters = self._waiters.get(resource)
            if waiters is not None and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._waiters[resource]

    async def _ensure_loaded(self, resource: str) -> None:
        # Consult the store while this process holds no tokens for the resource (another
        # process may have stored some since).
        with self._lock:
            if self.pool.has_session(resource):
                return
        self._load_stored(resource, await _maybe_await(self.store.get(resource)))

    async def _run(self, call: Call, resource: str) -> httpx.Response:
        return await self._drive(self._call_loop(call, resource), call, None, resource)

    async def _drive(
        self, loop: _Loop, call: Call, st: Optional[_SharedCall], resource: str,
        send: Optional[Callable[[Step], Awaitable[httpx.Response]]] = None,
    ) -> httpx.Response:
        """Run the call loop (``_DriverBase._call_loop``) with asyncio I/O (``send``: as in
        :meth:`Client._drive`)."""
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self._max_in_flight)
        slots = self._in_flight
        holding = False
        try:
            op = next(loop)
            while True:
                tag = op[0]
                res: Any = None
                if tag == _SEND:
                    try:
                        res = await (self._send(op[1].request) if send is None else send(op[1]))
                    except httpx.TransportError:
                        pass
                elif tag == _STEP:
                    res = await self._step(st, resource, op[1])  # type: ignore[arg-type]
                elif tag == _WAIT:
                    # A call holds a slot while it steps and sends, not while it waits: a send
                    # the core allowed goes out at once instead of queueing for a connection.
                    slots.release()
                    holding = False
                    await self._sleep(resource, op[1], op[2])
                    await slots.acquire()
                    holding = True
                elif tag == _SET:
                    try:
                        # step.stored goes straight to the store: no local holds the tokens.
                        await _maybe_await(self.store.set(resource, op[1].stored))
                    except Exception as exc:
                        res = exc
                elif tag == _SLOT:
                    await slots.acquire()
                    holding = True
                elif tag == _MINT:
                    # The mint call takes its own slot: this one's is given back meanwhile.
                    if holding:
                        slots.release()
                        holding = False
                    res = await self._run_mint(op[1], op[2])
                    await slots.acquire()
                    holding = True
                else:  # _LOAD
                    await self._ensure_loaded(resource)
                op = loop.send(res)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            # Every way out of an unfinished call (cancellation, a timeout, a bug) aborts it:
            # no lease, save or rate-limit slot stays held.
            loop.close()
            try:
                if st is not None and not st.call.is_finished:
                    # A timeout or a cancellation: release what the call holds for every process.
                    try:
                        turn = self._txn_locks.get(resource)
                        if turn is not None and turn.locked():  # busy: do not wait for the turn
                            raise TimeoutError
                        await asyncio.wait_for(self._io(self._abort_txn(st, resource), resource), 1.0)
                        self._account(st.call, True)
                    except Exception:  # the store is gone too: released below, here at least
                        pass
                    self._wake(resource)
            finally:
                self._abort(st.call if st is not None else call, resource)
                if holding:
                    slots.release()

    async def _run_mint(self, company: str, location: str) -> _Event:
        """As :meth:`Client._run_mint` (the location call's timeout, if any, covers it)."""
        from ._errors import HoopAuthError

        try:
            if self.shared is not None:
                resp = await self._run_shared(_SharedCall(lambda: self._mint_call(company, location)), company)
            else:
                resp = await self._run(self._mint_call(company, location), company)
        except HoopAuthError as exc:
            return self._mint_answer(None, exc)
        return self._mint_answer(resp, None)

    async def _run_token(self, resource: str) -> None:
        if self.shared is not None:
            await self._run_shared(_SharedCall(self._token_call), resource)
        else:
            await self._run(self._token_call(), resource)

    async def handle_webhook(self, body: Union[bytes, str], headers: Any) -> Tuple[int, str]:
        """As :meth:`Client.handle_webhook`, awaitable."""
        from ._errors import HoopAuthError

        flow = self._webhook_flow(body, headers)
        applying = False  # past verification: the delivery is marked as seen
        try:
            op = next(flow)
            while True:
                tag = op[0]
                res: Any = None
                applying = applying or tag not in (_W_NOW, _W_SEEN)
                if tag == _W_NOW:
                    res = await self._clock()
                elif tag == _W_SEEN:
                    try:
                        res = bool(await _maybe_await(self.shared.seen_first(op[1], op[2])))
                    except Exception as exc:
                        raise self._shared_error(exc) from exc
                elif tag == _W_LOAD:
                    if self.shared is not None:
                        await self._put(op[1], None)
                    else:
                        await self._ensure_loaded(op[1])
                elif tag == _W_FORGET:
                    res = await self.forget(op[1])
                elif tag == _W_EXPECT:
                    res = await self._expect_minted(op[1], op[2])
                else:  # _W_TOKEN
                    try:
                        await self._run_token(op[1])
                    except HoopAuthError as exc:
                        res = exc
                op = flow.send(res)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except BaseException as exc:
            # Applying failed (a cancellation too): un-mark the delivery (best effort; the
            # original error wins) so the platform's retry is handled in full.
            if applying:
                try:
                    wid, forget_seen = self._webhook_unmark(body)
                    if wid is not None and forget_seen is not None:
                        await _maybe_await(forget_seen(wid))
                except Exception:
                    pass
            answer = self._webhook_failure(exc)
            if answer is None:
                raise
            return answer

    async def _expect_minted(self, location: str, company: str) -> bool:
        if self.shared is not None:
            await self._put(location, lambda: self.pool.expect_minted(location, company))
            with self._lock:
                return not self.pool.has_session(location)
        await self._ensure_loaded(location)
        with self._lock:
            return self.pool.expect_minted(location, company)

    # -- coordinated mode -----------------------------------------------------------------
    async def _store_op(self, name: str, *args: Any) -> Any:
        fn = getattr(self.shared, name)
        if self._shared_async:
            return await fn(*args)
        return await asyncio.to_thread(fn, *args)

    async def _io(self, txn: _Txn, resource: str) -> Any:
        """Run a store transaction (see ``_DriverBase._call_txn``) against the shared store.
        This process's transactions on one resource take turns (a lock per resource), so
        only other processes race for the record."""
        lock = self._txn_locks.get(resource)
        if lock is None:
            lock = self._txn_locks[resource] = asyncio.Lock()
        async with lock:
            return await self._io_locked(txn, resource)

    async def _io_locked(self, txn: _Txn, resource: str) -> Any:
        op = next(txn)
        while True:
            try:
                if op == _READ:
                    self.stats.store_reads += 1
                    res = await self._store_op("read", resource)
                elif isinstance(op, float):
                    await asyncio.sleep(op)
                    res = None
                else:
                    res = await self._store_op("cas", resource, op[0], op[1])
            except Exception as exc:
                op = txn.throw(self._shared_error(exc))
                continue
            except BaseException as exc:
                txn.throw(exc)
                raise
            try:
                op = txn.send(res)
            except StopIteration as stop:
                return stop.value

    async def _step(self, st: _SharedCall, resource: str, event: _Event) -> Step:
        step, _now = await self._io(self._call_txn(st, resource, event), resource)
        return step  # type: ignore[no-any-return]

    async def _run_shared(self, st: _SharedCall, resource: str) -> httpx.Response:
        return await self._drive(self._call_loop(st.call, resource, st), st.call, st, resource)

    async def _clock(self) -> int:
        """Now: the shared store's clock in coordinated mode, else this process's."""
        if self.shared is not None:
            try:
                return int(await self._store_op("now_ms"))
            except Exception as exc:
                raise self._shared_error(exc) from exc
        return self._now()

    async def _put(self, resource: str, put: Any) -> bool:
        return bool(await self._io(self._put_txn(resource, put), resource))

    async def forget(self, resource_id: str) -> bool:
        """As :meth:`Client.forget`, awaitable (coordinated mode empties the shared record)."""
        if self.shared is not None:
            had = self.pool.has_session(resource_id)
            await self._put(resource_id, lambda: self.pool.forget(resource_id))
            return had
        had = self._forget_local(resource_id)
        await _maybe_await(self._store_delete(resource_id))
        if self._watched():
            self._emit("forget", resource_id)
        return had

    async def _run_timed(self, call: Any, resource: str, timeout: Any) -> httpx.Response:
        run = self._run_shared if isinstance(call, _SharedCall) else self._run
        if timeout is None:
            return await run(call, resource)
        seconds = _seconds(timeout, "timeout")
        try:
            if _asyncio_timeout is not None:
                async with _asyncio_timeout(seconds):
                    return await run(call, resource)
            return await asyncio.wait_for(run(call, resource), seconds)
        except asyncio.TimeoutError:
            raise _timed_out(timeout) from None

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
        timeout: Optional[float] = None,
        **call_options: Any,
    ) -> httpx.Response:
        """As :meth:`Client.request`, awaitable. ``timeout`` (seconds) bounds the whole call;
        past it the call is aborted and ``TimeoutError`` raised. Cancelling the task aborts
        the call the same way (nothing stays held)."""
        resource = _resource(location_id, company_id, resource_id)
        call = self._new_call(method, path, params, json, call_options)
        if self.shared is not None:
            st = _SharedCall(lambda: self._new_call(method, path, params, json, call_options))
            return await self._run_timed(st, resource, timeout)
        return await self._run_timed(call, resource, timeout)

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
        req = self.config.exchange_code_request(
            code.code if isinstance(code, Callback) else code, user_type=user_type
        )
        del code  # the (single-use) code stays out of this frame's locals
        sent = await self._clock()
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
        if self.shared is not None:
            await self._put(company_id, None)
        else:
            await self._ensure_loaded(company_id)
        with self._lock:
            agency = self.pool.token_set(company_id)
        if agency is None:
            from ._errors import UnauthorizedError

            raise UnauthorizedError("no tokens for the company: authorize the app for it first", reauthorize=True)
        req = self.config.location_token_request(agency.access_token, company_id, location_id)
        sent = await self._clock()
        resp = await self._send(req)
        tokens = parse_token_response(resp.status_code, resp.content, sent, resp.headers)
        if self.shared is not None:
            await self._put(location_id, lambda: self.pool.load_minted(location_id, company_id, tokens))
        else:
            with self._lock:
                self.pool.load_minted(location_id, company_id, tokens)
            await self._save(location_id)
        return tokens

    async def load_tokens(self, tokens: TokenSet, resource_id: Optional[str] = None) -> str:
        """As :meth:`Client.load_tokens`, awaitable."""
        if self.shared is not None:
            rid = _tokens_resource(tokens, resource_id)
            await self._put(rid, lambda: self.pool.load_tokens(tokens, rid))
            return rid
        rid = self._load_tokens_locked(tokens, resource_id)
        await self._save(rid)
        return rid

    async def use_private_token(self, resource_id: str, token: str) -> None:
        """Use a private-integration token for ``resource_id``."""
        if self.shared is not None:
            await self._put(resource_id, lambda: self.pool.load_private(resource_id, token))
            return
        with self._lock:
            self.pool.load_private(resource_id, token)
        await self._save(resource_id)

    async def _save(self, resource: str) -> None:
        try:
            await _maybe_await(self.store.set(resource, self._stored(resource)))
        except Exception as exc:
            raise self._store_failed(resource, exc) from exc
        except BaseException:  # cancelled: kept in memory, unsaved
            self._end_save(resource, False)
            raise
        if self._watched():
            self._emit("saved", resource)

    async def flush(self) -> List[str]:
        """As :meth:`Client.flush`, awaitable. Cancelled midway, the resource being saved
        stays unsaved (the next call or flush saves it)."""
        saved: List[str] = []
        failure: Optional[BaseException] = None
        if self.shared is not None:
            for resource in self._unsaved():
                try:
                    if await self._put(resource, None):
                        saved.append(resource)
                except Exception as exc:
                    failure = failure or exc
            if failure is not None:
                raise failure
            return saved
        for resource in self._unsaved():
            if not self._begin_save(resource):
                continue  # a call is saving it right now
            ok = False
            try:
                await _maybe_await(self.store.set(resource, self._stored(resource)))
                ok = True
                saved.append(resource)
                if self._watched():
                    self._emit("saved", resource)
            except Exception as exc:
                failure = failure or exc
                if self._watched():
                    self._emit("save_failed", resource, error=type(exc).__name__)
            finally:
                self._end_save(resource, ok)
        if failure is not None:
            from ._errors import StoreError

            raise StoreError(
                f"the token store failed ({type(failure).__name__}); the tokens stay in memory, unsaved",
                kind="store_error",
            ) from failure
        return saved

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
