"""Request rate limits, as Sentry's middleware applies them (§7).

A fixed window per rate-limit key (and an optional cap on requests in flight), with
the five ``X-Sentry-Rate-Limit-*`` headers on every answer and, optionally,
``Retry-After`` on a 429. Sources: src/sentry/middleware/ratelimit.py,
src/sentry/ratelimits/utils.py, config.py, concurrent.py. (Sentry's daily
invite quotas are endpoint logic: ``handlers/invite_quota.py``.)
"""

from __future__ import annotations

import contextlib
import email.utils
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import Token

__all__ = ["RateLimit", "RequestLimiter", "bearer", "rate_limit_key", "too_frequent"]


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


def rate_limit_key(token: Token | None, method: str, fallback: str) -> str:
    """The key Sentry counts a request under: the caller and the HTTP method.

    ``get_rate_limit_key`` in src/sentry/ratelimits/utils.py builds
    ``{category}:{group}:{METHOD}:{id}``: a user's token counts as that user
    (``user``, the user id: two tokens of one user share a window), an
    internal integration's token, SCIM's included, as its organization
    (``org``, the organization id); anything else by address (``ip``: here the
    credential presented, as every test client is 127.0.0.1). So GETs and PUTs
    of one caller have separate windows, and the SCIM token's are not the user
    token's. The endpoints here set no custom limit (no view in the key).
    """
    if token is not None and token.kind == "user" and token.user_id is not None:
        return f"user:default:{method}:{token.user_id}"
    if token is not None and token.kind != "user" and token.org_id is not None:
        return f"org:default:{method}:{token.org_id}"
    return f"ip:default:{method}:{fallback}"


class RequestLimiter:
    """One fixed window per rate-limit key (:func:`rate_limit_key`)."""

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
            # The clock the windows are counted on, as every HTTP answer carries it
            # (RFC 9110 6.6.1; on sentry.io, set by its web servers): a client whose
            # clock differs learns the difference from it, not from the reset alone.
            "Date": email.utils.formatdate(now, usegmt=True),
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
