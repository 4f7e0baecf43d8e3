"""httpx transports: hoopauth's pacing, classification, refresh and retries under any httpx
client — including an SDK's own, such as the PyPI ``gohighlevel-api-client``'s ``http_client``.

:class:`Transport` (for ``httpx.Client``) and :class:`AsyncTransport` (for
``httpx.AsyncClient``) wrap an inner transport (default: httpx's own) and run each request
whose resource they can tell as one call of a hoopauth :class:`~hoopauth.Client` /
:class:`~hoopauth.AsyncClient`: the same core call loop as ``client.request`` (paced on the
resource's window, refreshed once when due or after a 401, retried after a 429 or a 5xx),
with the request's own URL, headers and body on the wire and the resource's token in
``Authorization``.

The resource, first found wins: the ``X-HoopAuth-Resource`` header (removed before sending);
``locationId`` then ``companyId`` (or ``location_id`` / ``company_id``) in the query; an SDK's
path parameters (the PyPI SDK's ``__path_params``); the JSON or form body; the path
(``/locations/{id}``, ``/companies/{id}``). A request with none (the SDK's own OAuth calls, a
health check) goes to the inner transport untouched.

``Authorization`` belongs to hoopauth: a request without one gets the resource's token; a
request that carries one is refused (``invalid_argument``) unless
``replace_authorization=True``, which replaces it — so only one party (hoopauth) ever
refreshes a token family. An SDK that insists on a token of its own can be given a
placeholder (see the README).

What the caller gets back: the platform's answer — a success, or the final error answer (a
404, a 422, a 429 when the retries ran out) as a normal response for the caller's own error
handling. Failures that have no answer of their own are raised as hoopauth errors: the user
must authorize again (``reauthorize``), the token store failed, no tokens for the resource.
Bodies are read whole (the core classifies them), so responses are not streamed.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Union
from urllib.parse import parse_qsl

import httpx

from ._driver import _SharedCall
from ._errors import HoopAuthError, InvalidArgumentError
from ._hoopauth import Call, Request, Step
from ._httpx import AsyncClient, Client

__all__ = ["Transport", "AsyncTransport", "RESOURCE_HEADER", "request_resource"]

#: The header that names a request's resource explicitly (removed before sending).
RESOURCE_HEADER = "X-HoopAuth-Resource"

_LOCATION_KEYS = ("locationId", "location_id")
_COMPANY_KEYS = ("companyId", "company_id")
_PATH_KINDS = (("locations", _LOCATION_KEYS), ("companies", _COMPANY_KEYS))
# Path words under /locations/ and /companies/ that name no resource.
_NOT_IDS = frozenset({"search", "timezones", ""})

ResourceOf = Callable[[httpx.Request], Optional[str]]


def _pick(values: Mapping[str, Any]) -> Optional[str]:
    for keys in (_LOCATION_KEYS, _COMPANY_KEYS):
        for k in keys:
            v = values.get(k)
            if isinstance(v, str) and v:
                return v
    return None


def _body_values(request: httpx.Request, content: bytes) -> Mapping[str, Any]:
    if not content:
        return {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == "application/x-www-form-urlencoded":
            return dict(parse_qsl(content.decode("utf-8"), keep_blank_values=False))
        if ctype == "application/json" or ctype.endswith("+json") or not ctype:
            value = json.loads(content)
            return value if isinstance(value, dict) else {}
    except (ValueError, UnicodeDecodeError):
        pass
    return {}


def request_resource(request: httpx.Request, *, header: str = RESOURCE_HEADER) -> Optional[str]:
    """The resource (location or company id) a request is for, or ``None`` (the rules in
    the module doc). The body must have been read (``request.read()`` / ``aread()``)."""
    explicit = request.headers.get(header)
    if isinstance(explicit, str) and explicit:
        return explicit
    params = request.url.params
    found = _pick({k: params.get(k) for k in (*_LOCATION_KEYS, *_COMPANY_KEYS) if k in params})
    if found is not None:
        return found
    path_params = getattr(request, "__path_params", None)
    if isinstance(path_params, dict):
        found = _pick(path_params)
        if found is not None:
            return found
    found = _pick(_body_values(request, request.content))
    if found is not None:
        return found
    parts = request.url.path.split("/")
    for i, part in enumerate(parts[:-1]):
        for word, _keys in _PATH_KINDS:
            if part == word and parts[i + 1] not in _NOT_IDS:
                return parts[i + 1]
    return None


class _Shared:
    """What both transports share: the options, the resource and the requests on the wire."""

    def __init__(self, resource_header: str, replace_authorization: bool, resource: Optional[ResourceOf]) -> None:
        if not isinstance(resource_header, str) or not resource_header:
            raise TypeError("resource_header must be a header name")
        if resource is not None and not callable(resource):
            raise TypeError("resource must be callable (httpx.Request -> resource id or None)")
        self._header = resource_header
        self._replace = bool(replace_authorization)
        self._resource_of = resource

    def _resource(self, request: httpx.Request) -> Optional[str]:
        if self._resource_of is not None:
            rid = self._resource_of(request)
            if rid is not None:
                if not isinstance(rid, str) or not rid:
                    raise TypeError("resource() must return a non-empty str or None")
                return rid
        return request_resource(request, header=self._header)

    def _check_authorization(self, request: httpx.Request) -> None:
        if "authorization" in request.headers and not self._replace:
            raise InvalidArgumentError(
                "the request carries its own Authorization header: hoopauth sets the resource's "
                "token itself (so only one party refreshes). Drop it, or pass "
                "replace_authorization=True to have hoopauth replace it",
                kind="invalid_argument",
            )

    def _call(self, client: Union[Client, AsyncClient], request: httpx.Request) -> Call:
        # The core paces and classifies the call; its own URL and body are not used (the
        # request goes out as the caller built it), only its Authorization (and Version).
        path = request.url.raw_path.decode("ascii").split("?", 1)[0] or "/"
        return client._new_call(request.method, path, None, None, {})

    def _untouched(self, request: httpx.Request) -> httpx.Request:
        if self._header not in request.headers:
            return request
        headers = request.headers.copy()
        del headers[self._header]
        return httpx.Request(request.method, request.url, headers=headers, content=request.content,
                             extensions=request.extensions)

    def _wire(self, request: httpx.Request, step: Step) -> httpx.Request:
        """The request to send for one send step."""
        core = step.request
        assert core is not None
        if step.kind != "send":  # a refresh (or any other request of the core's own): as built
            return _core_request(core, request.extensions)
        headers = request.headers.copy()
        for name in (self._header, "authorization"):
            if name in headers:
                del headers[name]
        auth = core.header("Authorization")
        if auth is not None:
            headers["Authorization"] = auth
        version = core.header("Version")
        if version is not None and "version" not in headers:
            headers["Version"] = version
        return httpx.Request(request.method, request.url, headers=headers, content=request.content,
                             extensions=request.extensions)


def _core_request(core: Request, extensions: Dict[str, Any]) -> httpx.Request:
    body = core.body
    return httpx.Request(core.method, core.url, headers=core.headers, content=body if body else None,
                         extensions={k: v for k, v in extensions.items() if k == "timeout"})


def _answer(resp: httpx.Response, raw: bytes) -> httpx.Response:
    """A transport-level response holding the raw body (still encoded, as the client expects
    from a transport), read once so the core can classify the decoded body."""
    out = httpx.Response(resp.status_code, headers=resp.headers, content=raw, extensions=resp.extensions)
    out.read()
    return out


def _final(err: HoopAuthError, last: List[httpx.Response]) -> Optional[httpx.Response]:
    """The platform's answer that ended a failed call, when the error is that answer."""
    if last and err.status is not None and last[-1].status_code == err.status:
        return last[-1]
    return None


