"""The server's clock as this host sees it, learned from its answers.

``X-Sentry-Rate-Limit-Reset`` is an epoch on the *server's* clock (Sentry's
fixed windows start at multiples of the window on it:
``_bucket_start_time`` in src/sentry/ratelimits/redis.py, the reset being
that start plus the window). Compared with this host's clock it is off by
their difference, which on a VM restored from a snapshot, a laptop after
sleep or a host without NTP is seconds to minutes: a client behind waits the
difference out in every window, one ahead sends into the server's current
window and draws 429s.

:class:`ServerClock` bounds the difference ``server - local`` (seconds) with
each answer, from what the server stamped on it while it was in flight
(between this host's send and receive times):

* ``Date`` (RFC 9110 6.6.1, whole seconds): the server's time was in
  ``[Date, Date + 1)``;
* the reset of the window that counted the request: the server's time was in
  ``[reset - window, reset)``.

The bounds of all answers are intersected, so they close in as answers come
from different points of the server's second. Its :attr:`offset` is 0 while
0 is within the bounds (a clock in sync, as NTP keeps it, is trusted as it
is), else the lower bound: the server's time is never placed ahead of where
it can be, so a window's end is never placed before the server's (no 429),
at the cost of waiting at most the bounds' width. Bounds that contradict
the learned ones (a clock was stepped) start the learning over.
"""

from __future__ import annotations

import math

from ..waits import parse_http_date

__all__ = ["ServerClock"]

_NO_LOW, _NO_HIGH = -math.inf, math.inf


class ServerClock:
    """Bounds on ``server clock - local clock`` (seconds), and the offset to use."""

    __slots__ = ("_last_date", "_last_date_value", "high", "low", "offset")

    def __init__(self) -> None:
        #: The difference is known to be within ``[low, high]``.
        self.low = -math.inf
        self.high = math.inf
        #: What the limiter adds to its clock to read the server's (see the module).
        self.offset = 0.0
        self._last_date: str | None = None
        self._last_date_value: float | None = None

    def __repr__(self) -> str:
        return f"ServerClock(offset={self.offset:+.3f}, low={self.low:+.3f}, high={self.high:+.3f})"

    def now(self, local: float) -> float:
        """The server's time when this host's clock reads ``local``."""
        return local + self.offset

    def learn(
        self,
        *,
        received: float,
        sent: float | None,
        date: str | None,
        reset: float | None,
        window: float | None,
    ) -> bool:
        """Narrow the bounds with one answer; returns whether :attr:`offset` changed.

        ``received``, ``sent``: this host's clock when the answer came and when
        its request left (``None`` if unknown: only lower bounds are learned).
        ``date``: the ``Date`` header; ``reset``: the reset epoch of the window
        that counted the request, of length ``window`` (``None`` if unknown).
        """
        if date != self._last_date:
            self._last_date, self._last_date_value = date, parse_http_date(date)
        low, high = _bounds(self._last_date_value, reset, window, received, sent)
        if low == _NO_LOW and high == _NO_HIGH:
            return False
        if low > self.high or high < self.low or low > high:
            # Contradicts what was learned: a clock was stepped. Start over.
            self.low, self.high = low, high
        else:
            self.low, self.high = max(self.low, low), min(self.high, high)
        old = self.offset
        if self.low <= 0.0 <= self.high:
            self.offset = 0.0
        else:
            self.offset = self.low if self.low > _NO_LOW else self.high
        return self.offset != old


def _bounds(
    stamp: float | None,
    reset: float | None,
    window: float | None,
    received: float,
    sent: float | None,
) -> tuple[float, float]:
    """The bounds one answer sets on ``server - local`` (see the module)."""
    low, high = _NO_LOW, _NO_HIGH
    if stamp is not None:
        low = stamp - received
        if sent is not None:
            high = stamp + 1.0 - sent
    if reset is not None:
        if window and reset - window - received > low:
            low = reset - window - received
        if sent is not None and reset - sent < high:
            high = reset - sent
    return low, high
