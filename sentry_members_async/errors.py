"""The exception hierarchy.

Everything the SDK raises on purpose derives from :class:`SentryError`:

* :class:`ConfigurationError`: the client is set up wrongly (raised before I/O).
* :class:`ValidationError`: an argument is invalid (raised before I/O).
* :class:`APIError` and one subclass per status family: Sentry answered with
  an error status. The pipeline builds them
  (:func:`sentry_members_async.pipeline.error_from_response`) with the helpers
  here, which read Sentry's bodies: ``{"detail": ...}``, DRF field errors, SCIM
  error bodies, the 429 JSON string, and non-JSON bodies such as a proxy's HTML
  page.
* Transport failures (:class:`~sentry_members_async.transports.base.TransportError`
  and subclasses) live with the transport types, one layer up: this module
  imports nothing of the SDK, so every layer can raise these.

No exception ever carries the token: requests attached to errors are redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from .waits import parse_retry_after, rate_limit_reset_delay, requested_wait

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "IdpManagedError",
    "InviteQuotaError",
    "InsufficientRoleError",
    "NotFoundError",
    "PermissionDeniedError",
    "PaginationError",
    "RateLimitedError",
    "RedirectError",
    "ResponseTooLargeError",
    "SentryError",
    "ServerError",
    "ValidationError",
    "decode_body",
    "detail_from_body",
    "field_errors",
    "is_invite_quota",
    "mask_secrets",
    "mask_secrets_in_bytes",
    "parse_retry_after",
    "rate_limit_reset_delay",
    "requested_wait",
]

SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
_MAX_DETAIL = 300


class SentryError(Exception):
    """Root of every exception this SDK raises on purpose."""

    #: How many attempts the request made before this error was final.
    attempts: int = 1


class ConfigurationError(SentryError):
    """The client is configured wrongly (missing token, unsafe base URL, ...)."""


class ValidationError(SentryError, ValueError):
    """An argument is invalid; nothing was sent."""


class APIError(SentryError):
    """Sentry answered with an error status.

    Attributes: ``status``, ``method``, ``path``, ``detail`` (Sentry's message,
    shortened), ``body`` (the decoded JSON body, or the text when it is not
    JSON), ``headers`` (response headers), ``field_errors`` (DRF field errors
    of the body, e.g. ``{"email": ["..."]}``; empty when it has none).

    Subclasses add keyword-only attributes (``required_scopes``,
    ``retry_after``, ...) and pass everything else through unchanged.
    """

    status_code: ClassVar[int | None] = None

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        detail: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail
        self.body = body
        self.headers = headers
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.method} {self.path}"
        return f"{text}: {self.detail}" if self.detail else text

    @property
    def field_errors(self) -> dict[str, list[str]]:
        return field_errors(self.body)

    def __reduce__(self) -> Any:  # keep pickling (e.g. multiprocessing) working
        # Every attribute (a subclass's own, ``attempts``) travels as state.
        return (
            _rebuild_api_error,
            (type(self), self.status, self.method, self.path, self.detail, self.body),
            dict(self.__dict__),
        )

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        self.__dict__.update(state or {})
        self.args = (self._message(),)


def _rebuild_api_error(
    cls: type[APIError], status: int, method: str, path: str, detail: str, body: Any
) -> APIError:
    return cls(status, method, path, detail, body)


class BadRequestError(APIError):
    """400: the request was invalid. ``field_errors`` maps fields to messages."""

    status_code = 400


class AuthenticationError(APIError):
    """401: the token is missing, unknown, expired or malformed."""

    status_code = 401


#: A 403 for the token's scopes: DRF's ``PermissionDenied.default_detail``
#: (rest_framework/exceptions.py); any other 403 text is a rule of Sentry's.
SCOPE_REFUSAL = "You do not have permission to perform this action."


class PermissionDeniedError(APIError):
    """403: the token lacks a scope or the caller's role is too low.

    ``required_scopes`` lists the scopes the endpoint accepts, when known; the
    message names them only for a scope refusal (:attr:`is_scope_refusal`), not
    for a 403 of one of Sentry's rules ("You cannot remove the only remaining
    owner ..."), which no scope lifts.
    """

    status_code = 403

    def __init__(self, *args: Any, required_scopes: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.required_scopes = required_scopes
        super().__init__(*args, **kwargs)

    @property
    def is_scope_refusal(self) -> bool:
        """Whether Sentry refused the token's scopes (and not a rule of its own)."""
        return not self.detail or self.detail == SCOPE_REFUSAL

    def _message(self) -> str:
        text = super()._message()
        if self.required_scopes and self.is_scope_refusal:
            text += f" (needs one of the scopes: {', '.join(self.required_scopes)})"
        return text


