"""Coordinated mode: many processes, one client.

Every process of an app (uvicorn/gunicorn workers, containers, hosts) that gives its client
the same shared store paces and refreshes as one client of the platform: the core keeps one
record per resource (token session + rate limiter) in the store, and the drivers wrap each
step of a call in a read → step → compare-and-set transaction (the core decides; the store
only makes each decision atomic across processes).

>>> from hoopauth.shared import RedisStore                            # doctest: +SKIP
>>> client = hoopauth.Client(config, shared=RedisStore("redis://cache:6379/0"))  # doctest: +SKIP

Stores (all speak the same record format, so Python and Node processes take turns on the
same keys):

- :class:`RedisStore` (redis-py, sync) and :class:`AsyncRedisStore` (``redis.asyncio``):
  any number of hosts; shared decisions use the Redis server's clock.
- :class:`SqliteStore` (stdlib ``sqlite3``): the processes of one host share one file;
  the clock is the host's. :class:`hoopauth.AsyncClient` runs it in a worker thread.

A store's methods: ``read(resource) -> (rev, data | None, now_ms)``, ``cas(resource, rev,
data) -> bool``, ``delete(resource)``, ``seen_first(webhook_id, ttl_ms) -> bool``,
``forget_seen(webhook_id)`` (optional),
``now_ms()``. When the store cannot be reached they raise
:class:`hoopauth.StoreUnavailableError` quickly (short socket timeouts, no retries): a call
fails fast and holds nothing.

Records can be sealed (XChaCha20-Poly1305, in the core) with ``keys=[...]`` on the client:
32-byte keys, the first seals, every one opens (rotation).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any, Optional, Tuple, Type, Union

from ._errors import StoreError, StoreUnavailableError
from ._hoopauth import (
    REDIS_CAS_SCRIPT,
    REDIS_READ_SCRIPT,
    SHARED_LEASE_MS,
    SHARED_TTL_MS,
    SQLITE_SCHEMA,
    Verification,
    WebhookKey,
    WebhookVerifier,
    redis_key,
    redis_webhook_key,
)

__all__ = [
    "RedisStore",
    "AsyncRedisStore",
    "SqliteStore",
    "SharedWebhookVerifier",
    "REDIS_READ_SCRIPT",
    "REDIS_CAS_SCRIPT",
    "SQLITE_SCHEMA",
    "SHARED_TTL_MS",
    "SHARED_LEASE_MS",
    "redis_key",
    "redis_webhook_key",
]

#: Default prefix of every key a store writes.
DEFAULT_PREFIX = "hoopauth:"

Record = Tuple[int, Optional[str], int]


def _unavailable(what: str, exc: BaseException) -> StoreUnavailableError:
    e = StoreUnavailableError(f"the shared store is unreachable ({what}: {type(exc).__name__})", kind="store_unavailable")
    e.__cause__ = exc
    return e


def _text(v: Any) -> Optional[str]:
    if v is None or v is False:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


def _int(v: Any) -> int:
    return int(_text(v) or 0)


def _read_reply(reply: Any) -> Record:
    rev, data, sec, usec = reply
    return _int(rev), _text(data), _int(sec) * 1000 + _int(usec) // 1000


def _check_ttl(ttl_ms: Any) -> int:
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 1:
        from ._errors import InvalidArgumentError

        raise InvalidArgumentError("ttl_ms must be a positive whole number of milliseconds", kind="invalid_argument")
    return ttl_ms


# ----------------------------------------------------------------------------------------
# Redis
# ----------------------------------------------------------------------------------------


def _redis_client(url_or_client: Any, timeout: float, asyncio: bool) -> Any:
    if not isinstance(url_or_client, str):
        return url_or_client
    if asyncio:
        import redis.asyncio as aredis
        from redis.asyncio.retry import Retry as ARetry
        from redis.backoff import NoBackoff

        return aredis.Redis.from_url(
            url_or_client,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=ARetry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url_or_client,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
    )


def _redis_errors() -> Tuple[Type[BaseException], ...]:
    import redis.exceptions as rx

    return (rx.ConnectionError, rx.TimeoutError, ConnectionError, TimeoutError, OSError)


def _redis_any() -> Type[BaseException]:
    import redis.exceptions as rx

    return rx.RedisError


class _RedisBase:
    def __init__(self, url_or_client: Any, *, prefix: str = DEFAULT_PREFIX, timeout: float = 1.0, asyncio: bool) -> None:
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        self.prefix = prefix
        self.timeout = timeout
        self._own = isinstance(url_or_client, str)
        #: The redis-py client (``redis.Redis`` or ``redis.asyncio.Redis``).
        self.client: Any = _redis_client(url_or_client, timeout, asyncio)
        self._read = self.client.register_script(REDIS_READ_SCRIPT)
        self._cas = self.client.register_script(REDIS_CAS_SCRIPT)
        self._unreachable: Tuple[Type[BaseException], ...] = _redis_errors()
        self._failed: Type[BaseException] = _redis_any()

    def key(self, resource: str) -> str:
        """The Redis key of ``resource``'s record (one Cluster hash slot per resource)."""
        return redis_key(self.prefix, resource)

    def webhook_key(self, webhook_id: str) -> str:
        return redis_webhook_key(self.prefix, webhook_id)

    def _error(self, what: str, exc: BaseException) -> Exception:
        if isinstance(exc, self._unreachable):
            return _unavailable(what, exc)
        e = StoreError(f"the shared store failed ({what}: {type(exc).__name__})", kind="store_error")
        e.__cause__ = exc
        return e

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"


