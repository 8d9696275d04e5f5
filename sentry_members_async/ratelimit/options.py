"""The checks of a :class:`~sentry_members_async.ratelimit.RateLimiter`'s options."""

from __future__ import annotations

import math

__all__ = ["check_options", "check_rate_limit"]


def check_options(
    max_concurrency: int, rate: float | None, safety: float, max_pause: float
) -> None:
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    if not 0.0 < safety <= 1.0:
        raise ValueError("safety must be within (0, 1]")
    if not max_pause >= 0:
        raise ValueError("max_pause must be a number of seconds (>= 0)")


def check_rate_limit(value: object) -> tuple[int, float] | None:
    """``(requests, window seconds)``, both positive, or ``None``."""
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError("rate_limit must be a (requests, window seconds) tuple")
    requests, window = value
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
        raise ValueError("rate_limit's requests must be a positive integer")
    if (
        isinstance(window, bool)
        or not isinstance(window, int | float)
        or not math.isfinite(window)
        or window <= 0
    ):
        raise ValueError("rate_limit's window must be a positive number of seconds")
    return requests, float(window)
