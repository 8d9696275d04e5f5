"""The retry policy, sans-I/O: given a failure, retry or not, and after how long.

* 429 from a daily invite quota (:class:`InviteQuotaError`): never retried,
  waiting seconds does not lift it.
* Any other 429: retried, after the wait it names
  (:func:`~.errors.requested_wait`, shared with the limiter and
  ``RateLimitedError.retry_after``: ``Retry-After``, else the window reset
  from ``X-Sentry-Rate-Limit-Reset``, each only when still ahead), else after
  backoff. Sentry 23.7 sends no ``Retry-After`` on any API 429, and a
  self-hosted install no rate-limit header at all: then backoff it is.
* 502, 503, 504 and :class:`ConnectError` (surely not sent): retried for any
  method.
* :class:`ResponseLostError` and timeouts (the server may have acted):
  retried only for idempotent requests (GET, HEAD, PUT, DELETE, and a request
  the caller marks idempotent, such as SCIM ``PATCH active=false``). A POST
  whose answer was lost is never blindly re-sent: the invite path checks by
  e-mail whether the first attempt took effect.
* Everything else (400, 401, 403, 404, 409, 500, ...) is final.

Exponential backoff with full jitter, a cap, a maximum number of attempts and
an overall deadline.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable, Mapping

import attrs

from .errors import InviteQuotaError, requested_wait
from .transports.base import RequestTimeoutError, TransportError

__all__ = ["IDEMPOTENT_METHODS", "RetryDecision", "RetryPolicy", "is_idempotent"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def is_idempotent(method: str, override: bool | None = None) -> bool:
    """Whether sending ``method`` twice has the effect of sending it once."""
    return override if override is not None else method.upper() in IDEMPOTENT_METHODS


@attrs.frozen
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


@attrs.frozen
class RetryPolicy:
    """When and how long to retry. The defaults need no tuning.

    :ivar max_attempts: attempts in all, the first included.
    :ivar base_delay: first backoff step in seconds (doubles each attempt).
    :ivar max_delay: cap of one backoff step, and of a server-requested wait
        the policy accepts (a longer ``Retry-After`` is final).
    :ivar deadline: seconds from the first attempt after which no retry starts.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    deadline: float | None = 600.0
    jitter: Callable[[float, float], float] = attrs.field(default=random.uniform, repr=False)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in ``[0, min(max_delay, base * 2**(attempt-1))]``."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return self.jitter(0.0, ceiling)

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
        """Decide after attempt number ``attempt`` (1-based) failed.

        Give ``status`` and ``headers`` for an error answer (and ``error``, the
        typed error, when known), or ``error`` for a transport failure.
        """
        if isinstance(error, InviteQuotaError):
            return RetryDecision(False, reason="daily invite quota reached: not retried")
        if attempt >= self.max_attempts:
            return RetryDecision(False, reason=f"gave up after {attempt} attempts")
        if isinstance(error, TransportError) and certificate_problem(error):
            # an untrusted certificate does not fix itself in the next seconds of backoff
            return RetryDecision(False, reason="the server's TLS certificate is not trusted")
        if status is not None:
            decision = self._after_answer(attempt, status, headers)
        elif isinstance(error, TransportError):
            decision = self._after_lost_exchange(method, attempt, error, idempotent)
        else:
            return RetryDecision(False, reason="not a retryable failure")
        if (
            decision.retry
            and self.deadline is not None
            and elapsed + decision.delay > self.deadline
        ):
            return RetryDecision(False, reason=f"deadline of {self.deadline:g} s reached")
        return decision

    def _after_answer(
        self, attempt: int, status: int, headers: Mapping[str, str] | None
    ) -> RetryDecision:
        """An error status: retried after the server's wait (429) or a backoff step."""
        if status not in RETRY_STATUSES:
            return RetryDecision(False, reason=f"{status} is final")
        reason = f"answered {status}"
        wait = requested_wait(headers) if status == 429 and headers is not None else None
        if wait is None:
            return RetryDecision(True, self.backoff(attempt), reason)
        if wait > self.max_delay:
            return RetryDecision(False, reason=f"server asked to wait {wait:g} s, over max_delay")
        # a little jitter so paused callers do not return in one burst
        return RetryDecision(True, wait + self.jitter(0.0, min(0.25, self.base_delay)), reason)

    def _after_lost_exchange(
        self, method: str, attempt: int, error: TransportError, idempotent: bool | None
    ) -> RetryDecision:
        """A transport failure: re-sent unless the server may have acted on a
        non-idempotent request."""
        if error.may_have_reached_server and not is_idempotent(method, idempotent):
            return RetryDecision(
                False, reason=f"{type(error).__name__} on a non-idempotent {method}: not re-sent"
            )
        kind = "timeout" if isinstance(error, RequestTimeoutError) else type(error).__name__
        return RetryDecision(True, self.backoff(attempt), kind)


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
