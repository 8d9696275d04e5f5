"""The pieces a limiter is built of: a FIFO semaphore and the headers' numbers.

Shared by :class:`~sentry_members_async.ratelimit.RateLimiter` and the Redis
limiter (``ratelimit_redis``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib

__all__ = ["FifoSlots"]


class FifoSlots:
    """A FIFO semaphore whose size can change."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.used < self.size and not self._waiters:
            self.used += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # we were handed a slot as we got cancelled: give it back
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            raise

    def release(self) -> None:
        self.used -= 1
        self._wake()

    def resize(self, size: int) -> None:
        self.size = size
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used < self.size:
            future = self._waiters.popleft()
            if not future.done():
                self.used += 1
                future.set_result(None)
