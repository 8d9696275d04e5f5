"""One rate limit across processes and hosts: the limiter's state in Redis (extra ``redis``).

A fleet of workers, or a bot plus a nightly job, share one Sentry token and so
one rate limit. :class:`RedisLimiter` keeps the window model of
:class:`~sentry_members_async.ratelimit.RateLimiter` (limit, window end and
length, requests spent, the 429 pause) in a Redis hash, changed only by two
atomic server-side scripts that read Redis's own clock, so every process
agrees. The key is a hash of the token, never the token.

What one process learns from ``X-Sentry-Rate-Limit-*`` headers or a 429 is
seen by all. The concurrency cap stays per process. Every Redis call is
bounded by ``socket_timeout``, whoever made the client (a client of the
user's may have no timeout at all). If Redis cannot be reached or does not
answer in time, the limiter logs a warning and carries on with a local
:class:`RateLimiter`: the job never stops. Meanwhile it asks Redis again
(``recovery_interval``, doubled after each failed try, at most
:data:`RECOVERY_CAP`), and goes back to the shared state, with a log line,
once Redis answers.

The window's end is written on Redis's clock: the reset header is an epoch
on the server's clock (read through :class:`~.ratelimit.skew.ServerClock`),
so what is sent is the time left until it, never the epoch compared with a
host's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .errors import requested_wait
from .ratelimit import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_PAUSE, RateLimiter, pause_too_long
from .ratelimit.skew import ServerClock
from .ratelimit.slots import FifoSlots
from .waits import RateLimitHeaders

__all__ = ["RECOVERY_CAP", "RedisLimiter"]

#: What a Redis that is down or stalled raises (asyncio's TimeoutError is
#: OSError's TimeoutError only from Python 3.11).
_DOWN = (RedisError, OSError, asyncio.TimeoutError)

#: Longest wait between two tries of a Redis that did not answer (seconds).
RECOVERY_CAP = 30.0

logger = logging.getLogger("sentry_members_async")

# KEYS[1]: the state hash. Returns 0 when a request may go, else milliseconds to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = KEYS[1]
local margin = tonumber(ARGV[1])
local paused = tonumber(redis.call('HGET', h, 'paused') or '0')
if paused > now then return paused - now end
local limit = tonumber(redis.call('HGET', h, 'limit') or '-1')
if limit < 0 then
  local probe = tonumber(redis.call('HGET', h, 'probe') or '0')
  if probe > now then return 50 end
  redis.call('HSET', h, 'probe', now + 10000)
  redis.call('PEXPIRE', h, 3600000)
  return 0
end
if limit == 0 then return 0 end
local wend = tonumber(redis.call('HGET', h, 'wend') or '0')
local window = tonumber(redis.call('HGET', h, 'window') or '0')
local spent = tonumber(redis.call('HGET', h, 'spent') or '0')
if wend > 0 and now >= wend then
  if window > 0 then
    wend = wend + (math.floor((now - wend) / window) + 1) * window
  else
    wend = 0
  end
  spent = tonumber(redis.call('HGET', h, 'late') or '0')
  redis.call('HSET', h, 'wend', wend, 'spent', spent, 'late', 0, 'confirmed', 0)
end
if spent < limit then
  redis.call('HINCRBY', h, 'spent', 1)
  if wend > 0 and wend - now < margin then redis.call('HINCRBY', h, 'late', 1) end
  redis.call('PEXPIRE', h, 3600000)
  return 0
end
if wend == 0 then return 50 end
return wend - now
"""

# ARGV: status, limit or '', remaining or '', reset (the server's epoch, ms) or '',
# wait (ms) or '', ms until the reset by the server's clock or ''. The reset names
# the window; its end on Redis's clock ('wend') is now + the ms until it.
_OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = KEYS[1]
local status = tonumber(ARGV[1])
if status == 429 then
  local wait = tonumber(ARGV[5]) or 1000
  local paused = tonumber(redis.call('HGET', h, 'paused') or '0')
  if now + wait > paused then redis.call('HSET', h, 'paused', now + wait) end
end
local limit = tonumber(ARGV[2])
local reset = tonumber(ARGV[4])
if limit == nil or reset == nil then
  if status < 500 and tonumber(redis.call('HGET', h, 'limit') or '-1') < 0 then
    redis.call('HSET', h, 'limit', 0)
  end
  redis.call('HDEL', h, 'probe')
  return 0
