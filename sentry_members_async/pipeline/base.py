"""``SentryClient``: the configuration, the one request pipeline, and ``.org(slug)``.

This is the one client class. The resources and the orchestration above them
are typed against the :class:`~.protocol.Requester` protocol it satisfies,
not against this class, so nothing below the top of the package imports it;
its one upward reference is :meth:`SentryClient.org`, which builds the
:class:`~sentry_members_async.org.Org` handle (a deferred import, the one
exception the layers contract allows in the pipeline).

:meth:`SentryClient.request` runs three stages, each its own method:

1. **attempt** (:meth:`SentryClient._attempt`): send the request once through
   the limiter and the transport, following redirects (credentials dropped
   when the origin changes);
2. **classification** (:meth:`SentryClient._classify`, with
   :func:`~.classify.error_from_response`): a 2xx answer is the value,
   anything else the typed :class:`~sentry_members_async.errors.APIError`
   subclass; a transport failure is already typed;
3. **retry scheduling** (:meth:`SentryClient._run`): the one retry loop, asking
   the pure :meth:`RetryPolicy.decide <sentry_members_async.retry.RetryPolicy.decide>`
   after each failure and waiting before the next attempt.

Stats, log lines and hooks are one :class:`~.observer.PipelineObserver`.
"""

from __future__ import annotations

import asyncio
import copy
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from yarl import URL

from .._closing import AsyncClosing
from ..errors import (
    APIError,
    ConfigurationError,
    RateLimitedError,
    SentryError,
)
from ..ratelimit import Limiter
from ..retry import RetryDecision, RetryPolicy
from ..transports.aiohttp import AiohttpTransport
from ..transports.base import Request, Response, Transport, TransportError, check_body_size
from .build import QueryValue, RequestBuilder
from .classify import error_from_response, mask_exception, mask_response, named_refusal
from .config import DEFAULT_MAX_RESPONSE_SIZE, client_config, client_limiter, client_tokens
from .observer import (
    ClientStats,
    PipelineObserver,
    RequestHook,
    ResponseHook,
    RetryHook,
    retry_event,
)
from .protocol import Confirm, Confirmed
from .redirects import MAX_REDIRECTS, REDIRECT_STATUSES, redirected

if TYPE_CHECKING:
    from ..org import Org

__all__ = ["BaseClient", "Confirm", "Confirmed", "SentryClient"]

_Client = TypeVar("_Client", bound="SentryClient")
T = TypeVar("T")


