"""``BaseClient``: configuration and the one request pipeline.

:class:`~sentry_members_async.client.SentryClient` is this class plus
``.org(slug)``; the resources and the orchestration are typed against
``BaseClient``, so nothing below the top of the package imports upward.

Every call the SDK makes goes through :meth:`BaseClient.request`:

1. build the :class:`Request` (Bearer token, or the SCIM token for SCIM paths;
   ``User-Agent``; each path parameter quoted as one segment, so a slug or an
   id can never change the path);
2. send it through the transport (the limiter and the retry policy wrap this
   step: see :meth:`BaseClient._send`);
3. follow redirects (credentials are dropped when the origin changes);
4. classify the response: 2xx is returned, anything else raises the typed
   :class:`~sentry_members_async.errors.APIError` subclass.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json as _json
import logging
import os
import re
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeAlias, TypeVar
from urllib.parse import quote

import attrs
from yarl import URL

from ._version import __version__
from .errors import (
    ConfigurationError,
    RateLimitedError,
    RedirectError,
    ResponseTooLargeError,
    SentryError,
    ValidationError,
    error_from_response,
    mask_secrets,
)
from .ratelimit import Limiter, RateLimiter
from .retry import RetryPolicy
from .transports.base import Headers, Request, Response, Transport, TransportError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_SERVER_PAUSE",
    "ClientStats",
    "QueryValue",
    "RequestHook",
    "ResponseHook",
    "RetryEvent",
    "RetryHook",
    "BaseClient",
]

logger = logging.getLogger("sentry_members_async")

DEFAULT_BASE_URL = "https://sentry.io"
USER_AGENT = f"sentry-members-async/{__version__}"
MAX_REDIRECTS = 5
#: Longest pause learned from a server (``Retry-After``, a rate-limit reset) that
#: requests wait out; past it they fail at once with ``RateLimitedError``.
DEFAULT_MAX_SERVER_PAUSE = 300.0
#: Largest answer body read (64 MiB): a member page is well under 1 MiB.
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
_Client = TypeVar("_Client", bound="BaseClient")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_REGION = re.compile(r"[a-z]{2,10}")


@attrs.frozen
class RetryEvent:
    """Given to ``on_retry`` hooks (and logged) before a retry: never holds the token."""

    method: str
    path: str
    attempt: int
    delay: float
    reason: str
    status: int | None = None
    error: str | None = None


@attrs.define
class ClientStats:
    """Counters of one client: requests sent, retries, 429s answered."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    retry_wait: float = 0.0


RequestHook: TypeAlias = Callable[[Request], "Awaitable[None] | None"]
RetryHook: TypeAlias = Callable[[RetryEvent], "Awaitable[None] | None"]
ResponseHook: TypeAlias = Callable[[Response], "Awaitable[None] | None"]
QueryScalar: TypeAlias = "str | int | float | bool"
QueryValue: TypeAlias = "QueryScalar | Sequence[QueryScalar] | None"


