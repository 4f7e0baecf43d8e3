"""What the sync and async httpx drivers share: the pool, the store, the counters.

The drivers are short loops around the core's call state machine (``Pool.start`` /
``resume`` / ``response`` / ``transport_error`` / ``persist_failed``, and ``abort`` on every
path that leaves a call unfinished): the core decides pacing, refresh, retry, saving and
errors; the loops only send, sleep, persist and raise.

Secrets: the loops never bind a token or a stored session to a local across a call that can
raise (the store's ``set``, a send): error trackers capture frame locals.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

from ._hoopauth import Call, Config, Limits, Pool, TokenSet
from ._store import MemoryTokenStore

__all__ = ["DriverStats", "now_ms"]

_rng = random.Random()


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
        store: Any = None,
        limits: Optional[Limits] = None,
        refresh_leeway_ms: Optional[int] = None,
        lease_ms: Optional[int] = None,
        call_options: Optional[Dict[str, int]] = None,
    ) -> None:
        if not isinstance(config, Config):
            raise TypeError("config must be a hoopauth.Config")
        self.config = config
        self.pool = Pool(config, limits=limits, refresh_leeway_ms=refresh_leeway_ms, lease_ms=lease_ms)
        self.store = store if store is not None else MemoryTokenStore()
        self.stats = DriverStats()
        self._call_options: Dict[str, Any] = dict(call_options or {})
        Call("GET", "/", **self._call_options)  # bad options fail here, not on the first call
        # Guards the pool (native state): held only around a step, never during I/O.
        self._lock = threading.Lock()
        # Per-resource wake-up counter, bumped whenever something a waiting call may be
        # waiting for happens (an answer, a transport error, a save, an abort).
        self._gen: Dict[str, int] = {}

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
        with self._lock:
            self.pool.abort(call, resource, now_ms())
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

    def forget(self, resource_id: str) -> bool:
        """Drop a resource's session from memory (e.g. after an UNINSTALL webhook)."""
        with self._lock:
            return self.pool.remove(resource_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(config={self.config!r}, stats={self.stats!r})"
