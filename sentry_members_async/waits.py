"""The wait a 429 names: ``Retry-After`` (seconds or an HTTP date) and Sentry's
``X-Sentry-Rate-Limit-Reset``, read in one place.

The retry policy (:mod:`.retry`), the rate limiters' pause (:mod:`.ratelimit`,
:mod:`.ratelimit_redis`) and :attr:`.errors.RateLimitedError.retry_after` all
read :func:`requested_wait`; none of them parses these headers itself.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping

__all__ = ["parse_http_date", "parse_retry_after", "rate_limit_reset_delay", "requested_wait"]


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


def _reset_epoch(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("X-Sentry-Rate-Limit-Reset")
    if raw is None:
        return None
    try:
        reset = float(raw)
    except ValueError:
        return None
    return reset if math.isfinite(reset) else None


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
    reset = _reset_epoch(headers)
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
    reset = _reset_epoch(headers)
    if reset is not None and reset > current:
        return reset - current
    return None
