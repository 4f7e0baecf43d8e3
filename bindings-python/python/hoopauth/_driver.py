"""What the sync and async httpx drivers share: the pool, the store, the counters.

The call loop is written once, sans-IO: :meth:`_DriverBase._call_loop` steps the core's call
state machine (``Pool.start`` / ``resume`` / ``response`` / ``transport_error`` /
``persist_failed``) and yields I/O intents (send, save, sleep, take a slot, load from the
store, run a store transaction); :class:`hoopauth.Client` and :class:`hoopauth.AsyncClient`
each drive it with their own I/O and ``abort`` every call they leave unfinished. The core
decides pacing, refresh, retry, saving and errors; the drivers only send, sleep, persist and
raise. Events go to the ``hoopauth`` logger (DEBUG) and an optional ``on_event`` hook.

Secrets: the loops never bind a token or a stored session to a local across a call that can
raise (the store's ``set``, a send): error trackers capture frame locals.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Generator, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from ._hoopauth import (
    Call,
    Config,
    Limits,
    Pool,
    Step,
    TokenSet,
    Verification,
    WebhookKey,
    WebhookPlan,
    WebhookVerifier,
    parse_webhook_event,
    webhook_reads,
)
from ._store import AnyTokenStore, MemoryTokenStore

__all__ = ["DriverStats", "now_ms"]

_rng = random.Random()

#: The ``hoopauth`` logger: every event of a call at DEBUG (nothing above DEBUG on the hot
#: path). Messages and arguments carry only ids, names, statuses and timings — never a
#: token, a secret, a code or a stored session.
log = logging.getLogger("hoopauth")
_DEBUG = logging.DEBUG

#: A driver event: a small dict with ``event`` (its name) and ``resource``, plus per event:
#: ``call_start`` (method, path), ``wait`` (reason, ms), ``send`` / ``refresh_sent`` (method,
#: path), ``answer`` / ``refresh_answered`` (status, ms), ``persist`` / ``persist_saved`` /
#: ``persist_failed`` (error: the exception's class name), ``call_done`` (status, ms),
#: ``call_failed`` (kind, ms), ``transport_error`` (ms), ``abort``, ``store_lost_race``
#: (attempt), ``mint`` (company: a minted location token came due and is minted again) /
#: ``minted`` (status); outside calls: ``saved`` / ``save_failed`` (``load_tokens``,
#: ``flush``), ``forget``, ``webhook`` (type, status, reason) and ``mint_failed`` (kind).
Event = Dict[str, Any]
EventHook = Callable[[Event], None]


def now_ms() -> int:
    """Unix time in milliseconds (what every time-dependent core call takes)."""
    return time.time_ns() // 1_000_000


def _rand() -> int:
    return _rng.getrandbits(64)


@dataclass
class DriverStats:
    """Counters over every call a client made."""

    calls: int = 0
    sends: int = 0
    refreshes: int = 0
    rate_limited: int = 0
    transport_errors: int = 0
    failures: int = 0
    #: Coordinated mode: store reads, compare-and-set writes, and writes lost to another
    #: process (the step was taken again on the winner's state).
    store_reads: int = 0
    store_writes: int = 0
    lost_races: int = 0

    def to_dict(self) -> Dict[str, int]:
        return asdict(self)


def _invalid(message: str) -> Exception:
    from ._errors import InvalidArgumentError

    return InvalidArgumentError(message, kind="invalid_argument")


_MAX_SECONDS = 10 * 366 * 86_400  # ten years: beyond that a timeout is a mistake


def _seconds(value: Any, name: str) -> float:
    """A positive finite number of seconds, at most ten years (``invalid_argument`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"{name} must be a number of seconds")
    if isinstance(value, int) and not 0 < value <= _MAX_SECONDS:
        raise _invalid(f"{name} must be a positive number of seconds, at most {_MAX_SECONDS}")
    v = float(value)
    if not math.isfinite(v) or not 0 < v <= _MAX_SECONDS:
        raise _invalid(f"{name} must be a positive finite number of seconds, at most {_MAX_SECONDS}")
    return v


def _count(value: Any, name: str) -> int:
    """A positive whole number (``invalid_argument`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 1_000_000:
        raise _invalid(f"{name} must be a whole number from 1 to 1000000")
    return int(value)


def _deadline(timeout: Any) -> Optional[float]:
    """The monotonic deadline of a per-call ``timeout=`` (seconds), or ``None``."""
    if timeout is None:
        return None
    return time.monotonic() + _seconds(timeout, "timeout")


def _timed_out(timeout: Any) -> TimeoutError:
    return TimeoutError(f"hoopauth: the call did not finish within timeout={timeout!r} s")


def _resource(location_id: Optional[str], company_id: Optional[str], resource_id: Optional[str]) -> str:
    given = [r for r in (location_id, company_id, resource_id) if r is not None]
    if len(given) != 1:
        from ._errors import InvalidArgumentError

        raise InvalidArgumentError(
            "give exactly one of location_id, company_id or resource_id", kind="invalid_argument"
        )
    return given[0]


class _DriverBase:
    def __init__(
        self,
        config: Config,
        *,
        store: Optional[AnyTokenStore] = None,
        limits: Optional[Limits] = None,
        refresh_leeway_ms: Optional[int] = None,
        lease_ms: Optional[int] = None,
        call_options: Optional[Dict[str, int]] = None,
        shared: Any = None,
        keys: Optional[Sequence[bytes]] = None,
        on_event: Optional[EventHook] = None,
        webhook_key: Union[str, WebhookKey, None] = None,
        webhook_max_age_ms: Optional[int] = None,
    ) -> None:
        if not isinstance(config, Config):
            raise TypeError("config must be a hoopauth.Config")
        self.config = config
        self.pool: Pool = Pool(config, limits=limits, refresh_leeway_ms=refresh_leeway_ms, lease_ms=lease_ms)
        if shared is not None and store is not None:
            raise _invalid("give either store= (one process) or shared= (coordinated mode), not both")
        if keys is not None and shared is None:
            raise _invalid("keys= seal the records of a shared store: give shared= too")
        #: Coordinated mode: the shared store (see :mod:`hoopauth.shared`), or ``None``.
        self.shared = shared
        if shared is not None:
            for name in ("read", "cas", "delete", "now_ms"):
                if not callable(getattr(shared, name, None)):
                    raise TypeError(f"shared= must be a shared store (hoopauth.shared): it has no {name}()")
        self.pool.set_keys(list(keys) if keys is not None else None)
        # Coordinated mode: each resource's record as last read or written (as stored,
        # sealed when keys are set), to write back what a store lost (a restart without
        # persistence, an expired key) instead of forgetting the tokens and the window.
        self._records: Dict[str, str] = {}
        #: The token store (one process): ``get``/``set``/``delete`` per resource.
        self.store: Any = store if store is not None else MemoryTokenStore()
        # This process's own clock (tests shift it to play a host whose clock is off); in
        # coordinated mode every shared decision uses the store's clock instead.
        self._now: Callable[[], int] = now_ms
        self.stats: DriverStats = DriverStats()
        self._call_options: Dict[str, Any] = dict(call_options or {})
        Call("GET", "/", **self._call_options)  # bad options fail here, not on the first call
        # Guards the pool (native state): held only around a step, never during I/O.
        self._lock = threading.Lock()
        # Per-resource wake-up counter, bumped whenever something a waiting call may be
        # waiting for happens (an answer, a transport error, a save, an abort).
        self._gen: Dict[str, int] = {}
        if on_event is not None and not callable(on_event):
            raise TypeError("on_event must be callable")
        self._on_event = on_event
        # Webhooks (handle_webhook): the core checks signature and age; duplicates are this
        # verifier's memory, or in coordinated mode the shared store's seen-keys.
        self._verifier = WebhookVerifier(
            webhook_key, max_age_ms=webhook_max_age_ms, seen_capacity=0 if shared is not None else None
        )

    # -- events ---------------------------------------------------------------------------
    def _watched(self) -> bool:
        """Whether anyone listens (an ``on_event`` hook or the logger at DEBUG)."""
        return self._on_event is not None or log.isEnabledFor(_DEBUG)

    def _emit(self, event: str, resource: str, **fields: Any) -> None:
        """Report one event (only ids, names, statuses and timings: never a secret)."""
        if log.isEnabledFor(_DEBUG):
            log.debug(
                "hoopauth %s resource=%s%s",
                event,
                resource[:64],
                "".join(f" {k}={v}" for k, v in fields.items()),
            )
        hook = self._on_event
        if hook is not None:
            ev: Event = {"event": event, "resource": resource}
            ev.update(fields)
            try:
                hook(ev)
            except Exception:  # a broken hook must not break calls
                log.debug("hoopauth on_event hook raised", exc_info=True)

    # -- the call loop --------------------------------------------------------------------
    def _call_loop(self, call: Call, resource: str, st: "Optional[_SharedCall]" = None) -> "_Loop":
        """The one call loop, sans-IO: steps the core's call state machine and yields what
        the driver must do — ``(_LOAD,)`` (load the store's tokens for the resource if none
        are held), ``(_SLOT,)`` (take an in-flight slot), ``(_SEND, step)`` (send ``step.request``; answer: the
        response, or ``None`` after a transport error), ``(_SET, step)`` (save ``step.stored`` to the store;
        answer: ``None`` or the store's exception), ``(_WAIT, ms, reason, gen)`` (give the
        slot back, sleep — woken early for ``_WAKE_EARLY`` reasons when the resource's wake
        counter moves past ``gen`` — and take a slot again), ``(_STEP, event)`` (coordinated
        mode: run the store transaction of one step; answer: the step), ``(_MINT, company,
        location)`` (run the mint call ``Call.location_token`` on the company; answer:
        :meth:`_mint_answer`). Returns the last API response (``None`` for a token call). :class:`Client` and :class:`AsyncClient` each drive it with their own
        I/O; aborting an unfinished call stays with them (it is I/O in coordinated mode)."""
        pool, lock, gens, stats = self.pool, self._lock, self._gen, self.stats
        watched = self._watched()
        t0 = now_ms() if watched else 0
        if watched:
            self._emit("call_start", resource, method=call.method, path=call.path)
        if st is None:
            yield _LOAD_OP
        yield _SLOT_OP
        gen = gens.get(resource, 0)
        if st is not None:
            step: Step = yield (_STEP, ("start",))
        else:
            with lock:
                step = pool.start(call, resource, now_ms(), _rand())
        last: Any = None
        while True:
            kind = step.kind
            if kind == "send" or kind == "send_refresh":
                if watched:
                    req = step.request
                    assert req is not None
                    self._emit("send" if kind == "send" else "refresh_sent", resource, method=req.method, path=urlsplit(req.url).path)
                    sent = now_ms()
                resp = yield (_SEND, step)
                gen = gens.get(resource, 0)
                if resp is None:  # a transport error
                    if watched:
                        self._emit("transport_error", resource, ms=now_ms() - sent)
                    if st is not None:
                        with lock:
                            stats.transport_errors += 1
                        step = yield (_STEP, ("transport_error",))
                    else:
                        with lock:
                            stats.transport_errors += 1
                            step = pool.transport_error(call, resource, now_ms(), _rand())
                    self._wake(resource)
                    continue
                # Report the answer at once: the core frees its rate-limit slot now.
                if st is not None:
                    step = yield (_STEP, ("response", resp.status_code, resp.headers, resp.content))
                else:
                    with lock:
                        step = pool.response(call, resource, resp.status_code, resp.headers, resp.content, now_ms(), _rand())
                self._wake(resource)
                if watched:
                    self._emit("answer" if kind == "send" else "refresh_answered", resource, status=resp.status_code, ms=now_ms() - sent)
                if kind == "send":
                    last = resp
                    if resp.status_code == 429:
                        stats.rate_limited += 1
            elif kind == "persist":
                if watched:
                    self._emit("persist", resource)
                if st is None:
                    # step.stored goes straight to the store: no local holds the tokens.
                    exc = yield (_SET, step)
                    if exc is not None:
                        with lock:
                            step = pool.persist_failed(call, resource, now_ms(), _rand())
                        self._wake(resource)
                        self._account(call, True)
                        if watched:
                            self._emit("persist_failed", resource, error=type(exc).__name__)
                        raise step.error() from exc  # type: ignore[misc]
                # (coordinated mode: the transaction's write saved it.)
                if watched:
                    self._emit("persist_saved", resource)
                gen = gens.get(resource, 0)
                if st is not None:
                    step = yield (_STEP, ("resume",))
                else:
                    with lock:
                        step = pool.resume(call, resource, now_ms(), _rand())
                self._wake(resource)
            elif kind == "mint":
                # A minted location token came due: the company's own call mints a new one
                # (its token, its lease, its pacing); its answer is fed back to this call.
                if watched:
                    self._emit("mint", resource, company=step.company_id)
                res = yield (_MINT, step.company_id, step.location_id)
                gen = gens.get(resource, 0)
                if st is not None:
                    step = yield (_STEP, res)
                else:
                    with lock:
                        if res[0] == "response":
                            step = pool.response(call, resource, res[1], res[2], res[3], now_ms(), _rand())
                        else:
                            step = pool.mint_failed(call, resource, res[1], res[2], now_ms(), _rand())
                self._wake(resource)
                if watched:
                    self._emit("minted", resource, status=res[1] if res[0] == "response" else None)
            elif kind == "wait":
                wait_ms = step.wait_ms or 0
                if watched:
                    self._emit("wait", resource, reason=step.reason, ms=wait_ms)
                yield (_WAIT, wait_ms, step.reason, gen)
                gen = gens.get(resource, 0)
                if st is not None:
                    step = yield (_STEP, ("resume",))
                else:
                    with lock:
                        step = pool.resume(call, resource, now_ms(), _rand())
            elif kind == "done":
                self._account(st.call if st is not None else call, False)
                if watched:
                    self._emit("call_done", resource, status=getattr(last, "status_code", None), ms=now_ms() - t0)
                return last  # None for a token call (Call.token): nothing was sent
            else:
                self._account(st.call if st is not None else call, True)
                err = step.error()
                if watched:
                    self._emit("call_failed", resource, kind=getattr(err, "kind", type(err).__name__), ms=now_ms() - t0)
                raise err  # type: ignore[misc]

    def _new_call(
        self, method: str, path: str, params: Any, json: Any, options: Dict[str, int]
    ) -> Call:
        opts: Dict[str, Any] = dict(self._call_options)
        opts.update(options)
        return Call(method, path, query=params, json=json, **opts)

    def _abort(self, call: Call, resource: str) -> None:
        """End an unfinished call: frees its refresh lease, a save under way (the tokens stay
        unsaved for the next call) and its rate-limit slot. Idempotent."""
        if call.is_finished:
            return
        if self._watched():
            self._emit("abort", resource)
        with self._lock:
            self.pool.abort(call, resource, self._now())
        self._account(call, True)
        self._wake(resource)

    def _wake(self, resource: str) -> None:  # pragma: no cover - overridden
        pass

    def _stored(self, resource: str) -> str:
        with self._lock:
            stored = self.pool.stored_json(resource)
        if stored is None:
            raise KeyError(resource)
        return stored

    def _unsaved(self) -> "list[str]":
        with self._lock:
            return self.pool.unsaved_resources()

    def _begin_save(self, resource: str) -> bool:
        with self._lock:
            return self.pool.begin_save(resource) is not None

    def _end_save(self, resource: str, saved: bool) -> None:
        with self._lock:
            self.pool.end_save(resource, saved)
        self._wake(resource)

    def _load_stored(self, resource: str, stored: Optional[str]) -> None:
        if stored is not None:
            with self._lock:
                if not self.pool.has_session(resource):
                    self.pool.load_stored(resource, stored)

    def _store_failed(self, resource: str, exc: BaseException) -> Exception:
        """After a direct save (``load_tokens``, ``flush``) raised: the tokens stay in memory,
        marked unsaved (the next call saves them first)."""
        from ._errors import StoreError

        with self._lock:
            self.pool.end_save(resource, False)
        self._wake(resource)
        if self._watched():
            self._emit("save_failed", resource, error=type(exc).__name__)
        return StoreError(
            f"the token store failed to save resource `{resource[:64]}` ({type(exc).__name__}); "
            "the tokens are kept in memory and saved by the next call or flush()",
            kind="store_error",
        )

    def is_unsaved(self, resource_id: str) -> bool:
        """Whether this process holds tokens for ``resource_id`` that its store does not."""
        with self._lock:
            return self.pool.is_unsaved(resource_id)

    def _account(self, call: Call, failed: bool) -> None:
        s = call.stats
        with self._lock:
            self.stats.calls += 1
            self.stats.sends += s["sends"]
            self.stats.refreshes += s["refreshes"]
            if failed:
                self.stats.failures += 1

    def _load_tokens_locked(self, tokens: TokenSet, resource_id: Optional[str]) -> str:
        with self._lock:
            return self.pool.load_tokens(tokens, resource_id)

    def token_set(self, resource_id: str) -> Optional[TokenSet]:
        """The current token set of a resource (``None`` without OAuth tokens)."""
        with self._lock:
            return self.pool.token_set(resource_id)

    def _forget_local(self, resource_id: str) -> bool:
        """Drop a resource's session and pacing state from memory."""
        with self._lock:
            return self.pool.forget(resource_id)

    # -- minted location sessions and webhooks --------------------------------------------
    def _mint_call(self, company: str, location: str) -> Call:
        return Call.location_token(company, location, **self._call_options)

    def _token_call(self) -> Call:
        return Call.token(**self._call_options)

    @staticmethod
    def _mint_answer(resp: Any, exc: Optional[BaseException]) -> _Event:
        """What the mint call's end means to the location's call: its answer
        (``("response", status, headers, body)``) or its error (``("mint_failed", kind,
        message)``)."""
        if exc is None:
            return ("response", resp.status_code, resp.headers, resp.content)
        kind = getattr(exc, "kind", None)
        return ("mint_failed", kind if isinstance(kind, str) else "server_error", str(exc))

    def _webhook_flow(self, body: Any, headers: Any) -> "_Flow":
        """One webhook delivery end to end, sans-IO (the rule is the core's: ``WebhookPlan``):
        verify (signature, age, duplicate ``webhookId`` — the store's seen-keys in coordinated
        mode), parse, load what the plan reads, forget and mint, and return ``(status,
        reason)``. Yields ``(_W_NOW,)`` (answer: now), ``(_W_SEEN, id, ttl_ms)`` (answer: first
        time seen), ``(_W_LOAD, resource)``, ``(_W_FORGET, resource)`` (answer: whether it
        held tokens), ``(_W_EXPECT, location, company)`` (answer: whether a mint is needed),
        ``(_W_TOKEN, location)`` (run a token call; answer: ``None`` or its error)."""
        now = yield (_W_NOW,)
        with self._lock:
            v: Verification = self._verifier.verify(body, headers, now)
            max_age = self._verifier.max_age_ms
        if v.valid and self.shared is not None:
            wid = _webhook_id(body)
            if wid is not None and not (yield (_W_SEEN, wid, 2 * max_age)):
                v = Verification.duplicate()
        answer = WebhookPlan.rejected(v.reason)
        if answer is None:
            answer = yield from self._webhook_apply(body)
        if self._watched():
            self._emit("webhook", "", status=answer[0], reason=answer[1])
        return answer

    def _webhook_apply(self, body: Any) -> "_Flow":
        from ._errors import HoopAuthError

        try:
            reads = webhook_reads(body)
        except HoopAuthError:
            return WebhookPlan.malformed()
        for resource in reads:
            yield (_W_LOAD, resource)
        with self._lock:
            plan = self.pool.plan_webhook(body)
        changed = 0
        for resource in plan.forget:
            if (yield (_W_FORGET, resource)):
                changed += 1
        company = plan.company_id
        for location in plan.mint if company is not None else []:
            if (yield (_W_EXPECT, location, company)):
                err = yield (_W_TOKEN, location)
                if err is None:
                    changed += 1
                elif self._watched():
                    # The location stays marked as minted: its first call mints again.
                    self._emit("mint_failed", location, kind=getattr(err, "kind", type(err).__name__))
        return plan.reply(changed)

    def _webhook_unmark(self, body: Any) -> Tuple[Optional[str], Any]:
        """After applying a delivery failed: un-mark it in this verifier's memory, or return
        ``(webhook_id, store.forget_seen)`` for the driver to call in coordinated mode
        (``None`` when the store has no ``forget_seen``: the mark stays)."""
        wid = _webhook_id(body)
        if wid is None:
            return None, None
        if self.shared is not None:
            return wid, getattr(self.shared, "forget_seen", None)
        with self._lock:
            self._verifier.forget_seen(wid)
        return None, None

    def _webhook_failure(self, exc: BaseException) -> Optional[Tuple[int, str]]:
        """The answer to a delivery whose handling raised ``exc``: ``(503, "store_unavailable")``
        for a store error, else ``None`` (the error is raised)."""
        from ._errors import HoopAuthError

        if not isinstance(exc, HoopAuthError) or exc.kind not in ("store_unavailable", "store_error"):
            return None
        if self._watched():
            self._emit("webhook", "", status=503, reason="store_unavailable")
        return (503, "store_unavailable")

    def _store_delete(self, resource_id: str) -> Any:
        """The token store's ``delete`` (a store without one keeps the record: a warning)."""
        delete = getattr(self.store, "delete", None)
        if delete is None:
            log.warning("hoopauth: the token store has no delete(): forget() left its record in place")
            return None
        return delete(resource_id)

    # -- coordinated mode -----------------------------------------------------------------
    # Every step of a call is a transaction on the shared store (notes: FLEET.md): read the
    # resource's record (and the store's clock), load it, step, export; a changed record is
    # compare-and-set, and a lost race takes the step again from a copy of the call on the
    # winner's state. The generators below are that transaction, sans-IO: they yield
    # ``_READ`` (answer: ``(rev, data, now_ms)``), ``(rev, record)`` (answer: the
    # compare-and-set's bool) or a float (sleep that many seconds: the random pause after a
    # lost write), and the store's exceptions are thrown into them. The sync and
    # async drivers run them with their own I/O (:meth:`Client._io` / :meth:`AsyncClient._io`).

    def _call_txn(self, st: "_SharedCall", resource: str, event: "_Event") -> "_Txn":
        """One step of a call; returns ``(step, now_ms)``."""
        pool, lock = self.pool, self._lock
        for attempt in range(_MAX_ATTEMPTS):
            try:
                rev, data, now = yield _READ
            except BaseException:
                self._abort(st.call, resource)  # nothing is held: the record was not changed
                raise
            try:
                with lock:
                    self._load_record(resource, data)  # a sealed record without its key raises
                    snapshot = (st.call.copy(), st.refresh_fp)
                    step = self._feed(st, resource, event, now, data)
                    record = pool.export_shared(resource, os.urandom(24))
            except BaseException:
                self._abort(st.call, resource)
                raise
            if record is None:
                return step, now
            try:
                ok = yield (rev, record)
            except BaseException as exc:
                if step.kind == "persist":
                    # The only copy of these tokens is ours: they stay in memory, unsaved,
                    # and the next call (or flush) writes them first.
                    with lock:
                        pool.persist_failed(st.call, resource, now, _rand())
                    self._account(st.call, True)
                    self._wake(resource)
                    if isinstance(exc, Exception):
                        raise _unavailable_after_persist(resource, exc) from exc
                    raise
                st.call, st.refresh_fp = snapshot
                self._abort(st.call, resource)
                raise
            if ok:
                with lock:
                    self.stats.store_writes += 1
                    self._records[resource] = record
                    pool.shared_written(resource)
                return step, now
            st.call, st.refresh_fp = snapshot
            with lock:
                self.stats.lost_races += 1
            if self._watched():
                self._emit("store_lost_race", resource, attempt=attempt + 1)
            yield _backoff(attempt)
        self._abort(st.call, resource)
        raise _contention(resource)

    def _load_record(self, resource: str, data: Optional[str]) -> None:
        """Load the record read from the store (under the lock). A record the store lost
        (restarted without persistence, expired) is not taken as "no tokens": this process's
        last copy is loaded instead and its tokens marked unsaved, so the next write puts
        them (and the pacing window) back. :meth:`forget` writes an empty record instead of
        deleting, so a forgotten resource stays forgotten."""
        pool = self.pool
        if data is None:
            kept = self._records.get(resource)
            if kept is not None:
                pool.load_shared(resource, kept)
                if pool.has_session(resource):
                    pool.end_save(resource, False)
                return
        pool.load_shared(resource, data)
        if data is not None:
            self._records[resource] = data

    def _feed(self, st: "_SharedCall", resource: str, event: "_Event", now: int, data: Optional[str]) -> Step:
        """Step ``st.call`` with ``event`` at ``now`` (under the lock, the record loaded)."""
        pool = self.pool
        kind = event[0]
        if kind == "response" and st.refresh_fp is not None and _fingerprint(pool, resource) != st.refresh_fp:
            # The answer to this call's refresh came back, but the store's tokens are no longer
            # the ones it refreshed: another process refreshed meanwhile (this call's lease ran
            # out). Its tokens are at least as new as any answer to the spent refresh token —
            # an invalid_grant (past the grace), or the same pair, or an older one than a
            # second rotation since — so the answer is moot: adopt the store's tokens. The
            # stale call ends here (its local release is undone by loading the record again)
            # and the request starts again as a new call. (The rule belongs in the core: a
            # call that remembered the refresh token it sent could ignore the answer itself.)
            pool.abort(st.call, resource, now)
            self._load_record(resource, data)
            st.call = st.make()
            st.adopted += 1
            kind, event = "start", ("start",)
        call = st.call
        if kind == "start":
            step = pool.start(call, resource, now, _rand())
        elif kind == "resume":
            step = pool.resume(call, resource, now, _rand())
        elif kind == "response":
            step = pool.response(call, resource, event[1], event[2], event[3], now, _rand())
        elif kind == "transport_error":
            step = pool.transport_error(call, resource, now, _rand())
        elif kind == "mint_failed":
            step = pool.mint_failed(call, resource, event[1], event[2], now, _rand())
        else:  # pragma: no cover - the drivers send only these
            raise AssertionError(kind)
        st.refresh_fp = _fingerprint(pool, resource) if step.kind == "send_refresh" else None
        return step

    def _abort_txn(self, st: "_SharedCall", resource: str) -> "_Txn":
        """End an unfinished call through the store (a timeout, a cancellation): its refresh
        lease and its rate-limit slot are released for every process, not only in this one
        (where they would stay held in the record until the lease or the answer timeout)."""
        pool, lock = self.pool, self._lock
        for attempt in range(_MAX_ATTEMPTS):
            rev, data, now = yield _READ
            with lock:
                self._load_record(resource, data)
                snapshot = st.call.copy()
                pool.abort(st.call, resource, now)
                record = pool.export_shared(resource, os.urandom(24))
            if record is None:
                return None
            ok = yield (rev, record)
            if ok:
                with lock:
                    self.stats.store_writes += 1
                    self._records[resource] = record
                    pool.shared_written(resource)
                return None
            st.call = snapshot
            with lock:
                self.stats.lost_races += 1
            if self._watched():
                self._emit("store_lost_race", resource, attempt=attempt + 1)
            yield _backoff(attempt)
        raise _contention(resource)

    def _put_txn(self, resource: str, put: Optional[Callable[[], Any]]) -> "_Txn":
        """Write this process's state of ``resource`` through the store: ``put`` (load tokens)
        on the record, or, with ``None``, just its unsaved tokens (a flush). On failure the
        tokens stay in memory, unsaved. Returns whether a record was written."""
        pool, lock = self.pool, self._lock
        for attempt in range(_MAX_ATTEMPTS):
            try:
                rev, data, now = yield _READ
            except BaseException:
                if put is not None:  # the store is away: keep the tokens here, unsaved
                    with lock:
                        put()
                        pool.end_save(resource, False)
                    self._wake(resource)
                raise
            with lock:
                self._load_record(resource, data)
                if put is not None:
                    put()
                record = pool.export_shared(resource, os.urandom(24))
            if record is None:
                return False
            try:
                ok = yield (rev, record)
            except BaseException:
                with lock:
                    pool.end_save(resource, False)  # kept in memory, unsaved
                self._wake(resource)
                raise
            if ok:
                with lock:
                    self.stats.store_writes += 1
                    self._records[resource] = record
                    pool.shared_written(resource)
                self._wake(resource)
                return True
            with lock:
                self.stats.lost_races += 1
            if self._watched():
                self._emit("store_lost_race", resource, attempt=attempt + 1)
            yield _backoff(attempt)
        raise _contention(resource)

    def _shared_error(self, exc: BaseException) -> BaseException:
        """A store exception as the error a call raises (the store's own typed errors pass)."""
        from ._errors import HoopAuthError, StoreError

        if isinstance(exc, HoopAuthError):
            return exc
        e = StoreError(f"the shared store failed ({type(exc).__name__})", kind="store_error")
        e.__cause__ = exc
        return e

    def __repr__(self) -> str:
        return f"{type(self).__name__}(config={self.config!r}, stats={self.stats!r})"


# -- coordinated mode helpers ---------------------------------------------------------------

_MAX_ATTEMPTS = 16
_READ = "read"
_Event = Tuple[Any, ...]
_Txn = Generator[Union[str, Tuple[int, str], float], Any, Any]

# The call loop's intents (see ``_DriverBase._call_loop``).
_LOAD, _SLOT, _SEND, _SET, _WAIT, _STEP, _MINT = range(7)
_LOAD_OP = (_LOAD,)
_SLOT_OP = (_SLOT,)
_Loop = Generator[Tuple[Any, ...], Any, Any]


# The webhook flow's intents (see ``_DriverBase._webhook_flow``).
_W_NOW, _W_SEEN, _W_LOAD, _W_FORGET, _W_EXPECT, _W_TOKEN = range(6)
_Flow = Generator[Tuple[Any, ...], Any, Tuple[int, str]]


def _webhook_id(body: Any) -> Optional[str]:
    """The delivery's ``webhookId`` (``None`` when absent or the body is not an event)."""
    from ._errors import HoopAuthError

    try:
        return parse_webhook_event(body).webhook_id or None
    except HoopAuthError:
        return None


def _backoff(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th lost write (0-based): random, up to 1 ms, 2 ms,
    4 ms ... 32 ms, so the processes racing for one record do not collide again in step."""
    return _rng.uniform(0, min(0.001 * (1 << attempt), 0.032))


class _SharedCall:
    """A call in coordinated mode: the call (replaced by its copy when a write is lost), how
    to make it again, and the fingerprint of the refresh token it sent (if any)."""

    __slots__ = ("call", "make", "refresh_fp", "adopted")

    def __init__(self, make: Callable[[], Call]) -> None:
        self.make = make
        self.call = make()
        self.refresh_fp: Optional[bytes] = None
        self.adopted = 0


def _fingerprint(pool: Pool, resource: str) -> Optional[bytes]:
    """A digest of the resource's current refresh token (to tell whether the tokens changed);
    the token itself never stays in a frame."""
    ts = pool.token_set(resource)
    if ts is None or ts.refresh_token is None:
        return None
    return hashlib.sha256(ts.refresh_token.encode()).digest()


def _contention(resource: str) -> Exception:
    from ._errors import StoreUnavailableError

    return StoreUnavailableError(
        f"too much contention on the shared record of `{resource[:64]}`: {_MAX_ATTEMPTS} writes lost in a row",
        kind="store_unavailable",
    )


def _unavailable_after_persist(resource: str, exc: Exception) -> Exception:
    from ._errors import StoreError, StoreUnavailableError

    kind = "store_unavailable" if isinstance(exc, StoreUnavailableError) else "store_error"
    cls = StoreUnavailableError if kind == "store_unavailable" else StoreError
    return cls(
        f"the shared store could not save the refreshed tokens of `{resource[:64]}` ({type(exc).__name__}); "
        "they are kept in memory, unsaved, and written by the next call or flush()",
        kind=kind,
    )
