"""The watcher's share of the rate limit: a gate in front of the client's own limiter.

A bot polling a large org must not starve a bulk job on the same token. The
watcher's requests therefore pass a :class:`BudgetLimiter`: a gate that lets
through at most ``budget`` of the server's limit per rate-limit window, then
the client's limiter, so they also count against the whole limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from ..errors import ValidationError
from ..ratelimit import Limiter, RateLimiter
from ..transports.base import Headers

__all__ = ["BudgetLimiter", "check_budget"]

_REMAINING = "x-sentry-rate-limit-remaining"


def check_budget(share: object) -> float | None:
    """A share of the rate limit within (0, 1], or ``None`` for no share of its own."""
    if share is None:
        return None
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ValidationError("budget must be within (0, 1], or None for no budget")
    return float(share)


class BudgetLimiter:
    """A share of the rate limit, then the client's limiter.

    ``gate`` is a :class:`RateLimiter` run at ``safety=share``: it learns the
    server's limit and windows from the answers, and lets at most
    ``floor(share * limit)`` requests through per window. It is shown the
    answers without ``X-Sentry-Rate-Limit-Remaining``, so it counts only the
    requests that passed through it, not the whole token's use (a bulk job on
    the same token must not eat the watcher's share, nor the watcher the bulk
    job's). Every request then waits for the parent limiter too.
    """

    def __init__(self, parent: Limiter, share: float | None) -> None:
        self.parent = parent
        self.share = share
        checked = check_budget(share)
        self.gate = RateLimiter(safety=checked) if checked is not None else None
        #: Requests let through (attempts, retries included).
        self.sent = 0

    def __repr__(self) -> str:
        return f"BudgetLimiter(share={self.share}, parent={self.parent!r})"

    @property
    def limit(self) -> int | None:
        """The server's limit per window, once an answer said it."""
        source = self.gate if self.gate is not None else self.parent
        return getattr(source, "limit", None)

    @property
    def window(self) -> float | None:
        """The window's length in seconds, once two answers showed it."""
        source = self.gate if self.gate is not None else self.parent
        return getattr(source, "window", None)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if self.gate is not None:
                await stack.enter_async_context(self.gate.acquire())
            await stack.enter_async_context(self.parent.acquire())
            self.sent += 1
            yield

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        self.parent.observe(status, headers)
        if self.gate is not None:
            own = Headers([(k, v) for k, v in headers.items() if k.lower() != _REMAINING])
            self.gate.observe(status, own)
