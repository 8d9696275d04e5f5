"""Error classification from status and body, sans-I/O."""

from __future__ import annotations

import email.utils
import json

import pytest
from yarl import URL

from sentry_members_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from sentry_members_async.errors import detail_from_body, parse_retry_after
from sentry_members_async.pipeline import error_from_response
from sentry_members_async.transports import Request, Response

REQ = Request("post", URL("https://sentry.io/api/0/organizations/acme/members/"))


def response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status=status, headers=headers or {}, body=raw, request=REQ)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (405, APIError),
    ],
)
def test_status_to_class(status: int, cls: type[APIError]) -> None:
    err = error_from_response(response(status, {"detail": "x"}))
    assert type(err) is cls
    assert (err.status, err.method, err.path, err.detail) == (
        status,
        "POST",
        "/api/0/organizations/acme/members/",
        "x",
    )


def test_drf_list_body() -> None:
    body = ["Integration tokens are restricted to inviting new members with the member role only."]
    err = error_from_response(response(400, body))
    assert err.detail == body[0]


def test_field_error_as_plain_string() -> None:
    body = {"email": "The user with a 'billing' role cannot have team-level permissions."}
    err = error_from_response(response(400, body))
    assert isinstance(err, BadRequestError)
    assert err.field_errors == {"email": [body["email"]]}


def test_403_role_body() -> None:
    body = {"role": "You do not have permission to assign the given role."}
    err = error_from_response(response(403, body))
    assert isinstance(err, PermissionDeniedError)
    assert err.field_errors == {"role": ["You do not have permission to assign the given role."]}
    assert err.detail == "role: You do not have permission to assign the given role."


def test_nested_scim_invalid_filter() -> None:
    body = {
        "detail": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "scimType": "invalidFilter",
        }
    }
    assert error_from_response(response(400, body)).detail == "invalidFilter"


def test_sso_required_detail_object() -> None:
    body = {"detail": {"code": "sso-required", "message": "SSO required", "extra": {}}}
    assert detail_from_body(body) == "SSO required"


def test_empty_body() -> None:
    err = error_from_response(response(401, b""))
    assert err.detail == ""
    assert str(err) == "401 POST /api/0/organizations/acme/members/"


def test_long_text_is_shortened() -> None:
    err = error_from_response(response(500, b"x" * 10_000))
    assert len(err.detail) == 300


def test_retry_after_forms() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    date = email.utils.formatdate(1_000_060.0, usegmt=True)
    assert parse_retry_after(date, now=1_000_000.0) == 60.0


def test_rate_limited_error_prefers_retry_after_over_reset() -> None:
    err = error_from_response(
        response(429, "too many", {"Retry-After": "3", "X-Sentry-Rate-Limit-Reset": "99999999999"})
    )
    assert isinstance(err, RateLimitedError)
    assert err.retry_after == 3.0
    assert "retry after 3 s" in str(err)


def test_rate_limited_error_without_any_hint() -> None:
    err = error_from_response(response(429, "too many"))
    assert isinstance(err, RateLimitedError)
    assert err.retry_after is None


def test_api_errors_pickle() -> None:
    import pickle

    err = error_from_response(response(404, {"detail": "gone"}))
    again = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(again) is NotFoundError
    assert str(again) == str(err)


def test_api_errors_pickle_with_their_own_attributes() -> None:
    import pickle

    err = error_from_response(response(429, {"detail": "slow"}, {"Retry-After": "3"}))
    err.attempts = 4
    again = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(again) is RateLimitedError
    assert (again.retry_after, again.attempts, str(again)) == (3.0, 4, str(err))
    assert again.headers == {"Retry-After": "3"}
    assert again.headers["retry-after"] == "3"


def test_every_api_error_has_field_errors() -> None:
    err = error_from_response(response(409, {"non_field_errors": ["taken"], "detail": "taken"}))
    assert type(err) is ConflictError
    assert err.field_errors == {"non_field_errors": ["taken"]}
    assert error_from_response(response(404, {"detail": "gone"})).field_errors == {}
