"""What the sync and async httpx drivers share: the pool, the store, the counters.

The drivers are short loops around the core's call state machine (``Pool.start`` /
``resume`` / ``response`` / ``transport_error``): the core decides pacing, refresh, retry
and errors; the loops only send, sleep, persist and raise.
"""

from __future__ import annotations

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
        self._call_options: Dict[str, int] = dict(call_options or {})
        # Guards the pool (native state): held only around a step, never during I/O.
        self._lock = threading.Lock()

    def _new_call(
        self, method: str, path: str, params: Any, json: Any, options: Dict[str, int]
    ) -> Call:
        opts: Dict[str, Any] = dict(self._call_options)
        opts.update(options)
        return Call(method, path, query=params, json=json, **opts)

    def _account(self, call: Call, failed: bool) -> None:
        s = call.stats
        with self._lock:
            self.stats.calls += 1
            self.stats.sends += s["sends"]
            self.stats.refreshes += s["refreshes"]
            if failed:
                self.stats.failures += 1

    def _load_tokens_locked(self, tokens: TokenSet, resource_id: Optional[str]) -> "tuple[str, str]":
        with self._lock:
            rid = self.pool.load_tokens(tokens, resource_id)
            stored = self.pool.stored_json(rid)
        assert stored is not None
        return rid, stored

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
