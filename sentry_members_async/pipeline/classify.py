"""Classification: an answer becomes a value (2xx) or the typed error for its status.

This is the pipeline's reading of an error answer, above both the transports
(which only carry values) and :mod:`sentry_members_async.errors` (which only
defines the errors and reads bodies): the client's own credentials are masked
wherever the server's text ends up (body, detail, headers, message), since a
hostile or broken server may echo them.
"""

from __future__ import annotations

import attrs

from ..errors import (
    BY_STATUS,
    APIError,
    InviteQuotaError,
    PermissionDeniedError,
    RateLimitedError,
    SentryError,
    ServerError,
    decode_body,
    detail_from_body,
    is_invite_quota,
    mask_secrets,
    mask_secrets_in_bytes,
    requested_wait,
)
from ..transports.base import Headers, Request, Response

__all__ = ["error_from_response", "mask_exception", "mask_response", "named_refusal"]


def error_from_response(
    response: Response,
    *,
    required_scopes: tuple[str, ...] = (),
    secrets: tuple[str, ...] = (),
) -> APIError:
    """The typed error for an error response (4xx or 5xx).

    ``secrets`` (the client's own tokens) are masked wherever the server's text
    ends up: the body, the detail, the headers and the message.
    """
    if secrets:
        response = mask_response(response, secrets)
    body = decode_body(response.body)
    status, headers = response.status, response.headers
    where = (status, response.request.method, response.request.url.path, detail_from_body(body))
    if status == 429:
        if is_invite_quota(body):
            return InviteQuotaError(*where, body, headers=headers)
        return RateLimitedError(*where, body, headers=headers, retry_after=requested_wait(headers))
    if status == 403:
        return PermissionDeniedError(*where, body, headers=headers, required_scopes=required_scopes)
    cls = BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(*where, body, headers=headers)


def mask_response(response: Response, secrets: tuple[str, ...]) -> Response:
    """The response with the client's own credentials masked in its body and headers."""
    body = mask_secrets_in_bytes(response.body, secrets)
    headers = response.headers
    if any(secret and secret in value for value in headers.values() for secret in secrets):
        headers = Headers([(k, mask_secrets(v, secrets)) for k, v in headers.items()])
    if body is response.body and headers is response.headers:
        return response
    return attrs.evolve(response, body=body, headers=headers)


def mask_exception(exc: SentryError, secrets: tuple[str, ...]) -> None:
    """Mask the client's credentials in an exception's text (a server may echo them)."""
    if any(isinstance(arg, str) and any(s and s in arg for s in secrets) for arg in exc.args):
        exc.args = tuple(
            mask_secrets(arg, secrets) if isinstance(arg, str) else arg for arg in exc.args
        )


def named_refusal(exc: RateLimitedError, request: Request) -> RateLimitedError:
    """A limiter's refusal to wait out a server's pause, naming the request."""
    return RateLimitedError(
        429, request.method, request.url.path, exc.detail, retry_after=exc.retry_after
    )
