"""hoopauth — OAuth, single-use refresh tokens, pacing, errors and webhooks for the
HoopAI / HighLevel platform API, over one Rust core.

The core is sans-IO: it builds requests and reads responses; :class:`Client` and
:class:`AsyncClient` (extra ``hoopauth[httpx]``) send them with httpx. Everything else works
with any HTTP client.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from ._errors import (
    ApiError,
    AuthorizationDeniedError,
    AuthorizationError,
    ClientError,
    ConfigError,
    ForbiddenError,
    HoopAuthError,
    InputError,
    InsufficientScopeError,
    InvalidArgumentError,
    InvalidClientError,
    InvalidConfigError,
    InvalidGrantError,
    InvalidKeyError,
    InvalidRequestError,
    InvalidScopeError,
    LocationInactiveError,
    MalformedResponseError,
    MissingCodeError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StateMismatchError,
    StoreError,
    StoreUnavailableError,
    TokenError,
    TokenTypeMismatchError,
    UnauthorizedError,
    UnexpectedStatusError,
    error_class,
)
from ._hoopauth import (
    DEFAULT_API_BASE,
    DEFAULT_API_VERSION,
    REDIS_CAS_SCRIPT,
    REDIS_READ_SCRIPT,
    SHARED_LEASE_MS,
    SHARED_TTL_MS,
    SQLITE_SCHEMA,
    Call,
    Callback,
    Classification,
    Config,
    Decision,
    Limits,
    Pool,
    RateLimiter,
    RateLimitHeaders,
    Request,
    SessionAction,
    Step,
    TokenSession,
    TokenSet,
    Verification,
    WebhookEvent,
    WebhookKey,
    WebhookPlan,
    WebhookVerifier,
    __version__,
    classify_response,
    error_family,
    error_kinds,
    is_known_scope,
    known_scopes,
    parse_callback,
    parse_rate_limit_headers,
    parse_token_response,
    parse_webhook_event,
    redis_key,
    redis_webhook_key,
    states_equal,
    suggest_scope,
    verify_webhook,
    webhook_reads,
)
from ._hoopauth import generate_state as _generate_state
from ._driver import DriverStats, now_ms
from ._store import AsyncTokenStore, MemoryTokenStore, TokenStore
from ._env import config_from_env, webhook_verifier_from_env
from ._driver import Event, EventHook
from . import shared  # coordinated mode: RedisStore, AsyncRedisStore, SqliteStore (redis imported on use)

if TYPE_CHECKING:  # the drivers need httpx: imported on first use
    from ._httpx import AsyncClient, Client
    from .transport import AsyncTransport, Transport

#: The app configuration is the app object: ``hoopauth.App(...)`` reads as well.
App = Config


def generate_state(random_bytes: Optional[bytes] = None) -> str:
    """A fresh ``state`` for the authorization URL (32 random bytes from ``os.urandom``
    unless given). Keep it in the user's session and pass it to :func:`parse_callback`."""
    return _generate_state(os.urandom(32) if random_bytes is None else random_bytes)


def __getattr__(name: str) -> Any:
    if name in ("Client", "AsyncClient"):
        try:
            from . import _httpx
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"hoopauth.{name} needs httpx: pip install 'hoopauth[httpx]'"
            ) from e
        return getattr(_httpx, name)
    if name in ("Transport", "AsyncTransport"):  # httpx transports over the clients (hoopauth.transport)
        from . import transport

        return getattr(transport, name)
    raise AttributeError(f"module 'hoopauth' has no attribute {name!r}")


__all__ = [
    "__version__",
    "App",
    "Config",
    "Request",
    "TokenSet",
    "Callback",
    "Classification",
    "RateLimitHeaders",
    "Limits",
    "Decision",
    "RateLimiter",
    "SessionAction",
    "TokenSession",
    "Call",
    "Step",
    "Pool",
    "WebhookKey",
    "Verification",
    "WebhookVerifier",
    "WebhookEvent",
    "WebhookPlan",
    "Client",
    "AsyncClient",
    "Transport",
    "AsyncTransport",
    "TokenStore",
    "AsyncTokenStore",
    "MemoryTokenStore",
    "DriverStats",
    "Event",
    "EventHook",
    "config_from_env",
    "webhook_verifier_from_env",
    "shared",
    "DEFAULT_API_BASE",
    "DEFAULT_API_VERSION",
    "REDIS_READ_SCRIPT",
    "REDIS_CAS_SCRIPT",
    "SQLITE_SCHEMA",
    "SHARED_TTL_MS",
    "SHARED_LEASE_MS",
    "redis_key",
    "redis_webhook_key",
    "classify_response",
    "error_family",
    "error_kinds",
    "error_class",
    "generate_state",
    "is_known_scope",
    "known_scopes",
    "now_ms",
    "parse_callback",
    "parse_rate_limit_headers",
    "parse_token_response",
    "parse_webhook_event",
    "states_equal",
    "suggest_scope",
    "verify_webhook",
    "webhook_reads",
    "HoopAuthError",
    "InputError",
    "ConfigError",
    "AuthorizationError",
    "TokenError",
    "ApiError",
    "RateLimitError",
    "ServerError",
    "StoreError",
    "StoreUnavailableError",
    "InvalidConfigError",
    "InvalidArgumentError",
    "InvalidScopeError",
    "InvalidKeyError",
    "AuthorizationDeniedError",
    "StateMismatchError",
    "MissingCodeError",
    "InvalidGrantError",
    "InvalidClientError",
    "InvalidRequestError",
    "LocationInactiveError",
    "UnauthorizedError",
    "InsufficientScopeError",
    "TokenTypeMismatchError",
    "ForbiddenError",
    "NotFoundError",
    "ClientError",
    "MalformedResponseError",
    "UnexpectedStatusError",
]
