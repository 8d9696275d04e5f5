"""The client's configuration: checked once, before any I/O, one function per concern.

:func:`client_config` turns ``SentryClient``'s keyword arguments into a frozen
:class:`ClientConfig`; each concern (the base URL, the tokens, the limits)
has its own function, so a wrong value is named in a
:class:`~sentry_members_async.errors.ConfigurationError` before anything is
sent. The tokens stay out of every ``repr``.
"""

from __future__ import annotations

import ipaddress
import os
import re

import attrs
from yarl import URL

from .._version import __version__
from ..errors import ConfigurationError
from ..ratelimit import Limiter, RateLimiter

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_SERVER_PAUSE",
    "USER_AGENT",
    "ClientConfig",
    "Tokens",
    "client_config",
    "client_limiter",
    "client_tokens",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://sentry.io"
USER_AGENT = f"sentry-members-async/{__version__}"
#: Longest pause learned from a server (``Retry-After``, a rate-limit reset) that
#: requests wait out; past it they fail at once with ``RateLimitedError``.
DEFAULT_MAX_SERVER_PAUSE = 300.0
#: Largest answer body read (64 MiB): a member page is well under 1 MiB.
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
_REGION = re.compile(r"[a-z]{2,10}")


#: The prefix of a user auth token (Sentry's ``AuthTokenType.USER``).
USER_TOKEN_PREFIX = "sntryu_"  # noqa: S105 - a prefix, not a secret


@attrs.frozen
class Tokens:
    """The auth token and the optional SCIM token (never shown in a ``repr``)."""

    token: str = attrs.field(repr=False)
    scim_token: str | None = attrs.field(repr=False)

    def counted_apart(self) -> bool:
        """Whether Sentry counts the two tokens as two callers: a user's token
        (``sntryu_``, counted as the user) and a distinct SCIM token (counted as
        the organization). Older, unprefixed tokens say nothing: ``False``."""
        return (
            self.scim_token is not None
            and self.scim_token != self.token
            and self.token.startswith(USER_TOKEN_PREFIX)
        )

    def secrets(self) -> tuple[str, ...]:
        """The credentials to mask in any server text the client shows."""
        return (self.token,) if self.scim_token is None else (self.token, self.scim_token)


@attrs.frozen
class ClientConfig:
    """Everything a client needs to build and bound its requests, checked."""

    base_url: URL
    timeout: float
    user_agent: str
    max_server_pause: float
    max_response_size: int | None


def client_tokens(token: str | None, scim_token: str | None) -> Tokens:
    """The tokens given, else ``SENTRY_AUTH_TOKEN`` / ``SENTRY_SCIM_TOKEN``."""
    if token is None:
        token = os.environ.get("SENTRY_AUTH_TOKEN")
    if token is None:
        raise ConfigurationError(
            "no auth token: pass token=... or set SENTRY_AUTH_TOKEN "
            "(create one under Settings > Auth Tokens with the member:read scope)"
        )
    if scim_token is None:
        scim_token = os.environ.get("SENTRY_SCIM_TOKEN")
    return Tokens(
        _check_token("the auth token", token),
        None if scim_token is None else _check_token("the SCIM token", scim_token),
    )


def _check_token(name: str, token: str) -> str:
    if not isinstance(token, str):
        raise ConfigurationError(f"{name} must be a string")
    if not token.strip():
        raise ConfigurationError(f"{name} is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
        raise ConfigurationError(f"{name} contains whitespace or control characters")
    return token


def client_config(
    *,
    base_url: str | URL | None,
    region: str | None,
    allow_insecure_http: bool,
    timeout: float,
    user_agent: str | None,
    max_server_pause: float | None,
    max_response_size: int | None,
) -> ClientConfig:
    """The checked configuration (``max_server_pause=None``: the default pause)."""
    url = resolve_base_url(base_url, region, allow_insecure_http)
    if timeout is None or timeout <= 0:
        raise ConfigurationError("timeout must be a positive number of seconds")
    return ClientConfig(
        base_url=url,
        timeout=float(timeout),
        user_agent=f"{_check_user_agent(user_agent)} {USER_AGENT}" if user_agent else USER_AGENT,
        max_server_pause=_check_pause(max_server_pause),
        max_response_size=_check_response_size(max_response_size),
    )


def _check_user_agent(value: str) -> str:
    """A header value the transports send as it is: printable ASCII only.

    CR/LF would inject headers (aiohttp and httpx refuse it, too late: after the
    client was built, as a lost answer); other control characters reach logs.
    """
    if not isinstance(value, str):
        raise ConfigurationError("user_agent must be a string")
    for i, ch in enumerate(value):
        if not " " <= ch <= "~":
            raise ConfigurationError(
                f"user_agent must be printable ASCII (it is sent as a header): "
                f"{ch!r} at position {i} is not"
            )
    return value


def _check_pause(value: float | None) -> float:
    pause = DEFAULT_MAX_SERVER_PAUSE if value is None else value
    if isinstance(pause, bool) or not isinstance(pause, int | float) or not pause >= 0:
        raise ConfigurationError("max_server_pause must be a number of seconds (>= 0)")
    return float(pause)


def _check_response_size(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigurationError("max_response_size must be a positive number of bytes")
    return value


def client_limiter(
    limiter: Limiter | None,
    *,
    max_server_pause: float | None,
    rate_limit: tuple[int, float] | None,
) -> Limiter:
    """The limiter given, else the default one (which the two options configure)."""
    if limiter is None:
        try:
            return RateLimiter(max_pause=_check_pause(max_server_pause), rate_limit=rate_limit)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    if max_server_pause is not None:
        raise ConfigurationError(
            "max_server_pause applies to the default limiter: pass max_pause= to the "
            "limiter you give instead"
        )
    if rate_limit is not None:
        raise ConfigurationError("pass rate_limit= or limiter=, not both")
    return limiter


def resolve_base_url(
    base_url: str | URL | None, region: str | None, allow_insecure_http: bool
) -> URL:
    """The API's base URL: ``base_url``, else the region's, else ``SENTRY_URL``, else sentry.io.

    Refused: credentials in the URL, a query or fragment, and plain ``http://``
    to a host other than loopback (unless ``allow_insecure_http``).
    """
    if region is not None:
        if base_url is not None:
            raise ConfigurationError("pass either base_url or region, not both")
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ConfigurationError("region must be a region name such as 'us' or 'de'")
        base_url = f"https://{region}.sentry.io"
    if base_url is None:
        base_url = os.environ.get("SENTRY_URL") or DEFAULT_BASE_URL
    try:
        url = URL(base_url)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"base_url is not a URL: {exc}") from None
    _check_url(url, allow_insecure_http)
    return url.with_path(url.path.rstrip("/"))


def _check_url(url: URL, allow_insecure_http: bool) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError("base_url must be an absolute http(s) URL")
    if url.user or url.password:
        raise ConfigurationError("base_url must not contain credentials; pass token=...")
    if url.query_string or url.fragment:
        raise ConfigurationError("base_url must not have a query or a fragment")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ConfigurationError(
            "refusing to send a token over plain http:// to a non-loopback host; "
            "use https:// or pass allow_insecure_http=True"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
