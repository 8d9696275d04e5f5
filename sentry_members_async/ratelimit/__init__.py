"""Rate limiting shared by every request of a client: use the whole limit, never trip it.

Sentry limits each token with a *fixed window* (``X-Sentry-Rate-Limit-Limit``
requests until ``X-Sentry-Rate-Limit-Reset``, epoch seconds) and optionally a
concurrent cap (``X-Sentry-Rate-Limit-ConcurrentLimit``). A continuous token
bucket does not fit a fixed window: tokens that refill mid-window are spent in
the same window and trip it. :class:`RateLimiter` therefore combines

* a concurrency cap (FIFO), lowered to the server's concurrent limit;
* a token bucket whose refill follows the server's windows: it learns the
  limit, the window's end and its length from the headers of every answer, and
  refills to the full limit when a window ends (so it runs at the limit, not
  below it); answers showing more use than it counted (another process on the
  same token) drain it accordingly;
* an optional continuous token bucket (``rate``, ``burst``) for a local cap of
  your own;
* a pause of every caller until ``Retry-After`` (or the window reset) on a 429;
  a 429 that names neither (Sentry 23.7 never sends ``Retry-After``; a
  self-hosted install sends no rate-limit header at all) pauses everyone for
  an exponential backoff with jitter, one step per burst of 429s, started
  over by the next answer that is not a 429.

A pause learned from the server (a 429's wait, or the end of a spent window)
longer than ``max_pause`` is not waited out: the caller gets a
:class:`~sentry_members_async.errors.RateLimitedError` at once, so a broken or
hostile server can never park a client for years.

The reset header is an epoch on the server's clock, which may be minutes off
this host's: the window's end is placed on the server's clock as the answers
show it (``Date`` and the resets themselves, :mod:`.skew`), never this host's.

Before the first answer it sends a single probe request, so it never bursts
into an unknown limit; given the limit up front (``rate_limit=(40, 1.0)``) it
skips the probe and uses the whole limit from the first request. Monotonic
clock, no busy waiting; waiters are served in FIFO order and a cancelled
waiter gives its place back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Protocol, runtime_checkable

from ..errors import RateLimitedError, requested_wait
from ..waits import RateLimitHeaders
from .options import check_options, check_rate_limit
from .skew import ServerClock
from .slots import FifoSlots

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_PAUSE",
    "Limiter",
    "NoLimiter",
    "RateLimiter",
    "pause_too_long",
]

#: Longest server-imposed pause a limiter waits out by default (seconds).
DEFAULT_MAX_PAUSE = 300.0
#: Requests in flight at most, per token: sentry.io's concurrent limit.
DEFAULT_MAX_CONCURRENCY = 25
#: The first pause after a 429 that says nothing of when to come back (seconds),
#: doubled for each burst of such 429s in a row, up to the cap.
HEADERLESS_BACKOFF = 1.0
HEADERLESS_BACKOFF_CAP = 30.0


def pause_too_long(wait: float, max_pause: float) -> RateLimitedError:
    """The error a limiter raises instead of waiting ``wait`` seconds (over ``max_pause``).

    It names no request; the client fills in the method and path.
    """
    return RateLimitedError(
        429,
        "",
        "",
        f"the server imposed a pause of {wait:.0f} s, longer than max_server_pause "
        f"({max_pause:g} s): failing at once instead of waiting",
        retry_after=wait,
    )


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class Limiter(Protocol):
    """What the client needs from a limiter (a cross-process one can replace it)."""

    def acquire(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for the right to send one request; hold it while the request is in flight."""
        ...

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer's status and rate-limit headers."""
        ...


class NoLimiter:
    """A limiter that never waits (tests, or a server without limits)."""

    def acquire(self) -> contextlib.AbstractAsyncContextManager[None]:
        return _NO_WAIT

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        return None


_NO_WAIT: contextlib.AbstractAsyncContextManager[None] = contextlib.nullcontext()

#: The limiter and the send number of the request this task holds a permit for:
#: an answer observed inside the permit is placed among the requests sent after it.
#: (The third item: the monotonic time it was sent.)
_HELD: contextvars.ContextVar[tuple[RateLimiter, int, float] | None] = contextvars.ContextVar(
    "sentry_members_async_permit", default=None
)


