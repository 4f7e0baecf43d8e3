"""The exception classes of hoopauth.

Every failure raised by hoopauth is a :class:`HoopAuthError` with ``.kind`` (the core's
stable snake_case kind), ``.status`` (HTTP status, when a response caused it) and
``.retry_after_ms``. Catch a family (:class:`InputError`, :class:`AuthorizationError`,
:class:`TokenError`, :class:`ApiError`, :class:`RateLimitError`, :class:`ServerError`,
:class:`StoreError`) or a single kind (e.g. :class:`InvalidGrantError`). Messages never
contain secrets.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Type

__all__ = [
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
    "error_class",
]


class HoopAuthError(Exception):
    """Base class of every hoopauth error."""

    kind: str = "unknown"
    family: str = "unknown"

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        status: Optional[int] = None,
        retry_after_ms: Optional[int] = None,
        reauthorize: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        self.status = status
        self.retry_after_ms = retry_after_ms
        #: True when the user must authorize the app again (the tokens are gone for good).
        self.reauthorize = reauthorize

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else self.kind

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, message={self.message!r}, "
            f"status={self.status!r}, retry_after_ms={self.retry_after_ms!r})"
        )

    def __reduce__(self) -> Tuple[Callable[..., "HoopAuthError"], Tuple[Any, ...]]:
        return (_rebuild, (self.kind, self.message, self.status, self.retry_after_ms, self.reauthorize))


# Families (ErrorKind::family() in the core).
class InputError(HoopAuthError, ValueError):
    """Bad configuration or bad caller input."""

    family = "input"


ConfigError = InputError


class AuthorizationError(HoopAuthError):
    """The authorization redirect failed (denied, state mismatch, no code)."""

    family = "authorization"


class TokenError(HoopAuthError):
    """The token endpoint refused (invalid grant or client, bad request, paused location)."""

    family = "token"


class ApiError(HoopAuthError):
    """An API call failed for a reason a retry will not fix."""

    family = "api"


class RateLimitError(HoopAuthError):
    """``rate_limited``: the platform's (or the pacer's) limit; see ``retry_after_ms``."""

    family = "rate_limit"
    kind = "rate_limited"


class ServerError(HoopAuthError):
    """``server_error``: a 5xx or a lost connection, after the allowed retries."""

    family = "server"
    kind = "server_error"


class StoreError(HoopAuthError):
    """``store_error``: the token store raised (or timed out) while saving refreshed tokens.

    The store's own exception is ``__cause__``. The tokens stay in memory, marked unsaved:
    the next call for the resource (or ``flush()``) saves them before anything else.
    """

    family = "store"
    kind = "store_error"


class StoreUnavailableError(StoreError):
    """``store_unavailable``: a shared (coordinated) store could not be reached."""

    kind = "store_unavailable"


# One class per kind.
class InvalidConfigError(InputError):
    kind = "invalid_config"


class InvalidArgumentError(InputError):
    kind = "invalid_argument"


class InvalidScopeError(InputError):
    kind = "invalid_scope"


class InvalidKeyError(InputError):
    kind = "invalid_key"


class AuthorizationDeniedError(AuthorizationError):
    kind = "authorization_denied"


class StateMismatchError(AuthorizationError):
    kind = "state_mismatch"


class MissingCodeError(AuthorizationError):
    kind = "missing_code"


class InvalidGrantError(TokenError):
    kind = "invalid_grant"


class InvalidClientError(TokenError):
    kind = "invalid_client"


class InvalidRequestError(TokenError):
    kind = "invalid_request"


class LocationInactiveError(TokenError):
    kind = "location_inactive"


class UnauthorizedError(ApiError):
    kind = "unauthorized"


class InsufficientScopeError(ApiError):
    kind = "insufficient_scope"


class TokenTypeMismatchError(ApiError):
    kind = "token_type_mismatch"


class ForbiddenError(ApiError):
    kind = "forbidden"


class NotFoundError(ApiError):
    kind = "not_found"


class ClientError(ApiError):
    kind = "client_error"


class MalformedResponseError(ApiError):
    kind = "malformed_response"


class UnexpectedStatusError(ApiError):
    kind = "unexpected_status"


_BY_KIND: Dict[str, Type[HoopAuthError]] = {
    cls.kind: cls
    for cls in (
        InvalidConfigError,
        InvalidArgumentError,
        InvalidScopeError,
        InvalidKeyError,
        AuthorizationDeniedError,
        StateMismatchError,
        MissingCodeError,
        InvalidGrantError,
        InvalidClientError,
        InvalidRequestError,
        LocationInactiveError,
        UnauthorizedError,
        InsufficientScopeError,
        TokenTypeMismatchError,
        ForbiddenError,
        NotFoundError,
        RateLimitError,
        ServerError,
        StoreError,
        StoreUnavailableError,
        ClientError,
        MalformedResponseError,
        UnexpectedStatusError,
    )
}


def error_class(kind: str) -> Type[HoopAuthError]:
    """The most specific class for ``kind`` (``HoopAuthError`` for an unknown kind)."""
    return _BY_KIND.get(kind, HoopAuthError)


def _from_core(
    kind: str,
    message: str,
    status: Optional[int],
    retry_after_ms: Optional[int],
    reauthorize: bool,
) -> HoopAuthError:
    """Called by the native module to build the exception for a core error."""
    return error_class(kind)(
        message, kind=kind, status=status, retry_after_ms=retry_after_ms, reauthorize=reauthorize
    )


def _rebuild(
    kind: str, message: str, status: Optional[int], retry_after_ms: Optional[int], reauthorize: bool
) -> HoopAuthError:
    return _from_core(kind, message, status, retry_after_ms, reauthorize)