end
local used = limit - (tonumber(ARGV[3]) or limit)
local rend = now + (tonumber(ARGV[6]) or (reset - now))
redis.call('HSET', h, 'limit', limit)
local old = tonumber(redis.call('HGET', h, 'reset') or '0')
local wend = tonumber(redis.call('HGET', h, 'wend') or '0')
local spent = tonumber(redis.call('HGET', h, 'spent') or '0')
local window = tonumber(redis.call('HGET', h, 'window') or '0')
-- a window end rolled on by whole windows meets rend within half a window
local slack = 500
if window > 0 then slack = window / 2 end
if reset > old + 0.5 then
  if old > 0 then
    if window == 0 or reset - old < window then redis.call('HSET', h, 'window', reset - old) end
  end
  if old == 0 or wend == 0 or wend >= rend - slack then
    if used > spent then spent = used end
  else
    spent = used
  end
  redis.call('HSET', h, 'reset', reset, 'wend', rend, 'spent', spent)
elseif math.abs(reset - old) <= 0.5 then
  if used > spent then redis.call('HSET', h, 'spent', used) end
end
redis.call('HDEL', h, 'probe')
redis.call('PEXPIRE', h, 3600000)
return 0
"""


class RedisLimiter:
    """A :class:`~sentry_members_async.ratelimit.Limiter` whose state lives in Redis.

    :param redis: a ``redis.asyncio.Redis`` client or a URL (``redis://host:6379/0``).
    :param key: the state's key; use :meth:`for_token` to derive it from the token.
    :param max_concurrency: requests in flight at most, per process.
    :param max_pause: longest shared pause (a 429's wait, a window's reset) to
        wait out; past it :meth:`acquire` raises ``RateLimitedError`` at once.
    :param socket_timeout: longest wait for one Redis call (seconds), on a client
        given as a URL and on your own alike; past it the limiter goes local.
    :param recovery_interval: while local, the first wait before Redis is tried
        again (seconds); doubled after each failed try, up to :data:`RECOVERY_CAP`.
    """

    def __init__(
        self,
        redis: aioredis.Redis | str,
        key: str,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        straggler_margin: float = 0.1,
        socket_timeout: float = 2.0,
        max_pause: float = DEFAULT_MAX_PAUSE,
        recovery_interval: float = 5.0,
    ) -> None:
        _check_seconds(max_pause=max_pause, socket_timeout=socket_timeout)
        _check_seconds(recovery_interval=recovery_interval)
        #: Longest wait for one Redis call, whoever made the client.
        self.timeout = float(socket_timeout)
        self._init_recovery(float(recovery_interval))
        self._server = ServerClock()
        self._window: float | None = None
        self._last_reset: float | None = None
        self.max_pause = float(max_pause)
        if isinstance(redis, str):
            self._redis = aioredis.Redis.from_url(
                redis, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
            self._owns_redis = True
        else:
            self._redis = redis
            self._owns_redis = False
        self.key = key
        self._margin_ms = int(straggler_margin * 1000)
        self._slots = FifoSlots(max_concurrency)
        self._lock = asyncio.Lock()
        self._take: Any = self._redis.register_script(_TAKE)
        self._observe: Any = self._redis.register_script(_OBSERVE)
        #: The local limiter used once Redis could not be reached.
        self.fallback: RateLimiter | None = None
        self._pending: set[asyncio.Future[None]] = set()
        self.sent = 0
        self.rate_limited = 0

    def _init_recovery(self, interval: float) -> None:
        self.recovery_interval = interval
        #: The wait before the next try of Redis while on the local fallback.
        self.recovery_delay = interval
        #: Tries of Redis since it stopped answering (for reports and tests).
        self.recovery_tries = 0
        self._retry_at = 0.0
        self._recovering: asyncio.Task[None] | None = None
        self._down_since = 0.0

    @classmethod
    def for_token(cls, redis: aioredis.Redis | str, token: str, **kwargs: Any) -> RedisLimiter:
        """A limiter keyed by a hash of ``token`` (the token itself is never stored)."""
        digest = hashlib.sha256(token.encode()).hexdigest()[:32]
        return cls(redis, f"sentry-members-async:limit:{digest}", **kwargs)

    def __repr__(self) -> str:
        mode = "local fallback" if self.fallback is not None else "redis"
        return f"RedisLimiter(key={self.key!r}, {mode})"

    async def _run(self, script: Any, args: list[Any]) -> Any:
        """One script call, bounded by :attr:`timeout` (``TimeoutError`` past it)."""
        return await asyncio.wait_for(script(keys=[self.key], args=args), self.timeout)

    def _fail_over(self, exc: BaseException) -> RateLimiter:
        """Redis failed or did not answer in time: go local, and try it again later."""
        if self.fallback is None:
            self._down_since = time.monotonic()
            self.recovery_delay = self.recovery_interval
            self.recovery_tries = 0
            self._retry_at = self._down_since + self.recovery_delay
            logger.warning(
                "Redis is unreachable (%s): rate limiting falls back to this process "
                "alone until Redis answers again (next try in %g s)",
                type(exc).__name__,
                self.recovery_delay,
            )
            self.fallback = RateLimiter(max_concurrency=self._slots.size, max_pause=self.max_pause)
        return self.fallback

    def _maybe_recover(self) -> None:
        """While local: ask Redis again once the wait is over (in the background)."""
        if self._recovering is None and time.monotonic() >= self._retry_at:
            self._recovering = asyncio.ensure_future(self._try_redis())

    async def _try_redis(self) -> None:
        self.recovery_tries += 1
        try:
            await asyncio.wait_for(self._redis.ping(), self.timeout)
        except _DOWN as exc:
            self.recovery_delay = min(RECOVERY_CAP, self.recovery_delay * 2)
            self._retry_at = time.monotonic() + self.recovery_delay
            logger.debug(
                "Redis still unreachable (%s): next try in %g s",
                type(exc).__name__,
                self.recovery_delay,
            )
        else:
            logger.info(
                "Redis answers again after %.1f s: rate limiting is shared again",
                time.monotonic() - self._down_since,
            )
            self.fallback = None
        finally:
            self._recovering = None

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[None]:
        if self.fallback is not None:
            self._maybe_recover()
            async with self.fallback.acquire():
                yield
            return
        await self._slots.acquire()
        try:
            fallback = await self._take_shared()
            if fallback is not None:
                async with fallback.acquire():
                    yield
                return
            self.sent += 1
            token = _SENT.set((self, time.time()))
            try:
                yield
            finally:
                _SENT.reset(token)
        finally:
            self._slots.release()

    async def _take_shared(self) -> RateLimiter | None:
        """Wait for the shared state's leave to send; the local limiter if Redis failed."""
        async with self._lock:  # FIFO within this process
            while True:
                try:
                    wait_ms = int(await self._run(self._take, [self._margin_ms]))
                except _DOWN as exc:
                    return self._fail_over(exc)
                if wait_ms <= 0:
                    return None
                if wait_ms / 1000 > self.max_pause:
                    raise pause_too_long(wait_ms / 1000, self.max_pause)
                await asyncio.sleep(wait_ms / 1000)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Share what this answer says with every process (fire and forget)."""
        if status == 429:
            self.rate_limited += 1
        limits = RateLimitHeaders.from_headers(headers)
        concurrent = limits.concurrent_limit
        if concurrent is not None and 0 < concurrent < self._slots.size:
            self._slots.resize(concurrent)
        if self.fallback is not None:
            self.fallback.observe(status, headers)
            return
        limit, remaining, reset = limits.limit, limits.remaining, limits.reset
        server_now = self._server_now(headers, reset)
        # The wait a 429 names (errors.requested_wait, the one source): none for a
        # past Retry-After date or reset, so a skewed clock never makes it instant.
        wait = requested_wait(headers, now=server_now) if status == 429 else None
        args = [
            status,
            "" if limit is None else limit,
            "" if remaining is None else remaining,
            "" if reset is None else int(reset * 1000),
            "" if wait is None else int(wait * 1000),
            "" if reset is None else int((reset - server_now) * 1000),
        ]
        # observe() is synchronous by protocol; the update runs in a task of its own
        # and must land before the next acquire of this process reads the state.
        task = asyncio.ensure_future(self._send_observe(args))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _server_now(self, headers: Mapping[str, str], reset: float | None) -> float:
        """The server's clock now, as this process reads it (see :mod:`.ratelimit.skew`)."""
        if reset is not None:
            if self._last_reset is not None and reset > self._last_reset + 0.5:
                step = reset - self._last_reset
                self._window = step if self._window is None else min(self._window, step)
            self._last_reset = reset if self._last_reset is None else max(reset, self._last_reset)
        wall = time.time()
        held = _SENT.get()
        self._server.learn(
            received=wall,
            sent=held[1] if held is not None and held[0] is self else None,
            date=headers.get("Date"),
            reset=reset,
            window=self._window,
        )
        return self._server.now(wall)

    async def _send_observe(self, args: list[Any]) -> None:
        try:
            await self._run(self._observe, args)
        except _DOWN as exc:
            self._fail_over(exc)

    async def aclose(self) -> None:
        """Wait for pending updates and close the Redis client if the limiter made it."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._recovering is not None:
            await asyncio.gather(self._recovering, return_exceptions=True)
        if self._owns_redis:
            await self._redis.aclose()


def _check_seconds(**values: float) -> None:
    for name, value in values.items():
        if name == "max_pause" and not value >= 0:
            raise ValueError("max_pause must be a number of seconds (>= 0)")
        if name != "max_pause" and not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds")


#: The limiter and the wall-clock time of the request this task holds a permit for.
_SENT: contextvars.ContextVar[tuple[RedisLimiter, float] | None] = contextvars.ContextVar(
    "sentry_members_async_redis_sent", default=None
)
