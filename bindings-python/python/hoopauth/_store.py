"""Token stores: where the drivers keep each resource's session (tokens and refresh state).

A store maps a resource id (location or company id) to the session's stored form, an
opaque JSON string produced by the core. It holds tokens: keep it as secret as they are.
"""

from __future__ import annotations

import threading
from typing import Awaitable, Dict, List, Optional, Union

try:  # Python 3.8+: typing.Protocol
    from typing import Protocol, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Protocol, runtime_checkable  # type: ignore

__all__ = ["TokenStore", "AsyncTokenStore", "MemoryTokenStore"]


@runtime_checkable
class TokenStore(Protocol):
    """A synchronous store (for :class:`hoopauth.Client`; :class:`hoopauth.AsyncClient` accepts it too)."""

    def get(self, resource_id: str) -> Optional[str]: ...

    def set(self, resource_id: str, stored: str) -> None: ...

    def delete(self, resource_id: str) -> None:
        """Remove a resource's session (``forget``); a missing one is not an error."""
        ...


@runtime_checkable
class AsyncTokenStore(Protocol):
    """An asynchronous store (for :class:`hoopauth.AsyncClient`)."""

    def get(self, resource_id: str) -> Awaitable[Optional[str]]: ...

    def set(self, resource_id: str, stored: str) -> Awaitable[None]: ...

    def delete(self, resource_id: str) -> Awaitable[None]:
        """Remove a resource's session (``forget``); a missing one is not an error."""
        ...


AnyTokenStore = Union[TokenStore, AsyncTokenStore]


class MemoryTokenStore:
    """The default store: a dict behind a lock (safe across threads and tasks)."""

    def __init__(self) -> None:
        self._data: Dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, resource_id: str) -> Optional[str]:
        with self._lock:
            return self._data.get(resource_id)

    def set(self, resource_id: str, stored: str) -> None:
        with self._lock:
            self._data[resource_id] = stored

    def delete(self, resource_id: str) -> None:
        with self._lock:
            self._data.pop(resource_id, None)

    def resource_ids(self) -> List[str]:
        with self._lock:
            return sorted(self._data)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(resource_ids={self.resource_ids()!r})"
