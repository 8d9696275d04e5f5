"""The emulator's clock: the wall clock plus the steps :meth:`advance` took.

Daily invite quotas read this clock, so a test can lift them with
``advance(days=1)``; the per-second request windows read the wall clock
alone, since clients compare ``X-Sentry-Rate-Limit-Reset`` with theirs.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["EmulatorClock"]


class EmulatorClock:
    """Epoch seconds from ``wall``, moved forward by :meth:`advance`."""

    def __init__(self, wall: Callable[[], float]) -> None:
        self.wall = wall
        self._offset = 0.0

    def now(self) -> float:
        return self.wall() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