class Transport(httpx.BaseTransport, _Shared):
    """A sync httpx transport over a :class:`hoopauth.Client` (see the module doc).

    >>> http = httpx.Client(transport=hoopauth.Transport(client))   # doctest: +SKIP
    >>> http.get(f"{api}/contacts/", params={"locationId": loc})     # doctest: +SKIP

    ``inner``: the transport that sends (default ``httpx.HTTPTransport()``, closed with this
    one). ``replace_authorization``: replace a caller-set ``Authorization`` instead of
    refusing the request. ``resource``: a function of the request giving its resource id (or
    ``None`` for the built-in rules). ``resource_header``: the explicit header's name.
    """

    def __init__(
        self,
        client: Client,
        *,
        inner: Optional[httpx.BaseTransport] = None,
        replace_authorization: bool = False,
        resource: Optional[ResourceOf] = None,
        resource_header: str = RESOURCE_HEADER,
    ) -> None:
        if not isinstance(client, Client):
            raise TypeError("Transport needs a hoopauth.Client (AsyncTransport takes an AsyncClient)")
        _Shared.__init__(self, resource_header, replace_authorization, resource)
        self.client = client
        self._own_inner = inner is None
        self.inner: httpx.BaseTransport = inner if inner is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        resource = self._resource(request)
        if resource is None:
            return self.inner.handle_request(self._untouched(request))
        self._check_authorization(request)
        client = self.client
        last: List[httpx.Response] = []

        def send(step: Step) -> httpx.Response:
            resp = self.inner.handle_request(self._wire(request, step))
            try:
                raw = b"".join(resp.iter_raw())
            finally:
                resp.close()
            out = _answer(resp, raw)
            if step.kind == "send":
                last.append(out)
            return out

        try:
            if client.shared is not None:
                st = _SharedCall(lambda: self._call(client, request))
                return client._drive(client._call_loop(st.call, resource, st), st.call, st, resource, None, send)
            call = self._call(client, request)
            return client._drive(client._call_loop(call, resource), call, None, resource, None, send)
        except HoopAuthError as err:
            final = _final(err, last)
            if final is None:
                raise
            return final

    def close(self) -> None:
        if self._own_inner:
            self.inner.close()


