"""The retry policy: every (failure kind, method) pair, waits, caps and the deadline."""

from __future__ import annotations

import email.utils
import time

import pytest
from yarl import URL

from sentry_members_async import ConnectError, RequestTimeoutError, ResponseLostError
from sentry_members_async.retry import RetryPolicy, is_idempotent
from sentry_members_async.transports import Request

REQ = Request("GET", URL("https://sentry.io/api/0/"))
METHODS = [
    ("GET", None),
    ("PUT", None),
    ("DELETE", None),
    ("POST", None),
    ("PATCH", None),
    ("PATCH", True),  # SCIM PATCH active=false is marked idempotent
]
FAILURES: list[tuple[str, object, set[str]]] = [
    # (kind, failure, methods that are retried)
    ("429", 429, {"all"}),
    ("502", 502, {"all"}),
    ("503", 503, {"all"}),
    ("504", 504, {"all"}),
    ("500", 500, set()),
    ("400", 400, set()),
    ("401", 401, set()),
    ("403", 403, set()),
    ("404", 404, set()),
    ("409", 409, set()),
    ("connect", ConnectError("refused", request=REQ), {"all"}),
    ("lost", ResponseLostError("reset", request=REQ), {"idempotent"}),
    ("timeout", RequestTimeoutError("slow", request=REQ), {"idempotent"}),
    (
        "connect-timeout",
        RequestTimeoutError("no connection", request=REQ, may_have_reached_server=False),
        {"all"},
    ),
]

policy = RetryPolicy(jitter=lambda low, high: high)


@pytest.mark.parametrize(("method", "idempotent"), METHODS)
@pytest.mark.parametrize(("kind", "failure", "retried"), FAILURES, ids=[f[0] for f in FAILURES])
def test_every_failure_and_method(
    kind: str, failure: object, retried: set[str], method: str, idempotent: bool | None
) -> None:
    if isinstance(failure, int):
        decision = policy.decide(
            method=method, attempt=1, elapsed=0.0, status=failure, headers={}, idempotent=idempotent
        )
    else:
        assert isinstance(failure, BaseException)
        decision = policy.decide(
            method=method, attempt=1, elapsed=0.0, error=failure, idempotent=idempotent
        )
    expected = "all" in retried or ("idempotent" in retried and is_idempotent(method, idempotent))
    assert decision.retry is expected, decision.reason
    if decision.retry:
        assert decision.delay == 0.5  # attempt 1: base delay (jitter = the ceiling here)


def test_idempotency() -> None:
    assert [is_idempotent(m) for m in ("GET", "PUT", "DELETE", "POST", "PATCH")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert is_idempotent("PATCH", True) is True
    assert is_idempotent("GET", False) is False


def test_429_waits_what_the_server_asks() -> None:
    no_jitter = RetryPolicy(jitter=lambda low, high: low)
    decide = no_jitter.decide
    assert (
        decide(method="POST", attempt=1, elapsed=0, status=429, headers={"Retry-After": "7"}).delay
        == 7
    )
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    by_date = decide(method="GET", attempt=1, elapsed=0, status=429, headers={"Retry-After": date})
    assert 28 <= by_date.delay <= 30
    reset = {"X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 4)}
    assert 2.5 <= decide(method="GET", attempt=1, elapsed=0, status=429, headers=reset).delay <= 4
    too_long = decide(
        method="GET", attempt=1, elapsed=0, status=429, headers={"Retry-After": "3600"}
    )
    assert not too_long.retry
    assert "over max_delay" in too_long.reason


def test_exponential_backoff_with_a_cap() -> None:
    capped = RetryPolicy(
        base_delay=1.0, max_delay=5.0, jitter=lambda low, high: high, max_attempts=9
    )
    delays = [
        capped.decide(method="GET", attempt=a, elapsed=0, status=503).delay for a in range(1, 7)
    ]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    full = RetryPolicy(jitter=lambda low, high: low)
    assert full.decide(method="GET", attempt=3, elapsed=0, status=503).delay == 0.0


def test_max_attempts_and_deadline() -> None:
    small = RetryPolicy(max_attempts=3, deadline=10.0, jitter=lambda low, high: high)
    assert small.decide(method="GET", attempt=2, elapsed=0, status=503).retry
    last = small.decide(method="GET", attempt=3, elapsed=0, status=503)
    assert not last.retry
    assert last.reason == "gave up after 3 attempts"
    late = small.decide(method="GET", attempt=1, elapsed=9.8, status=503)
    assert not late.retry
    assert "deadline" in late.reason


def test_an_untrusted_certificate_is_final_at_the_first_attempt() -> None:
    import ssl

    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    error = ConnectError("cannot connect: certificate verify failed", request=REQ)
    error.__cause__ = cause
    decision = RetryPolicy().decide(method="GET", attempt=1, elapsed=0.0, error=error)
    assert (decision.retry, decision.reason) == (
        False,
        "the server's TLS certificate is not trusted",
    )
    refused = ConnectError("refused", request=REQ)  # any other connect failure: retried
    assert RetryPolicy().decide(method="GET", attempt=1, elapsed=0.0, error=refused).retry