class InsufficientRoleError(PermissionDeniedError):
    """403 on an org-role change: the caller may not give this role to this member.

    Only an Owner or a Manager (or a token with ``member:write`` /
    ``member:admin`` acting for one) changes org roles, and never to a role
    above the caller's own or for a member ranked above the caller (the
    integration guide: "tokens from callers without owner or manager org role
    receive a 403"). ``role`` is the role that was asked for, ``member`` the
    member reference.
    """

    def __init__(
        self, *args: Any, role: str | None = None, member: str | None = None, **kwargs: Any
    ) -> None:
        self.role = role
        self.member = member
        super().__init__(*args, **kwargs)

    def _message(self) -> str:
        text = super()._message()
        target = f"member {self.member}" if self.member else "this member"
        return (
            f"{text} (the caller may not make {target} {self.role!r}: changing org roles "
            "takes an Owner or Manager, and a role no higher than the caller's own)"
        )

    @classmethod
    def from_denied(
        cls, error: PermissionDeniedError, *, role: str | None, member: str | None
    ) -> InsufficientRoleError:
        made = cls(
            error.status,
            error.method,
            error.path,
            error.detail,
            error.body,
            headers=error.headers,
            required_scopes=error.required_scopes,
            role=role,
            member=member,
        )
        made.attempts = error.attempts
        return made


class NotFoundError(APIError):
    """404: the organization, member, team or SCIM resource does not exist."""

    status_code = 404


class ConflictError(APIError):
    """409: the resource already exists (team slug, SCIM user)."""

    status_code = 409


class RateLimitedError(APIError):
    """429: too many requests.

    ``retry_after`` is the wait in seconds the answer names
    (:func:`requested_wait`: ``Retry-After``, seconds or an HTTP date, else the
    time until the rate-limit window resets, ``X-Sentry-Rate-Limit-Reset``),
    or ``None`` when it names none, or only a time already past (then the
    retry policy and the limiter back off).
    """

    status_code = 429

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)

    def _message(self) -> str:
        text = super()._message()
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        return text


#: Sentry's answer when a daily invite quota is used up
#: (``ERR_RATE_LIMITED`` in src/sentry/core/endpoints/organization_member_utils.py).
INVITE_QUOTA_DETAIL = "You are being rate limited for too many invitations."


class InviteQuotaError(RateLimitedError):
    """429 from a daily invite quota (sentry.io: 100 invites per user or token
    and 100 per organization per 24 h, 10 per address per organization).

    Waiting seconds does not lift it, so it is never retried; ``retry_after``
    is ``None``. Invite the rest the next day, or provision through SCIM
    (``bulk.invite(..., via="scim")``), which the quota does not cover.
    """


def is_invite_quota(body: Any) -> bool:
    """Whether a decoded 429 body is the invite quota's answer."""
    return isinstance(body, Mapping) and body.get("detail") == INVITE_QUOTA_DETAIL


class ServerError(APIError):
    """5xx: Sentry (or a proxy in front of it) failed."""


class RedirectError(APIError):
    """A redirect the client refuses to follow; ``detail`` says why.

    Raised for a ``Location`` that is not ``http(s)``, and for a redirect to
    another origin (scheme, host or port), whatever the method: a body (an
    invite's e-mail, a SCIM user) is never sent to a host other than the one it
    was meant for, and another host's answer never passes for Sentry's.
    ``location`` is the target the server named.
    """

    def __init__(self, *args: Any, location: str = "", **kwargs: Any) -> None:
        self.location = location
        super().__init__(*args, **kwargs)


class ResponseTooLargeError(SentryError):
    """An answer's body was larger than the client's ``max_response_size``.

    Raised while reading (the rest is never read), and never retried.
    """

    def __init__(self, limit: int, *, method: str | None = None, path: str | None = None) -> None:
        self.limit = limit
        self.method = method
        self.path = path
        where = f" of {method} {path}" if method and path else ""
        super().__init__(
            f"the answer{where} is larger than max_response_size ({limit} bytes); "
            "the rest was not read"
        )


class PaginationError(SentryError):
    """The server's pagination does not move forward (a cursor seen before).

    ``cursor`` is the repeated cursor; following it would never end.
    """

    def __init__(self, message: str, *, cursor: str | None) -> None:
        self.cursor = cursor
        super().__init__(message)


#: The error class of each status the SDK names (5xx: :class:`ServerError`).
BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


_TAG = re.compile(r"<[^>]*>")


def decode_body(body: bytes) -> Any:
    """The body as JSON when it is JSON, else as text (``""`` when empty).

    JSON nested too deeply to decode is kept as text too. A JSON string that
    itself holds a JSON object or array (a body encoded twice, such as
    ``"{\\"detail\\": ...}"``) is that object or array; Sentry's generic rate
    limiter answers ``json.dumps`` of its message, a JSON string, as
    ``text/html``.
    """
    if not body:
        return ""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", errors="replace")
    if isinstance(decoded, str) and decoded[:1] in ("{", "["):
        try:
            inner = json.loads(decoded)
        except (ValueError, RecursionError):
            return decoded
        if isinstance(inner, dict | list):
            return inner
    return decoded


