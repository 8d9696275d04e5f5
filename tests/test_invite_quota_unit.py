"""``InviteQuotaError``: classified from the body, never retried (sans-I/O)."""

from __future__ import annotations

import json

from yarl import URL

from sentry_members_async import InviteQuotaError, RateLimitedError
from sentry_members_async.errors import detail_from_body
from sentry_members_async.pipeline import error_from_response
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.transports import Request, Response

REQ = Request("post", URL("https://sentry.io/api/0/organizations/acme/members/"))
QUOTA = {"detail": "You are being rate limited for too many invitations."}
LIMIT_HEADERS = {"X-Sentry-Rate-Limit-Reset": "9999999999", "Retry-After": "1"}


def _response(body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(status=429, headers=headers or {}, body=json.dumps(body).encode(), request=REQ)


def test_quota_answer_is_an_invite_quota_error() -> None:
    error = error_from_response(_response(QUOTA, LIMIT_HEADERS))
    assert type(error) is InviteQuotaError
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None  # waiting seconds does not lift it
    assert error.detail == QUOTA["detail"]
    assert str(error) == (
        "429 POST /api/0/organizations/acme/members/: "
        "You are being rate limited for too many invitations."
    )


def test_request_rate_limit_stays_a_rate_limited_error() -> None:
    body = (
        "You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"
    )
    error = error_from_response(_response(body, {"Retry-After": "1"}))
    assert type(error) is RateLimitedError
    assert error.retry_after == 1.0


def test_policy_never_retries_the_quota() -> None:
    policy = RetryPolicy(jitter=lambda low, high: high)
    quota = error_from_response(_response(QUOTA, {"Retry-After": "1"}))
    decision = policy.decide(
        method="POST", attempt=1, elapsed=0.0, status=429, headers={"Retry-After": "1"}, error=quota
    )
    assert (decision.retry, decision.reason) == (False, "daily invite quota reached: not retried")
    other = error_from_response(_response("too frequently", {"Retry-After": "1"}))
    decision = policy.decide(
        method="POST", attempt=1, elapsed=0.0, status=429, headers={"Retry-After": "1"}, error=other
    )
    assert decision.retry is True


def test_flat_scim_error_detail() -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "scimType": "invalidFilter"}
    assert detail_from_body(body) == "invalidFilter"
    flat = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "Group not found.",
    }
    assert detail_from_body(flat) == "Group not found."