class SentryClient(AsyncClosing):
    """An asyncio client for Sentry's member, team and SCIM APIs.

    Configure it once, share it between tasks, close it when done
    (``async with SentryClient() as client: ...``); ``client.org("acme")``
    is the way in to one organization.

    :param token: an auth token (user token or internal-integration token).
        Falls back to ``SENTRY_AUTH_TOKEN``.
    :param base_url: the Sentry URL; falls back to ``SENTRY_URL``, then
        ``https://sentry.io``. Self-hosted URLs with a path prefix work.
    :param region: ``"us"`` or ``"de"``: use ``https://{region}.sentry.io``.
    :param scim_token: the SCIM bearer token used for SCIM paths; falls back to
        ``SENTRY_SCIM_TOKEN``, then to ``token``.
    :param transport: any :class:`Transport`; by default an
        :class:`~sentry_members_async.transports.aiohttp.AiohttpTransport`.
        The client closes only a transport it created itself.
    :param user_agent: prepended to ``sentry-members-async/<version>``.
    :param timeout: seconds allowed per request.
    :param allow_insecure_http: permit ``http://`` to a non-loopback host.
    :param on_request: callables (sync or async) given each request, with
        credentials masked, before it is sent.
    :param on_response: callables given each response, with credentials masked.
    :param on_retry: callables given a :class:`RetryEvent` before each retry.
    :param limiter: the rate limiter shared by every request; by default a
        :class:`~sentry_members_async.ratelimit.RateLimiter` that learns
        Sentry's limits from its headers. ``NoLimiter()`` turns it off.
    :param rate_limit: the token's limit if you know it, ``(requests, window
        seconds)``, e.g. ``(40, 1.0)`` on sentry.io: the default limiter then
        skips its probe and uses the whole limit from the first request (the
        server's headers still win). Not with ``limiter=``.
    :param retry: the :class:`~sentry_members_async.retry.RetryPolicy`.
    :param max_server_pause: the longest pause, in seconds, a server can impose
        (``Retry-After`` on a 429, or a rate-limit window's reset); a request
        that would wait longer fails at once with
        :class:`~sentry_members_async.errors.RateLimitedError` (its
        ``retry_after`` is the full wait). Applies to the default limiter and to
        retries; a ``limiter`` you pass has its own ``max_pause``.
    :param max_response_size: the largest answer body, in bytes, the client
        reads (``None``: no limit); past it reading stops and
        :class:`~sentry_members_async.errors.ResponseTooLargeError` is raised.
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
        tokens = client_tokens(token, scim_token)
        config = client_config(
            base_url=base_url,
            region=region,
            allow_insecure_http=allow_insecure_http,
            timeout=timeout,
            user_agent=user_agent,
            max_server_pause=max_server_pause,
            max_response_size=max_response_size,
        )
        self.base_url: URL = config.base_url
        self.timeout = config.timeout
        self.user_agent = config.user_agent
        self.max_server_pause = config.max_server_pause
        self.max_response_size = config.max_response_size
        #: Shared by every request of this client made with its auth token (pass one
        #: to share it between clients).
        self.limiter: Limiter = client_limiter(
            limiter, max_server_pause=max_server_pause, rate_limit=rate_limit
        )
        #: The SCIM token's. Sentry counts a user's token as that user and an
        #: integration's token (SCIM's) as its organization (``get_rate_limit_key``
        #: in src/sentry/ratelimits/utils.py): with a user token (``sntryu_``) the
        #: SCIM token gets a default limiter of its own; with any other auth token
        #: (an integration's may share the organization's window) one limiter
        #: paces both, as does a ``limiter=`` you pass.
        self.scim_limiter: Limiter = self.limiter
        if limiter is None and tokens.counted_apart():
            self.scim_limiter = client_limiter(
                None, max_server_pause=max_server_pause, rate_limit=rate_limit
            )
        self.retry_policy = retry if retry is not None else RetryPolicy()
        self.stats = ClientStats()
        self._observer = PipelineObserver(
            self.stats, on_request=on_request, on_response=on_response, on_retry=on_retry
        )
        self.__builder = RequestBuilder(config, tokens)
        self.__secrets = tokens.secrets()
        self.__scim = tokens.scim_token is not None
        self._owns_transport = transport is None
        self.transport: Transport = (
            AiohttpTransport(timeout=self.timeout) if transport is None else transport
        )
        self._closed = False
        self._used = False

    def __repr__(self) -> str:
        scim = "set" if self.__scim else "unset"
        return (
            f"{type(self).__name__}(base_url={str(self.base_url)!r}, token=<redacted>, "
            f"scim_token=<{scim}>, transport={self.transport!r})"
        )

    @property
    def has_scim_token(self) -> bool:
        """Whether a SCIM token is configured (``scim_token=`` or ``SENTRY_SCIM_TOKEN``);
        the token itself is never exposed."""
        return self.__scim

    def org(self, slug: str) -> Org:
        """The organization ``slug``: ``client.org("acme").members.list()``."""
        # The entry point builds the handle: the one import of the pipeline from
        # the top layer (allowed by name in pyproject's import-linter contracts).
        from ..org import Org

        return Org(self, slug)

    def with_limiter(self: _Client, limiter: Limiter) -> _Client:
        """The same client with another limiter.

        The view shares everything else with this client: token, transport,
        hooks, retry policy and :attr:`stats`. It does not own the transport:
        closing the view leaves the transport open, closing this client closes
        it for both. ``watch`` uses this to pace its polls with a budget of its
        own while counting in the client's stats.
        """
        view = copy.copy(self)
        view.limiter = view.scim_limiter = limiter
        view._owns_transport = False
        return view

    # -- lifecycle ---------------------------------------------------------

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
        return self.__builder.build(
            method,
            path,
            path_params=path_params,
            params=params,
            json=json,
            scim=scim,
            timeout=timeout,
        )

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
        request, limiter = self._start(method, path, path_params, params, json, scim, timeout)
        answer: Response | Confirmed[None] = await self._run(
            request, limiter, required_scopes, idempotent, None
        )
        assert isinstance(answer, Response)  # no confirmation read: always the answer
        return answer

    async def create(
        self,
        method: str,
        path: str,
        *,
        confirm: Confirm[T],
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        scim: bool = False,
        timeout: float | None = None,
        required_scopes: tuple[str, ...] = (),
    ) -> Response | Confirmed[T]:
        """Send a create that must take effect once (an invite, a SCIM user).

        As :meth:`request`, in the same retry loop (hooks and :attr:`stats` see
        every attempt), with one rule more: when an attempt's answer was lost
        after the request may have reached Sentry, ``confirm()`` looks for what
        it would have made before anything is sent again. Found: an earlier
        attempt took effect, and :class:`Confirmed` holds it. Not found: sending
        again is safe, and the retry policy decides as for an idempotent request.
        """
        request, limiter = self._start(method, path, path_params, params, json, scim, timeout)
        return await self._run(request, limiter, required_scopes, None, confirm)

    def _start(
        self,
        method: str,
        path: str,
        path_params: Mapping[str, str | int] | None,
        params: Mapping[str, QueryValue] | None,
        json: Any,
        scim: bool,
        timeout: float | None,
    ) -> tuple[Request, Limiter]:
        if self._closed:
            raise ConfigurationError("the client is closed")
        request = self.__builder.build(
            method,
            path,
            path_params=path_params,
            params=params,
            json=json,
            scim=scim,
            timeout=timeout,
        )
        self._used = True
        return request, self.scim_limiter if scim else self.limiter

    # -- retry scheduling --------------------------------------------------

    async def _run(
        self,
        request: Request,
        limiter: Limiter,
        required_scopes: tuple[str, ...],
        idempotent: bool | None,
        confirm: Confirm[T] | None,
    ) -> Response | Confirmed[T]:
        """The one retry loop: attempt, classify, and ask the policy after a failure
        (a lost answer to a create is first confirmed by a read: :meth:`create`)."""
        started = time.monotonic()
        attempt = 1
        while True:
            outcome = self._classify(await self._attempt(request, limiter), required_scopes)
            if isinstance(outcome, Response):
                if attempt > 1:
                    return attrs.evolve(outcome, attempts=attempt)
                return outcome
            safe = idempotent
            if (
                confirm is not None
                and isinstance(outcome, TransportError)
                and outcome.may_have_reached_server
            ):
                found = await confirm()
                if found is not None:
                    return Confirmed(found, attempt)
                safe = True  # it did not take effect: sending it again is safe
            decision = self._decide(request, outcome, attempt, started, safe)
            if not decision.retry:
                outcome.attempts = attempt
                self._observer.on_error(request, outcome, decision.reason)
                raise outcome
            await self._observer.on_retry(retry_event(request, outcome, attempt, decision))
            await asyncio.sleep(decision.delay)
            attempt += 1

    def _decide(
        self,
        request: Request,
        failure: SentryError,
        attempt: int,
        started: float,
        idempotent: bool | None,
    ) -> RetryDecision:
        """The policy's decision, refused when it would wait past ``max_server_pause``."""
        answer = failure if isinstance(failure, APIError) else None
        decision = self.retry_policy.decide(
            method=request.method,
            attempt=attempt,
            elapsed=time.monotonic() - started,
            status=answer.status if answer else None,
            headers=answer.headers if answer else None,
            error=failure,
            idempotent=idempotent,
        )
        if decision.retry and decision.delay > self.max_server_pause:
            return attrs.evolve(decision, retry=False)
        return decision

    # -- classification ----------------------------------------------------

    def _classify(
        self, outcome: Response | TransportError, required_scopes: tuple[str, ...]
    ) -> Response | SentryError:
        """A 2xx answer is the value; an error status becomes its typed error; a
        transport failure is typed already. The client's credentials are masked in
        whatever text of the server's the failure shows."""
        if isinstance(outcome, TransportError):
            mask_exception(outcome, self.__secrets)
            return outcome
        if outcome.is_success:
            return outcome
        return error_from_response(outcome, required_scopes=required_scopes, secrets=self.__secrets)

    # -- one attempt ---------------------------------------------------------

    async def _attempt(self, request: Request, limiter: Limiter) -> Response | TransportError:
        """Send once through the limiter and the transport, following redirects.

        A transport failure is returned, for the retry loop to weigh; a refused
        redirect, an answer over ``max_response_size`` or a limiter's refusal to
        wait is raised (none of them is retried).
        """
        try:
            for _ in range(MAX_REDIRECTS + 1):
                response = await self._send(request, limiter)
                if response.status not in REDIRECT_STATUSES:
                    return response
                location = response.headers.get("Location")
                if not location:
                    return response
                request = redirected(request, response, location, self.__secrets)
        except TransportError as exc:
            return exc
        return response

    async def _send(self, request: Request, limiter: Limiter) -> Response:
        """Send once, under the token's limiter; the answer carries the redacted request."""
        observer = self._observer
        safe_request = None
        if observer.request_hooks:
            safe_request = self.__builder.redacted(request)
            await observer.on_request(safe_request)
        try:
            async with limiter.acquire():
                observer.on_sent()
                response = await self.transport.send(request)
                limiter.observe(response.status, response.headers)
        except RateLimitedError as exc:
            if exc.method:
                raise
            raise named_refusal(exc, request) from None
        # A transport of the user's may not enforce the limit itself.
        check_body_size(request, len(response.body), request.max_response_size)
        # (a constructor call, not attrs.evolve: this runs once per request)
        response = Response(
            response.status,
            response.headers,
            response.body,
            safe_request or self.__builder.redacted(request),
            response.elapsed,
            response.attempts,
        )
        # A server or proxy may echo the credentials: hooks, logs and callers get
        # the answer with them masked, as errors show it.
        response = mask_response(response, self.__secrets)
        await observer.on_response(response)
        return response


#: Deprecated: the name of :class:`SentryClient` before ``.org()`` moved onto it
#: (the pipeline and the entry point were two classes). Use ``SentryClient``.
BaseClient = SentryClient
