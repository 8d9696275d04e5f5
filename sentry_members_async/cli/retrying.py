"""How the command line shows retries: a connection that fails is said on stderr as it
is retried (at most one line a second), so a wrong ``--url`` is seen at once rather
than after a silent wait. (An untrusted TLS certificate is final at the first attempt:
the SDK's :class:`~..retry.RetryPolicy` says so; the command names ``--ca-bundle``.)
"""

from __future__ import annotations

import time
from typing import Any

from ..pipeline.observer import RetryEvent
from .output import err
from .safe import terminal_text

__all__ = ["RetryNotes"]


class RetryNotes:
    """An ``on_retry`` hook: one stderr line per retry of a lost connection (one a second)."""

    def __init__(self, *, quiet: bool, every: float = 1.0) -> None:
        self.quiet = quiet
        self.every = every
        self._last = 0.0

    def __call__(self, event: RetryEvent) -> Any:
        if self.quiet or event.status is not None:  # answers (429, 5xx) show in progress
            return None
        now = time.monotonic()
        if now - self._last < self.every:
            return None
        self._last = now
        why = terminal_text(event.error or event.reason)
        err.print(
            f"{event.method} {event.path} failed ({why}); retrying in {event.delay:.1f} s "
            f"(attempt {event.attempt + 1})"
        )
        return None