_MASK = "<redacted>"


def mask_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``<redacted>``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, _MASK)
    return text


def mask_secrets_in_bytes(data: bytes, secrets: tuple[str, ...]) -> bytes:
    """:func:`mask_secrets` for a raw body (returned unchanged, same object, when clean)."""
    for secret in secrets:
        raw = secret.encode()
        if raw and raw in data:
            data = data.replace(raw, _MASK.encode())
    return data


def field_errors(body: Any) -> dict[str, list[str]]:
    """DRF field errors (``{"email": ["..."]}``) from a decoded body, as lists of text."""
    if not isinstance(body, Mapping):
        return {}
    out: dict[str, list[str]] = {}
    for key, value in body.items():
        if key in ("detail", "schemas", "scimType", "errorId"):
            continue
        if isinstance(value, str):
            out[str(key)] = [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[str(key)] = list(value)
    return out


def detail_from_body(body: Any) -> str:
    """A short, human message from any error body Sentry (or a proxy) sends."""
    if isinstance(body, str):
        return _detail_from_text(body)
    if isinstance(body, list):
        return _short("; ".join(str(item) for item in body))
    if isinstance(body, Mapping):
        return _detail_from_mapping(body)
    return ""


def _detail_from_text(text: str) -> str:
    """A JSON string (the 429 body) or non-JSON text such as a proxy's HTML page."""
    if "<" in text and ">" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        text = title.group(1) if title else _TAG.sub(" ", text)
    return _short(text)


def _detail_from_mapping(body: Mapping[str, Any]) -> str:
    detail = body.get("detail")
    if isinstance(detail, str):
        return _short(detail)
    if isinstance(detail, Mapping):
        return _detail_from_nested(detail)
    scim_type = body.get("scimType")
    if isinstance(scim_type, str):
        # A flat SCIM error without a detail ({"schemas": [...], "scimType": ...}).
        return _short(scim_type)
    errors = field_errors(body)
    if errors:
        return _short("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
    return _short(json.dumps(body, sort_keys=True, default=str)) if body else ""


def _detail_from_nested(detail: Mapping[str, Any]) -> str:
    """A nested SCIM error (``{"detail": {"schemas": [...], "scimType": ...}}``) or an
    SSO / 2FA requirement (``{"detail": {"code": ..., "message": ...}}``)."""
    for key in ("detail", "message", "scimType", "code"):
        inner = detail.get(key)
        if isinstance(inner, str):
            return _short(inner)
    return _short(json.dumps(detail, sort_keys=True))


class IdpManagedError(PermissionDeniedError):
    """403 on a REST remove: the member is provisioned by the org's identity provider.

    Sentry refuses ``DELETE members/{id}/`` of a member flagged
    ``idp:provisioned`` with ``{"detail": "This user is managed through your
    organization's identity provider."}`` (src/sentry/api/endpoints/
    organization_member/details.py; seen on 23.7.1); ``members.remove``
    raises this for that answer. No scope lifts it, so the message does not
    name scopes: it says how to remove the member, through the identity
    provider or through SCIM (``idp_fallback="scim"`` on ``acme.bulk.remove``,
    ``acme.bulk.deprovision``, or the command line's ``members remove
    --idp-fallback scim`` / ``scim users deactivate``). A
    :class:`PermissionDeniedError` otherwise (status, method, path and Sentry's
    ``detail`` as answered); ``member`` is the member as the caller named it
    (an e-mail or an id).
    """

    _HINT: ClassVar[str] = (
        "provisioned by the organization's identity provider, and Sentry's members API "
        "does not remove such members: remove them in the identity provider, or deprovision "
        "them through SCIM with acme.bulk.remove(..., idp_fallback='scim') (SCIM DELETE "
        "Users/{id}) or acme.bulk.deprovision([email]); on the command line: "
        "sentry-members members remove --idp-fallback scim MEMBER, or "
        "sentry-members scim users deactivate EMAIL"
    )

    def __init__(self, *args: Any, member: str | None = None, **kwargs: Any) -> None:
        self.member = member
        super().__init__(*args, **kwargs)

    def _message(self) -> str:
        # Not PermissionDeniedError's "needs one of the scopes": no scope lifts this.
        who = f"{self.member} was" if self.member else "this member was"
        return f"{APIError._message(self)} {who} {self._HINT}"

    @classmethod
    def from_denied(cls, error: PermissionDeniedError, *, member: str | None) -> IdpManagedError:
        """``error`` (Sentry's refusal) as an :class:`IdpManagedError` naming ``member``."""
        made = cls(
            error.status,
            error.method,
            error.path,
            error.detail,
            error.body,
            headers=error.headers,
            required_scopes=error.required_scopes,
            member=member,
        )
        made.attempts = error.attempts
        return made