class AsyncTransport(httpx.AsyncBaseTransport, _Shared):
    """An asyncio httpx transport over a :class:`hoopauth.AsyncClient` (see the module doc).

    >>> ghl.http_client = httpx.AsyncClient(base_url=..., transport=hoopauth.AsyncTransport(
    ...     client, replace_authorization=True))                         # doctest: +SKIP

    Options: as for :class:`Transport` (``inner`` defaults to ``httpx.AsyncHTTPTransport()``).
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        inner: Optional[httpx.AsyncBaseTransport] = None,
        replace_authorization: bool = False,
        resource: Optional[ResourceOf] = None,
        resource_header: str = RESOURCE_HEADER,
    ) -> None:
        if not isinstance(client, AsyncClient):
            raise TypeError("AsyncTransport needs a hoopauth.AsyncClient (Transport takes a Client)")
        _Shared.__init__(self, resource_header, replace_authorization, resource)
        self.client = client
        self._own_inner = inner is None
        self.inner: httpx.AsyncBaseTransport = inner if inner is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        resource = self._resource(request)
        if resource is None:
            return await self.inner.handle_async_request(self._untouched(request))
        self._check_authorization(request)
        client = self.client
        last: List[httpx.Response] = []

        async def send(step: Step) -> httpx.Response:
            resp = await self.inner.handle_async_request(self._wire(request, step))
            try:
                raw = b"".join([chunk async for chunk in resp.aiter_raw()])
            finally:
                await resp.aclose()
            out = _answer(resp, raw)
            if step.kind == "send":
                last.append(out)
            return out

        try:
            if client.shared is not None:
                st = _SharedCall(lambda: self._call(client, request))
                return await client._drive(client._call_loop(st.call, resource, st), st.call, st, resource, send)
            call = self._call(client, request)
            return await client._drive(client._call_loop(call, resource), call, None, resource, send)
        except HoopAuthError as err:
            final = _final(err, last)
            if final is None:
                raise
            return final

    async def aclose(self) -> None:
        if self._own_inner:
            await self.inner.aclose()