class RedisStore(_RedisBase):
    """A shared store on Redis (redis-py, synchronous; thread-safe).

    ``url_or_client``: a ``redis://`` URL (a client is made with ``timeout``-second socket
    timeouts and no retries, so a dead server fails fast) or a ``redis.Redis`` of yours.
    Keys: ``{prefix}{<resource>}`` (a hash ``rev``/``data``, expiring
    ``SHARED_TTL_MS`` after its last write) and ``{prefix}webhook:{<id>}``.
    """

    def __init__(self, url_or_client: Any, *, prefix: str = DEFAULT_PREFIX, timeout: float = 1.0) -> None:
        super().__init__(url_or_client, prefix=prefix, timeout=timeout, asyncio=False)

    def read(self, resource: str) -> Record:
        """``(rev, data | None, now_ms)``: the record, its revision (0 when absent) and the
        server's clock."""
        try:
            return _read_reply(self._read(keys=[self.key(resource)]))
        except self._failed as exc:
            raise self._error("read", exc) from exc

    def cas(self, resource: str, rev: int, data: str) -> bool:
        """Write ``data`` if the record is still at ``rev``; False when another process wrote first."""
        try:
            return _int(self._cas(keys=[self.key(resource)], args=[str(rev), data, SHARED_TTL_MS])) == 1
        except self._failed as exc:
            raise self._error("compare-and-set", exc) from exc

    def delete(self, resource: str) -> None:
        try:
            self.client.delete(self.key(resource))
        except self._failed as exc:
            raise self._error("delete", exc) from exc

    def seen_first(self, webhook_id: str, ttl_ms: int) -> bool:
        """Mark ``webhook_id`` as seen for ``ttl_ms``; True when no process had seen it."""
        ttl_ms = _check_ttl(ttl_ms)
        try:
            return bool(self.client.set(self.webhook_key(webhook_id), 1, nx=True, px=ttl_ms))
        except self._failed as exc:
            raise self._error("webhook", exc) from exc

    def forget_seen(self, webhook_id: str) -> None:
        """Un-mark ``webhook_id`` (handling it failed): the platform's retry is handled in full."""
        try:
            self.client.delete(self.webhook_key(webhook_id))
        except self._failed as exc:
            raise self._error("webhook", exc) from exc

    def now_ms(self) -> int:
        """The server's clock (``TIME``), in Unix ms."""
        try:
            sec, usec = self.client.time()
            return int(sec) * 1000 + int(usec) // 1000
        except self._failed as exc:
            raise self._error("time", exc) from exc

    def close(self) -> None:
        if self._own:
            self.client.close()


