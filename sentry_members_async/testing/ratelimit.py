"""Per-token request rate limits, as Sentry's middleware applies them (§7).

A fixed window per token (and an optional cap on requests in flight), with
the five ``X-Sentry-Rate-Limit-*`` headers on every answer and, optionally,
``Retry-After`` on a 429. Sources: src/sentry/middleware/ratelimit.py,
src/sentry/ratelimits/utils.py, config.py, concurrent.py. (Sentry's daily
invite quotas are endpoint logic: ``handlers/invite_quota.py``.)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RateLimit", "RequestLimiter", "bearer", "too_frequent"]


@dataclass(frozen=True)
class RateLimit:
    """A per-token fixed window (and optional concurrent cap), like Sentry's middleware."""

    limit: int = 100
    window: float = 10.0
    concurrent: int | None = None

    @classmethod
    def seed_docs(cls) -> RateLimit:
        """About 100 requests per 10 s per token: the figure in Sentry's public docs."""
        return cls(limit=100, window=10.0)

    @classmethod
    def saas(cls) -> RateLimit:
        """40 requests per second and 25 concurrent: what users observe on sentry.io."""
        return cls(limit=40, window=1.0, concurrent=25)


class _Window:
    __slots__ = ("count", "in_flight", "start")

    def __init__(self) -> None:
        self.start = -1.0
        self.count = 0
        self.in_flight = 0


class RequestLimiter:
    """One fixed window per key (the bearer token, or ``anonymous``)."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def admit(
        self, key: str, limit: RateLimit, now: float, retry_after: bool
    ) -> tuple[dict[str, str], bool]:
        """Count this request in its window; the headers and whether it is refused."""
        window = self._windows.setdefault(key, _Window())
        start = math.floor(now / limit.window) * limit.window
        if start != window.start:
            window.start, window.count = start, 0
        window.count += 1
        reset = start + limit.window
        concurrent_limit = limit.concurrent if limit.concurrent is not None else 100
        refused = window.count > limit.limit
        if limit.concurrent is not None and window.in_flight >= limit.concurrent:
            refused = True
        headers = {
            "X-Sentry-Rate-Limit-Remaining": str(max(0, limit.limit - window.count)),
            "X-Sentry-Rate-Limit-Limit": str(limit.limit),
            "X-Sentry-Rate-Limit-Reset": str(math.ceil(reset)),
            "X-Sentry-Rate-Limit-ConcurrentRemaining": str(
                max(0, concurrent_limit - window.in_flight - (0 if refused else 1))
            ),
            "X-Sentry-Rate-Limit-ConcurrentLimit": str(concurrent_limit),
        }
        if refused and retry_after:
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
        return headers, refused

    @contextlib.contextmanager
    def in_flight(self, key: str) -> Iterator[None]:
        """Count an admitted request against the concurrent cap while it runs."""
        window = self._windows[key]
        window.in_flight += 1
        try:
            yield
        finally:
            window.in_flight -= 1


def too_frequent(limit: RateLimit) -> str:
    """The 429 body's text, as the middleware words it."""
    return (
        "You are attempting to use this endpoint too frequently. Limit is "
        f"{limit.limit} requests in {_num(limit.window)} seconds"
    )


def bearer(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``."""
    if not value:
        return None
    parts = value.split(" ", 1)
    if parts[0].lower() != "bearer" or len(parts) < 2:
        return None
    return parts[1].strip() or None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