def _as_hooks(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_token(name: str, token: str) -> str:
    if not isinstance(token, str):
        raise ConfigurationError(f"{name} must be a string")
    if not token.strip():
        raise ConfigurationError(f"{name} is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
        raise ConfigurationError(f"{name} contains whitespace or control characters")
    return token


def _query_scalar(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationError(f"query parameter {key!r} has an unsupported value type")


def _encode_query(params: Mapping[str, QueryValue] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if not params:
        return pairs
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            pairs.append((key, _query_scalar(key, value)))
        else:
            pairs.extend((key, _query_scalar(key, item)) for item in value)
    return pairs


def quote_segment(value: str | int) -> str:
    """One path segment, percent-encoded so it can never add or remove a segment.

    Raises :class:`ValidationError` for values that no quoting makes safe
    (empty, ``.`` and ``..``).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"path parameter must be a string or an int, not {type(value)!r}")
    text = str(value)
    if text in ("", ".", ".."):
        raise ValidationError(f"path parameter {text!r} is not a valid path segment")
    return quote(text, safe="")


class BaseClient:
    """A :class:`~sentry_members_async.client.SentryClient` without ``.org()``: the pipeline.

    Its parameters are documented on ``SentryClient``; the resources, bulk,
    plan/apply and watch are typed against this class.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | URL | None = None,
        region: str | None = None,
        scim_token: str | None = None,
        transport: Transport | None = None,
        user_agent: str | None = None,
        timeout: float = 30.0,
        allow_insecure_http: bool = False,
        on_request: RequestHook | Iterable[RequestHook] | None = None,
        on_response: ResponseHook | Iterable[ResponseHook] | None = None,
        on_retry: RetryHook | Iterable[RetryHook] | None = None,
        limiter: Limiter | None = None,
        retry: RetryPolicy | None = None,
        max_server_pause: float | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        if token is None:
            token = os.environ.get("SENTRY_AUTH_TOKEN")
        if token is None:
            raise ConfigurationError(
                "no auth token: pass token=... or set SENTRY_AUTH_TOKEN "
                "(create one under Settings > Auth Tokens with the member:read scope)"
            )
        self.__token = _check_token("the auth token", token)
        if scim_token is None:
            scim_token = os.environ.get("SENTRY_SCIM_TOKEN")
        self.__scim_token = (
            _check_token("the SCIM token", scim_token) if scim_token is not None else None
        )
        self.base_url = self._resolve_base_url(base_url, region, allow_insecure_http)
        if timeout is None or timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        self.timeout = float(timeout)
        self.user_agent = f"{user_agent} {USER_AGENT}" if user_agent else USER_AGENT
        self._on_request: tuple[RequestHook, ...] = _as_hooks(on_request)
        self._on_response: tuple[ResponseHook, ...] = _as_hooks(on_response)
        self._on_retry: tuple[RetryHook, ...] = _as_hooks(on_retry)
        if limiter is not None and max_server_pause is not None:
            raise ConfigurationError(
                "max_server_pause applies to the default limiter: pass max_pause= to the "
                "limiter you give instead"
            )
        pause = DEFAULT_MAX_SERVER_PAUSE if max_server_pause is None else max_server_pause
        if isinstance(pause, bool) or not isinstance(pause, int | float) or not pause >= 0:
            raise ConfigurationError("max_server_pause must be a number of seconds (>= 0)")
        self.max_server_pause = float(pause)
        if max_response_size is not None and (
            isinstance(max_response_size, bool)
            or not isinstance(max_response_size, int)
            or max_response_size < 1
        ):
            raise ConfigurationError("max_response_size must be a positive number of bytes")
        self.max_response_size = max_response_size
        #: Shared by every request of this client (pass one to share it between clients).
        if rate_limit is not None and limiter is not None:
            raise ConfigurationError("pass rate_limit= or limiter=, not both")
        if limiter is None:
            try:
                limiter = RateLimiter(max_pause=self.max_server_pause, rate_limit=rate_limit)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        self.limiter: Limiter = limiter
        self.retry_policy = retry if retry is not None else RetryPolicy()
        self.stats = ClientStats()
        if transport is None:
            from .transports.aiohttp import AiohttpTransport

            transport = AiohttpTransport(timeout=self.timeout)
            self._owns_transport = True
        else:
            self._owns_transport = False
        self.transport: Transport = transport
        self._closed = False
        self._used = False
        self.__headers: dict[tuple[str, str], tuple[Headers, Headers]] = {}

    @staticmethod
    def _resolve_base_url(
        base_url: str | URL | None, region: str | None, allow_insecure_http: bool
    ) -> URL:
        if region is not None:
            if base_url is not None:
                raise ConfigurationError("pass either base_url or region, not both")
            if not isinstance(region, str) or not _REGION.fullmatch(region):
                raise ConfigurationError("region must be a region name such as 'us' or 'de'")
            base_url = f"https://{region}.sentry.io"
        if base_url is None:
            base_url = os.environ.get("SENTRY_URL") or DEFAULT_BASE_URL
        try:
            url = URL(base_url)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"base_url is not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError("base_url must be an absolute http(s) URL")
        if url.user or url.password:
            raise ConfigurationError("base_url must not contain credentials; pass token=...")
        if url.query_string or url.fragment:
            raise ConfigurationError("base_url must not have a query or a fragment")
        if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
            raise ConfigurationError(
                "refusing to send a token over plain http:// to a non-loopback host; "
                "use https:// or pass allow_insecure_http=True"
            )
        return url.with_path(url.path.rstrip("/"))

    def __repr__(self) -> str:
        scim = "set" if self.__scim_token is not None else "unset"
        return (
            f"{type(self).__name__}(base_url={str(self.base_url)!r}, token=<redacted>, "
            f"scim_token=<{scim}>, transport={self.transport!r})"
        )

    # -- lifecycle ---------------------------------------------------------

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport if the client created it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_transport:
            await self.transport.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    def __del__(self) -> None:
        if (
            getattr(self, "_used", False)
            and not getattr(self, "_closed", True)
            and getattr(self, "_owns_transport", False)
        ):
            warnings.warn(
                "SentryClient was not closed: use 'async with SentryClient(...)' "
                "or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    # -- the pipeline ------------------------------------------------------

    def build_request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        scim: bool = False,
        timeout: float | None = None,
    ) -> Request:
        """The :class:`Request` that :meth:`request` would send (no I/O)."""
        if not path.startswith("/"):
            raise ValidationError("path must start with '/'")
        values = dict(path_params or {})

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise ValidationError(f"path parameter {name!r} is missing")
            return quote_segment(values[name])

        full_path = self.base_url.path.rstrip("/") + _PLACEHOLDER.sub(substitute, path)
        url = self.base_url.with_path(full_path, encoded=True)
        query = _encode_query(params)
        if query:
            url = url.with_query(query)
        token = self.__scim_token if scim and self.__scim_token is not None else self.__token
        body: bytes | None = None
        headers: dict[str, str] | Headers
        if json is None:
            headers = self._plain_headers(token)[0]
        else:
            headers = {
                "Authorization": f"Bearer {token}",
                "User-Agent": self.user_agent,
                "Accept": "application/json",
                "Content-Type": "application/json",
            }
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
        return Request(
            method=method,
            url=url,
            headers=headers,
            body=body,
            timeout=self.timeout if timeout is None else timeout,
            max_response_size=self.max_response_size,
        )

    def _plain_headers(self, token: str) -> tuple[Headers, Headers]:
        """The headers of a request without a body, and their redacted twin (built once:
        :class:`Headers` are immutable, so every such request shares them)."""
        key = (token, self.user_agent)
        cached = self.__headers.get(key)
        if cached is None:
            plain = Headers(
                {
                    "Authorization": f"Bearer {token}",
                    "User-Agent": self.user_agent,
                    "Accept": "application/json",
                }
            )
            cached = self.__headers[key] = (plain, plain.redacted())
        return cached

    async def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        scim: bool = False,
        timeout: float | None = None,
        required_scopes: tuple[str, ...] = (),
        idempotent: bool | None = None,
    ) -> Response:
        """Send one API call and return its 2xx :class:`Response`.

        ``path`` is a template such as ``"/api/0/organizations/{org}/members/"``
        whose ``{placeholders}`` are filled from ``path_params``, each quoted as
        a single segment. Each attempt waits for the client's limiter; failures
        are retried as the retry policy decides (``idempotent`` overrides the
        method's idempotency, e.g. for SCIM ``PATCH active=false``). Raises the
        typed :class:`APIError` subclass for an error status and a
        :class:`TransportError` subclass when the exchange failed; either
        carries ``attempts``. ``required_scopes`` is quoted in a 403's message.
        """
        if self._closed:
            raise ConfigurationError("the client is closed")
        request = self.build_request(
            method,
            path,
            path_params=path_params,
            params=params,
            json=json,
            scim=scim,
            timeout=timeout,
        )
        self._used = True
        policy = self.retry_policy
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            failure: SentryError
            try:
                response = await self._send_following_redirects(request)
            except TransportError as exc:
                _mask_exception(exc, self._secrets())
                decision = policy.decide(
                    method=request.method,
                    attempt=attempt,
                    elapsed=time.monotonic() - started,
                    error=exc,
                    idempotent=idempotent,
                )
                failure = exc
                status: int | None = None
            else:
                if response.is_success:
                    return attrs.evolve(response, attempts=attempt) if attempt > 1 else response
                failure = error_from_response(
                    response, required_scopes=required_scopes, secrets=self._secrets()
                )
                status = response.status
                decision = policy.decide(
                    method=request.method,
                    attempt=attempt,
                    elapsed=time.monotonic() - started,
                    status=response.status,
                    headers=response.headers,
                    error=failure,
                    idempotent=idempotent,
                )
            if decision.retry and decision.delay > self.max_server_pause:
                decision = attrs.evolve(decision, retry=False)
            if not decision.retry:
                failure.attempts = attempt
                if isinstance(failure, TransportError):
                    raise failure
                raise failure from None
            event = RetryEvent(
                method=request.method,
                path=request.url.path,
                attempt=attempt,
                delay=decision.delay,
                reason=decision.reason,
                status=status,
                error=None if status is not None else str(failure),
            )
            self.stats.retries += 1
            self.stats.retry_wait += decision.delay
            logger.info(
                "retrying %s %s in %.2f s (attempt %d: %s)",
                event.method,
                event.path,
                event.delay,
                attempt,
                event.reason,
            )
            for retry_hook in self._on_retry:
                await _call_hook(retry_hook, event)
            await asyncio.sleep(decision.delay)

    def _secrets(self) -> tuple[str, ...]:
        """The client's own credentials, to mask in any server text it shows."""
        if self.__scim_token is None:
            return (self.__token,)
        return (self.__token, self.__scim_token)

    async def _send_following_redirects(self, request: Request) -> Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send(request)
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return response
            request = _redirected(request, response, location, self._secrets())
        return response

    def _redacted(self, request: Request) -> Request:
        for plain, redacted in self.__headers.values():
            if request.headers is plain:  # the shared headers: their twin is ready
                return Request(
                    request.method,
                    request.url,
                    redacted,
                    request.body,
                    request.timeout,
                    request.max_response_size,
                )
        return request.redacted()

    async def _send(self, request: Request) -> Response:
        """Send once, under the limiter, with hooks and logging."""
        safe_request = self._redacted(request)
        for hook in self._on_request:
            await _call_hook(hook, safe_request)
        try:
            async with self.limiter.acquire():
                self.stats.requests += 1
                response = await self.transport.send(request)
                self.limiter.observe(response.status, response.headers)
        except RateLimitedError as exc:
            if exc.method:
                raise
            # The limiter refused to wait out a server's pause: name the request.
            raise RateLimitedError(
                429,
                request.method,
                request.url.path,
                exc.detail,
                retry_after=exc.retry_after,
            ) from None
        limit = request.max_response_size
        if limit is not None and len(response.body) > limit:
            # A transport of the user's that does not enforce the limit itself.
            raise ResponseTooLargeError(limit, method=request.method, path=request.url.path)
        if response.status == 429:
            self.stats.rate_limited += 1
        # (a constructor call, not attrs.evolve: this runs once per request)
        response = Response(
            response.status,
            response.headers,
            response.body,
            safe_request,
            response.elapsed,
            response.attempts,
        )
        logger.debug(
            "%s %s -> %d in %.1f ms",
            request.method,
            request.url.path,
            response.status,
            response.elapsed * 1000.0,
        )
        for response_hook in self._on_response:
            await _call_hook(response_hook, response)
        return response


def _redirected(
    request: Request, response: Response, location: str, secrets: tuple[str, ...]
) -> Request:
    status = response.status

    def refuse(why: str) -> RedirectError:
        shown = mask_secrets(location, secrets)
        return RedirectError(
            status,
            request.method,
            request.url.path,
            f"redirect to {shown[:200]!r} not followed: {why}",
            location=shown,
        )

    try:
        target = request.url.join(URL(location))
    except (TypeError, ValueError):
        raise refuse("the Location is not a URL") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise refuse("only http(s) URLs are followed")
    headers = request.headers
    method, body = request.method, request.body
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = headers.drop("Content-Type")
    if target.origin() != request.url.origin():
        if body is not None:
            # The body (an invitee's e-mail, a SCIM user) is meant for Sentry alone,
            # and another host's answer must not pass for Sentry's.
            raise refuse(
                "it changes origin and the request has a body, which is only ever "
                f"sent to {request.url.origin()}"
            )
        # Never hand credentials to another host (or over a downgraded scheme).
        headers = headers.drop("Authorization", "Cookie")
    return attrs.evolve(request, method=method, url=target, headers=headers, body=body)


def _mask_exception(exc: SentryError, secrets: tuple[str, ...]) -> None:
    """Mask the client's credentials in an exception's text (a server may echo them)."""
    if any(isinstance(arg, str) and any(s and s in arg for s in secrets) for arg in exc.args):
        exc.args = tuple(
            mask_secrets(arg, secrets) if isinstance(arg, str) else arg for arg in exc.args
        )


async def _call_hook(hook: Callable[[Any], Any], payload: Any) -> None:
    result = hook(payload)
    if inspect.isawaitable(result):
        await result
