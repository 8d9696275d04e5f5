"""How the command line retries: as the SDK does, but a certificate problem is final at
once, and a connection that fails is said on stderr as it is retried.

An untrusted TLS certificate does not fix itself in the next 14 seconds of
backoff: the first failure ends the command with one line naming it (and
``--ca-bundle``). A refused or dropped connection is retried as the SDK's
policy says, and each retry is said (at most one line a second), so a
wrong ``--url`` is seen at once rather than after a silent wait.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from typing import Any

import attrs

from ..pipeline.observer import RetryEvent
from ..retry import RetryDecision, RetryPolicy
from ..transports.base import TransportError
from .output import err
from .safe import terminal_text

__all__ = ["CliRetryPolicy", "RetryNotes", "certificate_problem"]


def certificate_problem(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is a TLS certificate that was not trusted."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(error):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


@attrs.frozen
class CliRetryPolicy(RetryPolicy):
    """:class:`RetryPolicy`, with an untrusted certificate final at the first attempt."""

    def decide(
        self,
        *,
        method: str,
        attempt: int,
        elapsed: float,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        error: BaseException | None = None,
        idempotent: bool | None = None,
    ) -> RetryDecision:
        if isinstance(error, TransportError) and certificate_problem(error):
            return RetryDecision(False, reason="the server's TLS certificate is not trusted")
        return super().decide(
            method=method,
            attempt=attempt,
            elapsed=elapsed,
            status=status,
            headers=headers,
            error=error,
            idempotent=idempotent,
        )


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