class AsyncRedisStore(_RedisBase):
    """As :class:`RedisStore`, on ``redis.asyncio`` (every method is a coroutine)."""

    def __init__(self, url_or_client: Any, *, prefix: str = DEFAULT_PREFIX, timeout: float = 1.0) -> None:
        super().__init__(url_or_client, prefix=prefix, timeout=timeout, asyncio=True)

    async def read(self, resource: str) -> Record:
        try:
            return _read_reply(await self._read(keys=[self.key(resource)]))
        except self._failed as exc:
            raise self._error("read", exc) from exc

    async def cas(self, resource: str, rev: int, data: str) -> bool:
        try:
            return _int(await self._cas(keys=[self.key(resource)], args=[str(rev), data, SHARED_TTL_MS])) == 1
        except self._failed as exc:
            raise self._error("compare-and-set", exc) from exc

    async def delete(self, resource: str) -> None:
        try:
            await self.client.delete(self.key(resource))
        except self._failed as exc:
            raise self._error("delete", exc) from exc

    async def seen_first(self, webhook_id: str, ttl_ms: int) -> bool:
        ttl_ms = _check_ttl(ttl_ms)
        try:
            return bool(await self.client.set(self.webhook_key(webhook_id), 1, nx=True, px=ttl_ms))
        except self._failed as exc:
            raise self._error("webhook", exc) from exc

    async def forget_seen(self, webhook_id: str) -> None:
        try:
            await self.client.delete(self.webhook_key(webhook_id))
        except self._failed as exc:
            raise self._error("webhook", exc) from exc

    async def now_ms(self) -> int:
        try:
            sec, usec = await self.client.time()
            return int(sec) * 1000 + int(usec) // 1000
        except self._failed as exc:
            raise self._error("time", exc) from exc

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()


# ----------------------------------------------------------------------------------------
# SQLite (one host)
# ----------------------------------------------------------------------------------------


def _host_ms() -> int:
    return time.time_ns() // 1_000_000


