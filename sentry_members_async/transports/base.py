"""Transport value types and protocol.

A transport turns one :class:`Request` into one :class:`Response` and does
nothing else: no retries, no redirects, no status classification. Everything
above it is sans-I/O and works with these values only.

Failures are typed by what they tell about the server's side:

* :class:`ConnectError`: the request surely never reached the server.
* :class:`ResponseLostError`: the request was (or may have been) sent, but the
  answer was lost; the server may have acted on it.
* :class:`RequestTimeoutError`: no answer within the timeout; its
  ``may_have_reached_server`` flag says on which side of the connect it
  happened.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, overload, runtime_checkable

import attrs
from yarl import URL

from .._json import loads as _loads
from ..errors import ResponseTooLargeError, SentryError, mask_secrets, mask_secrets_in_bytes

__all__ = [
    "ConnectError",
    "Headers",
    "Request",
    "RequestTimeoutError",
    "Response",
    "ResponseLostError",
    "Transport",
    "TransportError",
    "check_body_size",
]

#: Header names whose values are never shown in a repr, a log line or a hook payload.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_MASK = "<redacted>"
_T = TypeVar("_T")


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive mapping of HTTP headers.

    Lookups ignore case; iteration yields the names as they were given.
    Sensitive values (``Authorization``, cookies) are masked in ``repr``.
    """

    __slots__ = ("_items",)

    _items: dict[str, tuple[str, str]]

    def __init__(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    ) -> None:
        items: dict[str, tuple[str, str]] = {}
        if headers is not None:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            for name, value in pairs:
                lower = name.lower()
                if lower in items:
                    # Repeated headers are folded as RFC 9110 section 5.3 allows.
                    value = f"{items[lower][1]}, {value}"
                items[lower] = (name, value)
        object.__setattr__(self, "_items", items)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Headers are immutable")

    def __reduce__(self) -> tuple[type[Headers], tuple[list[tuple[str, str]]]]:
        return (Headers, (list(self.items()),))

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, /, default: str | _T) -> str | _T: ...
    def get(self, key: str, /, default: object = None) -> object:
        # Mapping.get goes through __getitem__ and a KeyError: the limiter reads
        # four headers of every answer.
        item = self._items.get(key.lower()) if isinstance(key, str) else None
        return default if item is None else item[1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return {k: v for k, (_, v) in self._items.items()} == {
                k: v for k, (_, v) in other._items.items()
            }
        if isinstance(other, Mapping):
            return self == Headers(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset((k, v) for k, (_, v) in self._items.items()))

    def __repr__(self) -> str:
        return f"Headers({self.redacted_dict()!r})"

    def redacted_dict(self) -> dict[str, str]:
        """The headers as a plain dict with sensitive values masked."""
        return {
            name: (_MASK if lower in SENSITIVE_HEADERS else value)
            for lower, (name, value) in self._items.items()
        }

    def set(self, name: str, value: str) -> Headers:
        """A copy with ``name`` set to ``value``."""
        new = {n: v for _, (n, v) in self._items.items() if n.lower() != name.lower()}
        new[name] = value
        return Headers(new)

    def drop(self, *names: str) -> Headers:
        """A copy without the given headers."""
        lowered = {n.lower() for n in names}
        return Headers([(n, v) for k, (n, v) in self._items.items() if k not in lowered])

    def redacted(self) -> Headers:
        """A copy with sensitive values masked (safe to log or hand to hooks)."""
        copy = object.__new__(Headers)  # the keys are lowered already: no second pass
        object.__setattr__(
            copy,
            "_items",
            {
                lower: (name, _MASK) if lower in SENSITIVE_HEADERS else (name, value)
                for lower, (name, value) in self._items.items()
            },
        )
        return copy

    def to_dict(self) -> dict[str, str]:
        """The headers as a plain dict, values unmasked (what a transport sends)."""
        return {name: value for name, value in self._items.values()}


def to_headers(value: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> Headers:
    """``value`` as :class:`Headers` (returned unchanged when it already is)."""
    return value if isinstance(value, Headers) else Headers(value)


def _upper(method: str) -> str:
    return method.upper()


@attrs.frozen(slots=True)
class Request:
    """One HTTP request, as handed to a transport."""

    method: str = attrs.field(converter=_upper)
    url: URL
    headers: Headers = attrs.field(factory=Headers, converter=to_headers)
    body: bytes | None = None
    #: Total seconds allowed for this request (``None``: the transport's default).
    timeout: float | None = None
    #: Largest answer body in bytes the transport may read (``None``: no limit);
    #: past it the transport stops reading and raises ``ResponseTooLargeError``.
    max_response_size: int | None = None

    def redacted(self) -> Request:
        """This request with credentials masked: what logs and event hooks see."""
        return Request(
            self.method,
            self.url,
            self.headers.redacted(),
            self.body,
            self.timeout,
            self.max_response_size,
        )


@attrs.frozen(slots=True, repr=False)
class Response:
    """One HTTP response, as returned by a transport.

    Its ``repr`` masks the credentials of its request wherever the answer echoes
    them (a proxy or a debug page reflecting ``Authorization``); the client
    hands hooks and callers answers with its credentials masked already.
    """

    status: int
    headers: Headers = attrs.field(converter=to_headers)
    body: bytes
    request: Request
    #: Seconds between sending the request and reading the whole body.
    elapsed: float = 0.0
    #: Attempts the client made for this answer (set by the client's retry loop).
    attempts: int = 1

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` when it is not JSON).

        Uses ``orjson`` when installed (see :mod:`sentry_members_async._json`).
        """
        return _loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def __repr__(self) -> str:
        secrets = _credentials(self.request.headers)
        headers = {k: mask_secrets(v, secrets) for k, v in self.headers.redacted_dict().items()}
        return (
            f"Response(status={self.status!r}, headers=Headers({headers!r}), "
            f"body={mask_secrets_in_bytes(self.body, secrets)!r}, request={self.request!r}, "
            f"elapsed={self.elapsed!r}, attempts={self.attempts!r})"
        )


def _credentials(headers: Headers) -> tuple[str, ...]:
    """The secrets a request's headers carry: the values of its sensitive headers,
    and the token of an ``Authorization`` (``Bearer <token>``) alone (longest first)."""
    found: list[str] = []
    for name in headers:
        if name.lower() in SENSITIVE_HEADERS:
            value = headers[name]
            if value != _MASK:
                found.append(value)
                scheme, _, token = value.partition(" ")
                if token.strip() and scheme.lower() in ("bearer", "token", "basic"):
                    found.append(token.strip())
    return tuple(sorted(found, key=len, reverse=True))


class TransportError(SentryError):
    """The transport could not complete the exchange."""

    #: Whether the server may have received (and acted on) the request.
    may_have_reached_server: bool = True

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(message)
        self.request = request.redacted() if request is not None else None

    @property
    def method(self) -> str | None:
        return self.request.method if self.request else None

    @property
    def path(self) -> str | None:
        return self.request.url.path if self.request else None


class ConnectError(TransportError):
    """No connection could be made: the request was surely not sent."""

    may_have_reached_server = False


class ResponseLostError(TransportError):
    """The request was sent but the answer was lost: the server may have acted."""

    may_have_reached_server = True


class RequestTimeoutError(TransportError, builtins.TimeoutError):
    """No complete answer within the timeout."""

    def __init__(
        self,
        message: str,
        *,
        request: Request | None = None,
        may_have_reached_server: bool = True,
    ) -> None:
        super().__init__(message, request=request)
        self.may_have_reached_server = may_have_reached_server


def check_body_size(request: Request, size: int | None, limit: int | None) -> None:
    """Raise ``ResponseTooLargeError`` when a body of ``size`` bytes is over ``limit``.

    ``limit`` is the request's ``max_response_size`` (passed in so that a loop
    reads it once); ``None`` for either means there is nothing to check.
    """
    if size is not None and limit is not None and size > limit:
        raise ResponseTooLargeError(limit, method=request.method, path=request.url.path)


@runtime_checkable
class Transport(Protocol):
    """What the client needs from an HTTP backend: two coroutines."""

    async def send(self, request: Request) -> Response:
        """Send one request and return the whole response.

        Must raise only :class:`TransportError` subclasses for transport
        failures; must not follow redirects.
        """
        ...

    async def aclose(self) -> None:
        """Release connections. Idempotent."""
        ...
