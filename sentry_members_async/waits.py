"""An answer's rate-limit headers, read in one place (gidgethub's ``RateLimit.from_http``).

:class:`RateLimitHeaders` is Sentry's ``X-Sentry-Rate-Limit-*`` headers of one
answer as numbers; :func:`requested_wait` is the wait a 429 names
(``Retry-After``, seconds or an HTTP date, else the reset). The retry policy
(:mod:`.retry`), the rate limiters (:mod:`.ratelimit`, :mod:`.ratelimit_redis`)
and :attr:`.errors.RateLimitedError.retry_after` all read them here; none of
them parses these headers itself.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping

import attrs

__all__ = [
    "RateLimitHeaders",
    "parse_http_date",
    "parse_retry_after",
    "rate_limit_reset_delay",
    "requested_wait",
]


@attrs.frozen(slots=True)
class RateLimitHeaders:
    """Sentry's rate-limit headers of one answer (``None``: absent or not a number).

    Sentry sets them in ``RatelimitMiddleware`` (src/sentry/middleware/ratelimit.py):
    a fixed window of ``limit`` requests ending at ``reset`` (epoch seconds on
    the server's clock), and a cap of ``concurrent_limit`` requests in flight.
    """

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    concurrent_limit: int | None = None
    concurrent_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        get = headers.get
        return cls(
            _int(get("X-Sentry-Rate-Limit-Limit")),
            _int(get("X-Sentry-Rate-Limit-Remaining")),
            _float(get("X-Sentry-Rate-Limit-Reset")),
            _int(get("X-Sentry-Rate-Limit-ConcurrentLimit")),
            _int(get("X-Sentry-Rate-Limit-ConcurrentRemaining")),
        )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        result = float(value) if value is not None else None
    except ValueError:
        return None
    return result if result is None or math.isfinite(result) else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date).

    Returns ``None`` for a missing or unparsable value; never negative (a date
    in the past is ``0.0``). What a 429 *asks for* is :func:`requested_wait`,
    which tells a past date from a wait of 0.
    """
    parsed = _retry_after(value, time.time() if now is None else now)
    return None if parsed is None else max(0.0, parsed[0])


def _retry_after(value: str | None, now: float) -> tuple[float, bool] | None:
    """``Retry-After`` as (seconds from ``now``, unclamped; whether it was an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            return None
        return seconds, False
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - now, True


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP date (a ``Date`` header), or ``None`` if it is not one."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None  # an HTTP date is always GMT; one without a zone is not one
    stamp = when.timestamp()
    return stamp if math.isfinite(stamp) else None


def _server_now(headers: Mapping[str, str]) -> float:
    """The answer's ``Date`` (epoch seconds), else this host's clock."""
    date = parse_http_date(headers.get("Date"))
    return time.time() if date is None else date


def rate_limit_reset_delay(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds until ``X-Sentry-Rate-Limit-Reset`` (epoch seconds), if present (``0.0`` if past)."""
    reset = _float(headers.get("X-Sentry-Rate-Limit-Reset"))
    if reset is None:
        return None
    current = _server_now(headers) if now is None else now
    return max(0.0, reset - current)


def requested_wait(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a 429 names, in seconds; ``None`` when it names none.

    The one source of that wait: the retry policy, the rate limiter's pause and
    :attr:`RateLimitedError.retry_after` all read it here. In order:

    * ``Retry-After`` in delta-seconds: that many (``0`` is a wait of 0; a
      negative one, which RFC 9110 does not allow, counts as 0);
    * ``Retry-After`` as an HTTP date still ahead of ``now``: the seconds until it;
    * ``X-Sentry-Rate-Limit-Reset`` (epoch seconds) still ahead of ``now``: the
      seconds until the window resets;
    * else ``None``: a 429 without either (Sentry 23.7 sends no ``Retry-After``;
      a self-hosted install no rate-limit header), or naming only a time that
      is past by our clock. A past time names no wait: with a clock skewed
      ahead of the server's, reading it as "0 s" would make every retry
      instant, so the caller backs off instead.

    ``now``: the server's clock (epoch seconds) when the answer was made. By
    default the answer's own ``Date`` (the server's clock, RFC 9110 6.6.1),
    else this host's ``time.time()``: both ``Retry-After`` dates and the reset
    are on the server's clock, and this host's may be minutes off it. (``Date``
    is in whole seconds, so a wait read against it is up to 1 s long, never
    short.)
    """
    current = _server_now(headers) if now is None else now
    parsed = _retry_after(headers.get("Retry-After"), current)
    if parsed is not None:
        seconds, is_date = parsed
        if not is_date:
            return max(0.0, seconds)
        if seconds > 0:
            return seconds
    reset = _float(headers.get("X-Sentry-Rate-Limit-Reset"))
    if reset is not None and reset > current:
        return reset - current
    return None