class SqliteStore:
    """A shared store in one SQLite file, for the processes of one host (stdlib ``sqlite3``,
    WAL mode, ``busy_timeout``; each compare-and-set in ``BEGIN IMMEDIATE``). The clock is
    the host's. Thread-safe (one connection per thread). ``prefix`` namespaces the
    resources of several apps in one file."""

    def __init__(self, path: str, *, prefix: str = "", busy_timeout_ms: int = 2000) -> None:
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        self.path: str = str(path)
        self.prefix = prefix
        self.busy_timeout_ms: int = int(busy_timeout_ms)
        self._local = threading.local()
        self._writes = 0
        self._conn()  # create the schema now: a bad path fails here

    def _conn(self) -> sqlite3.Connection:
        conn: Optional[sqlite3.Connection] = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SQLITE_SCHEMA)
        except sqlite3.Error as exc:
            raise _unavailable("open", exc) from exc
        self._local.conn = conn
        return conn

    def _error(self, what: str, exc: BaseException) -> Exception:
        if isinstance(exc, sqlite3.OperationalError):
            return _unavailable(what, exc)
        e = StoreError(f"the shared store failed ({what}: {type(exc).__name__})", kind="store_error")
        e.__cause__ = exc
        return e

    def read(self, resource: str) -> Record:
        now = _host_ms()
        try:
            row = self._conn().execute(
                "SELECT rev, data, expires_at_ms FROM hoopauth_shared WHERE resource = ?", (self.prefix + resource,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read", exc) from exc
        if row is None:
            return 0, None, now
        rev, data, expires = row
        return int(rev), (data if expires > now else None), now

    def cas(self, resource: str, rev: int, data: str) -> bool:
        conn = self._conn()
        key = self.prefix + resource
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = _host_ms()
                row = conn.execute("SELECT rev FROM hoopauth_shared WHERE resource = ?", (key,)).fetchone()
                cur = 0 if row is None else int(row[0])
                if cur != rev:
                    conn.execute("ROLLBACK")
                    return False
                if row is None:
                    conn.execute(
                        "INSERT INTO hoopauth_shared (resource, rev, data, expires_at_ms) VALUES (?, 1, ?, ?)",
                        (key, data, now + SHARED_TTL_MS),
                    )
                else:
                    conn.execute(
                        "UPDATE hoopauth_shared SET rev = rev + 1, data = ?, expires_at_ms = ? WHERE resource = ?",
                        (data, now + SHARED_TTL_MS, key),
                    )
                self._writes += 1
                if self._writes % 1000 == 0:  # now and then: drop expired rows
                    conn.execute("DELETE FROM hoopauth_shared WHERE expires_at_ms < ?", (now,))
                    conn.execute("DELETE FROM hoopauth_webhooks WHERE expires_at_ms < ?", (now,))
                conn.execute("COMMIT")
                return True
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error("compare-and-set", exc) from exc

    def delete(self, resource: str) -> None:
        try:
            self._conn().execute("DELETE FROM hoopauth_shared WHERE resource = ?", (self.prefix + resource,))
        except sqlite3.Error as exc:
            raise self._error("delete", exc) from exc

    def seen_first(self, webhook_id: str, ttl_ms: int) -> bool:
        ttl_ms = _check_ttl(ttl_ms)
        conn = self._conn()
        key = self.prefix + webhook_id
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = _host_ms()
                conn.execute("DELETE FROM hoopauth_webhooks WHERE id = ? AND expires_at_ms <= ?", (key, now))
                cur = conn.execute(
                    "INSERT OR IGNORE INTO hoopauth_webhooks (id, expires_at_ms) VALUES (?, ?)", (key, now + ttl_ms)
                )
                first = cur.rowcount == 1
                conn.execute("COMMIT")
                return first
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error("webhook", exc) from exc

    def forget_seen(self, webhook_id: str) -> None:
        try:
            self._conn().execute("DELETE FROM hoopauth_webhooks WHERE id = ?", (self.prefix + webhook_id,))
        except sqlite3.Error as exc:
            raise self._error("webhook", exc) from exc

    def now_ms(self) -> int:
        return _host_ms()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __repr__(self) -> str:
        return f"SqliteStore(path={self.path!r}, prefix={self.prefix!r})"


AnySharedStore = Union[RedisStore, AsyncRedisStore, SqliteStore, Any]


# ----------------------------------------------------------------------------------------
# Webhooks
# ----------------------------------------------------------------------------------------


def _webhook_id(body: Any) -> Optional[str]:
    try:
        obj = json.loads(body if isinstance(body, (bytes, bytearray, str)) else bytes(body))
    except (ValueError, TypeError):
        return None
    if not isinstance(obj, dict):
        return None
    v = obj.get("webhookId")
    if isinstance(v, str) and v:
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return json.dumps(v)
    return None


class SharedWebhookVerifier:
    """A webhook receiver whose duplicate detection is shared through a store: a
    ``webhookId`` accepted by any process is a ``duplicate`` everywhere for twice the
    replay window (``max_age_ms``). Signature and age are checked by the core first; only
    valid deliveries are marked. Use :meth:`verify` with a sync store and :meth:`averify`
    with :class:`AsyncRedisStore`."""

    def __init__(
        self,
        store: Any,
        public_key: Union[str, WebhookKey, None] = None,
        *,
        max_age_ms: Optional[int] = None,
        legacy_rsa_key: Union[bool, str, None] = None,
    ) -> None:
        self.store = store
        # The core checks signature and age; duplicates are the store's (no local memory).
        self._inner = WebhookVerifier(public_key, max_age_ms=max_age_ms, seen_capacity=0, legacy_rsa_key=legacy_rsa_key)
        self._lock = threading.Lock()

    @property
    def max_age_ms(self) -> int:
        return self._inner.max_age_ms

    def _check(self, body: Any, headers: Any, now_ms: Optional[int]) -> Tuple[Verification, Optional[str]]:
        from ._driver import now_ms as _now

        with self._lock:
            v = self._inner.verify(body, headers, _now() if now_ms is None else now_ms)
        return v, (_webhook_id(body) if v.valid else None)

    def verify(self, body: Any, headers: Any, now_ms: Optional[int] = None) -> Verification:
        """``ok``, ``bad_signature``, ``stale`` or ``duplicate`` (seen by any process).
        Raises :class:`hoopauth.StoreUnavailableError` when the store is unreachable."""
        v, wid = self._check(body, headers, now_ms)
        if wid is not None and not self.store.seen_first(wid, 2 * self.max_age_ms):
            return Verification.duplicate()
        return v

    async def averify(self, body: Any, headers: Any, now_ms: Optional[int] = None) -> Verification:
        """As :meth:`verify`, awaiting an async store's ``seen_first``."""
        import inspect

        v, wid = self._check(body, headers, now_ms)
        if wid is not None:
            first = self.store.seen_first(wid, 2 * self.max_age_ms)
            if inspect.isawaitable(first):
                first = await first
            if not first:
                return Verification.duplicate()
        return v

    def __repr__(self) -> str:
        return f"SharedWebhookVerifier(store={self.store!r}, max_age_ms={self.max_age_ms})"