class RateLimiter:
    """Token bucket refilled on the server's windows, plus a concurrency cap.

    :param max_concurrency: requests in flight at most (lowered to the server's
        ``ConcurrentLimit`` when that is smaller). sentry.io allows 25.
    :param rate: optional local cap, requests per second (continuous bucket).
    :param burst: the local bucket's capacity (default: ``rate``, at least 1).
    :param adaptive: learn the server's window from its headers (default on).
    :param safety: fraction of the server's limit to use (``1.0``: all of it).
    :param max_pause: longest pause learned from the server (``Retry-After``, a
        window's reset) to wait out; past it :meth:`acquire` raises
        :class:`~sentry_members_async.errors.RateLimitedError` at once.
    :param rate_limit: the server's limit if you know it, ``(requests, window
        seconds)`` (sentry.io: ``(40, 1.0)`` for most endpoints): no probe, the
        whole limit from the first request. The server's headers still win.
    :param jitter: ``uniform(low, high)``, for the pause after a 429 that names
        no wait (tests pass their own).
    """

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rate: float | None = None,
        burst: int | None = None,
        adaptive: bool = True,
        safety: float = 1.0,
        max_pause: float = DEFAULT_MAX_PAUSE,
        rate_limit: tuple[int, float] | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        check_options(max_concurrency, rate, safety, max_pause)
        hint = check_rate_limit(rate_limit)
        self.max_pause = float(max_pause)
        self.max_concurrency = max_concurrency
        self.rate = rate
        self.burst = burst if burst is not None else max(1, math.floor(rate or 1))
        self.adaptive = adaptive
        self.safety = safety
        #: Longest time a request is assumed to travel to the server.
        self.straggler_margin = 0.1
        self._clock = clock
        self._wall = wall_clock
        #: The server's clock against ``wall_clock``, learned from its answers.
        self.server_clock = ServerClock()
        self._sleep = sleep
        self._jitter = jitter
        #: bursts of 429s in a row that named no wait (the backoff's exponent)
        self._strikes = 0
        self._slots = FifoSlots(max_concurrency)
        self._lock = asyncio.Lock()
        # local continuous bucket
        self._tokens = float(self.burst)
        self._refilled_at = clock()
        self._init_window_model(hint)
        self._paused_until = 0.0
        self._rtt = 0.0
        self._sent_at: collections.deque[float] = collections.deque(maxlen=256)
        #: Counters for reports: requests let through, 429s seen, seconds paused.
        self.sent = 0
        self.rate_limited = 0

    def _init_window_model(self, hint: tuple[int, float] | None) -> None:
        """The model of the server's window: unknown (probe first) unless ``hint`` gives it."""
        self.limit: int | None = None
        self.window: float | None = None
        self._window_end: float | None = None  # monotonic
        self._reset_epoch: float | None = None
        self._spent = 0  # requests sent in the current server window
        self._in_flight = 0  # requests let through and not yet answered
        self._stale_reset: float | None = None  # answers for this reset or older are stale
        self._reserve = 0  # budget held back until the window's first answer
        self._probing = self.adaptive
        self._probe_out = False
        self._learned = asyncio.Event()
        if hint is not None:
            # Known up front: no probe; the window's end comes with the first answer.
            self.limit, self.window = hint
            self._probing = False

    def __repr__(self) -> str:
        return (
            f"RateLimiter(limit={self.limit}, window={self.window}, "
            f"max_concurrency={self._slots.size}, rate={self.rate})"
        )

    # -- acquiring ----------------------------------------------------------

    def acquire(self) -> contextlib.AbstractAsyncContextManager[None]:
        return _Permit(self)

    def _held(self, probe: bool, started: float | None) -> None:
        """A permit is given back; ``started`` is set when its request ended normally."""
        if started is not None:
            took = self._clock() - started
            self._rtt = 0.8 * self._rtt + 0.2 * took if self._rtt else took
        if probe:
            self._probe_out = False
            if not self._learned.is_set():
                # No answer with headers (failure, or a server without limits):
                # let the next caller probe.
                self._learned.set()
                self._learned = asyncio.Event()
        self._slots.release()

    async def _take(self) -> bool:
        """Wait (FIFO) until one request may go; returns whether it is the probe."""
        async with self._lock:
            while True:
                now = self._clock()
                delay = self._paused_until - now
                if delay > 0:
                    if delay > self.max_pause:
                        raise pause_too_long(delay, self.max_pause)
                    await self._sleep(delay)
                    continue
                if self._probing and self.adaptive:
                    if self._probe_out:
                        await self._learned.wait()
                        continue
                    self._probe_out = True
                    self._commit(now)
                    return True
                window_delay = self._window_delay(now)
                if window_delay > self.max_pause:
                    raise pause_too_long(window_delay, self.max_pause)
                delay = max(window_delay, self._bucket_delay(now))
                if delay > 0:
                    await self._sleep(delay)
                    continue
                self._commit(now)
                return False

    def _commit(self, now: float) -> None:
        if self.rate is not None:
            self._tokens -= 1.0
        self._spent += 1
        self.sent += 1
        self._sent_at.append(now)

    def _bucket_delay(self, now: float) -> float:
        if self.rate is None:
            return 0.0
        self._tokens = min(float(self.burst), self._tokens + (now - self._refilled_at) * self.rate)
        self._refilled_at = now
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def _window_delay(self, now: float) -> float:
        if self.limit is None:
            return 0.0
        if self._window_end is not None and now >= self._window_end:
            self._roll(now)
        budget = max(1, math.floor(self.limit * self.safety) - self._reserve)
        if self._spent < budget:
            return 0.0
        end = self._window_end
        if end is None:
            # The window's end is unknown until the next answer; with nothing in
            # flight no answer will come, so one request goes to ask.
            return max(self._rtt, 0.01) if self._in_flight else 0.0
        return end - now

    def _roll(self, now: float) -> None:
        """The server's window ended: refill, counting requests that may land in the new one."""
        assert self._window_end is not None
        old_end = self._window_end
        if self.window:
            steps = math.floor((now - old_end) / self.window) + 1
            self._window_end = old_end + steps * self.window
            if self._reset_epoch is not None:
                self._reset_epoch += steps * self.window
        else:
            self._window_end = None  # the next answer tells where the new window ends
            # answers still arriving for the window that ended must not count in this one
            self._stale_reset = self._reset_epoch
        # A request sent just before the boundary may reach the server after it. The
        # round trip includes the server's work, so half of it overstates the transit:
        # cap the margin.
        margin = min(self._rtt / 2, self.straggler_margin)
        self._spent = sum(1 for t in self._sent_at if t >= old_end - margin)
        # Requests sent a little earlier most likely landed in the old window; keep
        # their number in reserve until an answer from the new window shows the
        # server's count (a pause in this process may have delayed them).
        self._reserve = sum(1 for t in self._sent_at if old_end - 0.5 <= t < old_end - margin)

    # -- learning -----------------------------------------------------------

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn the server's limit, window and usage; pause everyone on a 429."""
        now = self._clock()
        limits = RateLimitHeaders.from_headers(headers)
        wall = self._server_time(headers.get("Date"), limits.reset, now, self._wall())
        if status == 429:
            self.rate_limited += 1
            self._pause(headers, now, wall)
        else:
            self._strikes = 0
        concurrent = limits.concurrent_limit
        if concurrent is not None and 0 < concurrent < self._slots.size:
            self._slots.resize(concurrent)
        if self.adaptive:
            self._learn(status, limits, now, wall)

    def _server_time(self, date: str | None, reset: float | None, now: float, wall: float) -> float:
        """The server's clock now, as this answer narrows it (never this host's own:
        the reset header is an epoch on the server's clock, see :mod:`.skew`)."""
        held = _HELD.get()
        sent = wall - (now - held[2]) if held is not None and held[0] is self else None
        server = self.server_clock
        old = server.offset
        changed = server.learn(
            received=wall,
            sent=sent,
            date=date,
            reset=reset,
            window=self.window,
        )
        if changed and self._window_end is not None:
            # The window's end, placed on the old reading of the server's clock.
            self._window_end -= server.offset - old
        return server.now(wall)

    def _pause(self, headers: Mapping[str, str], now: float, wall: float) -> None:
        """A 429: every caller waits for ``Retry-After``, else the window's reset
        (when still ahead), else a step of exponential backoff with jitter."""
        wait = requested_wait(headers, now=wall)
        if wait is None:
            wait = self._backoff(now)
        else:
            self._strikes = 0
        self._paused_until = max(self._paused_until, now + wait)

    def _backoff(self, now: float) -> float:
        """The pause after a 429 that names no wait. The 429s of one burst (answers
        to requests in flight together, arriving while the pause holds) are one
        step; "equal jitter" spreads the callers' return without a pause of 0."""
        if now >= self._paused_until:
            self._strikes += 1
        step = min(HEADERLESS_BACKOFF_CAP, HEADERLESS_BACKOFF * 2.0 ** min(self._strikes - 1, 16))
        return step / 2 + self._jitter(0.0, step / 2)

    def _learn(self, status: int, limits: RateLimitHeaders, now: float, wall: float) -> None:
        """The server's window from an answer's rate-limit headers."""
        limit, remaining, reset = limits.limit, limits.remaining, limits.reset
        if limit is None or reset is None:
            if self._probing and status < 500:
                self._probed()  # no limit announced: only the concurrency cap applies
            return
        self.limit = limit
        if self._stale_reset is not None and reset <= self._stale_reset + 1e-6:
            return  # an answer from the window that already ended
        used = limit - remaining if remaining is not None else 0
        if self._reset_epoch is None or reset > self._reset_epoch + 1e-6:
            # The first answer, or one from a window our model has not reached yet.
            self._enter_window(reset, used, now, wall)
        elif abs(reset - self._reset_epoch) <= 1e-6:
            # Same window: the server may count more than we sent (another process,
            # or requests sent before the window began that reached it after).
            self._spent = max(self._spent, self._counted(used))
        elif self.window and reset > self._reset_epoch - self.window + 1e-6:
            # A reset between our window's and the one before: the windows are
            # shorter than learned (the first two answers came from windows further
            # apart than one). This answer's window is the server's current one.
            self.window = self._reset_epoch - reset
            self._reset_epoch = reset
            self._window_end = now + (reset - wall)
            self._spent = self._counted(used)
        else:
            # An answer from the window before ours: its request was counted there, so
            # one request held in reserve (sent just before that window ended) was not.
            if (
                self._rtt < 0.5
                and self.window
                and abs(reset + self.window - self._reset_epoch) <= 1e-6
            ):
                self._reserve = max(0, self._reserve - 1)
            return
        self._reserve = 0
        if self._probing:
            self._probed()

    def _enter_window(self, reset: float, used: int, now: float, wall: float) -> None:
        """An answer from a window the model has not reached: learn its length and end."""
        if self._reset_epoch is not None:
            length = reset - self._reset_epoch
            if self.window is None or length < self.window:
                self.window = length
        if self._reset_epoch is None or self._window_end is None:
            # First answer, or the first of the window we rolled into: our own
            # count is exact for us; the server's may add other processes' use.
            self._spent = max(self._spent, self._counted(used))
        else:
            # The server is in a window our clock has not reached (clock skew):
            # count what it saw, plus what we sent since that answer left it.
            recent = sum(1 for t in self._sent_at if t >= now - self._rtt)
            self._spent = max(used, recent)
        self._reset_epoch = reset
        # Not clamped to now: an answer that arrives after its window ended places
        # that end in the past, and the next windows (when their length is known)
        # follow from it, aligned with the server's, not shifted to this answer.
        self._window_end = now + (reset - wall)

    def _counted(self, used: int) -> int:
        """The server's count now: its count at the answered request, plus our later sends.

        The server counted the answered request as its ``used``-th in the window;
        the requests this limiter let through after it reached the server after
        it, so they are not in ``used``. Without this, the first answer from a
        window, if it is for a request that straggled in from the window before,
        says "1 used" while the rest of the stragglers are already counted.
        """
        held = _HELD.get()
        if held is None or held[0] is not self:
            return used  # not observed inside one of our permits
        return used + (self.sent - held[1])

    def _probed(self) -> None:
        """The probe's answer came: let everyone through."""
        self._probing = False
        self._learned.set()


class _Permit:
    """The right to send one request, held while it is in flight.

    A small class rather than ``@asynccontextmanager``: it is entered once per
    request, and a generator-based manager costs several times as much.
    """

    __slots__ = ("_limiter", "_probe", "_started", "_token")

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter
        self._probe = False
        self._started = 0.0

    async def __aenter__(self) -> None:
        limiter = self._limiter
        await limiter._slots.acquire()
        try:
            self._probe = await limiter._take()
        except BaseException:
            limiter._held(False, None)
            raise
        self._started = limiter._clock()
        self._token = _HELD.set((limiter, limiter.sent, self._started))
        limiter._in_flight += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        limiter = self._limiter
        limiter._in_flight -= 1
        _HELD.reset(self._token)
        limiter._held(self._probe, self._started if exc_type is None else None)
