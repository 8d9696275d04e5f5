"""What the pipeline reports, in one place: stats, log lines and the user's hooks.

The pipeline calls one :class:`PipelineObserver` at four moments (a request
about to go, an answer, a retry about to wait, a final failure); the observer
counts into :class:`ClientStats`, writes the log lines and calls the hooks.
Hooks only ever see redacted values, and work nobody asked for is skipped: a
redacted copy of the request is made only when an ``on_request`` hook wants it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeAlias

import attrs

from ..errors import APIError, SentryError
from ..retry import RetryDecision
from ..transports.base import Request, Response

__all__ = [
    "ClientStats",
    "PipelineObserver",
    "RequestHook",
    "ResponseHook",
    "RetryEvent",
    "RetryHook",
    "logger",
    "retry_event",
]

logger = logging.getLogger("sentry_members_async")


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


def _as_hooks(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)


async def _call_hook(hook: Callable[[Any], Any], payload: Any) -> None:
    result = hook(payload)
    if inspect.isawaitable(result):
        await result


class PipelineObserver:
    """Stats, logs and hooks of one client (shared by its :meth:`with_limiter` views)."""

    __slots__ = ("_response_hooks", "_retry_hooks", "request_hooks", "stats")

    def __init__(
        self,
        stats: ClientStats,
        *,
        on_request: RequestHook | Iterable[RequestHook] | None = None,
        on_response: ResponseHook | Iterable[ResponseHook] | None = None,
        on_retry: RetryHook | Iterable[RetryHook] | None = None,
    ) -> None:
        self.stats = stats
        #: The ``on_request`` hooks (empty: the pipeline skips the redacted copy).
        self.request_hooks: tuple[RequestHook, ...] = _as_hooks(on_request)
        self._response_hooks: tuple[ResponseHook, ...] = _as_hooks(on_response)
        self._retry_hooks: tuple[RetryHook, ...] = _as_hooks(on_retry)

    async def on_request(self, request: Request) -> None:
        """``request`` (redacted) is about to wait for the limiter and go."""
        for hook in self.request_hooks:
            await _call_hook(hook, request)

    def on_sent(self) -> None:
        """The limiter let one request through to the transport."""
        self.stats.requests += 1

    async def on_response(self, response: Response) -> None:
        """An answer came (its request redacted): one debug line, the hooks."""
        if response.status == 429:
            self.stats.rate_limited += 1
        request = response.request
        logger.debug(
            "%s %s -> %d in %.1f ms",
            request.method,
            request.url.path,
            response.status,
            response.elapsed * 1000.0,
        )
        for hook in self._response_hooks:
            await _call_hook(hook, response)

    async def on_retry(self, event: RetryEvent) -> None:
        """A failed attempt will be retried after ``event.delay`` seconds."""
        self.stats.retries += 1
        self.stats.retry_wait += event.delay
        logger.info(
            "retrying %s %s in %.2f s (attempt %d: %s)",
            event.method,
            event.path,
            event.delay,
            event.attempt,
            event.reason,
        )
        for hook in self._retry_hooks:
            await _call_hook(hook, event)

    def on_error(self, request: Request, error: SentryError, reason: str) -> None:
        """The request failed for good after ``error.attempts`` attempts."""
        logger.debug(
            "%s %s failed after %d attempt(s): %s (%s)",
            request.method,
            request.url.path,
            error.attempts,
            type(error).__name__,
            reason,
        )


def retry_event(
    request: Request, failure: SentryError, attempt: int, decision: RetryDecision
) -> RetryEvent:
    """The :class:`RetryEvent` of a retry about to wait (nothing secret in it)."""
    status = failure.status if isinstance(failure, APIError) else None
    return RetryEvent(
        method=request.method,
        path=request.url.path,
        attempt=attempt,
        delay=decision.delay,
        reason=decision.reason,
        status=status,
        error=None if status is not None else str(failure),
    )
