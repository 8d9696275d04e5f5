"""Configuration: resolved before any I/O, refused with ConfigurationError."""

from __future__ import annotations

import pytest
from yarl import URL

from sentry_members_async import ConfigurationError, SentryClient
from sentry_members_async.transports import MemoryTransport, Request, Response

from .conftest import SCIM_TOKEN, TOKEN


async def _never(request: Request) -> Response:
    raise AssertionError("nothing may be sent")


def memory() -> MemoryTransport:
    return MemoryTransport(_never)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SENTRY_AUTH_TOKEN", "SENTRY_URL", "SENTRY_SCIM_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_missing_token() -> None:
    with pytest.raises(ConfigurationError, match="SENTRY_AUTH_TOKEN"):
        SentryClient(transport=memory())


@pytest.mark.parametrize("token", ["", "   ", "abc def", "abc\n", "tab\there"])
def test_empty_or_malformed_token(token: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SentryClient(token, transport=memory())
    if token.strip():
        assert token.strip() not in str(info.value)


def test_token_and_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("SENTRY_URL", "https://sentry.example.com/")
    client = SentryClient(transport=memory())
    assert client.base_url == URL("https://sentry.example.com")
    request = client.build_request("GET", "/api/0/")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert str(request.url) == "https://sentry.example.com/api/0/"


def test_scim_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_SCIM_TOKEN", SCIM_TOKEN)
    client = SentryClient(TOKEN, transport=memory())
    assert client.build_request("GET", "/x", scim=True).headers["Authorization"] == (
        f"Bearer {SCIM_TOKEN}"
    )
    assert client.build_request("GET", "/x").headers["Authorization"] == f"Bearer {TOKEN}"


def test_scim_falls_back_to_the_auth_token() -> None:
    client = SentryClient(TOKEN, transport=memory())
    assert client.build_request("GET", "/x", scim=True).headers["Authorization"] == (
        f"Bearer {TOKEN}"
    )


def test_default_base_url() -> None:
    assert SentryClient(TOKEN, transport=memory()).base_url == URL("https://sentry.io")


def test_region() -> None:
    client = SentryClient(TOKEN, region="de", transport=memory())
    assert str(client.build_request("GET", "/api/0/").url) == "https://de.sentry.io/api/0/"


@pytest.mark.parametrize("region", ["", "DE", "de.evil.com", "d"])
def test_bad_region(region: str) -> None:
    with pytest.raises(ConfigurationError):
        SentryClient(TOKEN, region=region, transport=memory())


def test_region_and_base_url_conflict() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        SentryClient(TOKEN, region="us", base_url="https://sentry.io", transport=memory())


@pytest.mark.parametrize(
    "url",
    [
        "ftp://sentry.io",
        "sentry.io",
        "/relative",
        "https://user:pw@sentry.io",
        "https://sentry.io/?x=1",
        "http://sentry.example.com",
        "http://10.0.0.5:9000",
    ],
)
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        SentryClient(TOKEN, base_url=url, transport=memory())


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:9000/sentry", "http://[::1]:80"]
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    SentryClient(TOKEN, base_url=url, transport=memory())


def test_plain_http_opt_in() -> None:
    client = SentryClient(
        TOKEN, base_url="http://sentry.internal", allow_insecure_http=True, transport=memory()
    )
    assert client.base_url.scheme == "http"


def test_bad_timeout() -> None:
    with pytest.raises(ConfigurationError):
        SentryClient(TOKEN, timeout=0, transport=memory())


def test_repr_hides_tokens() -> None:
    client = SentryClient(TOKEN, scim_token=SCIM_TOKEN, transport=memory())
    text = repr(client) + str(client)
    assert TOKEN not in text
    assert SCIM_TOKEN not in text
    assert "token=<redacted>" in text


async def test_closed_client_refuses_requests() -> None:
    client = SentryClient(TOKEN, transport=memory())
    await client.aclose()
    await client.aclose()  # idempotent
    with pytest.raises(ConfigurationError, match="closed"):
        await client.request("GET", "/api/0/")


async def test_client_does_not_close_a_transport_it_was_given() -> None:
    transport = memory()
    async with SentryClient(TOKEN, transport=transport):
        pass
    assert transport.closed is False


@pytest.mark.parametrize(
    "user_agent",
    [
        "bot\r\nX-Injected: yes",
        "bot\nX-Injected: yes",
        "bot\r",
        "bot\x00",
        "bot\x1b[31m",
        "bot\x7f",
        "bot\u2028x",
    ],
)
def test_a_user_agent_with_control_characters_is_refused_when_the_client_is_built(
    user_agent: str,
) -> None:
    """Finding #18 of the 2026-12-03 review: the transports refused the header, and
    the refusal came back as ResponseLostError ("the server may have acted") and
    was retried, though nothing had been sent."""
    with pytest.raises(ConfigurationError) as info:
        SentryClient(
            TOKEN, base_url="https://sentry.test", user_agent=user_agent, transport=memory()
        )
    bad = next(ch for ch in user_agent if not " " <= ch <= "~")
    assert str(info.value) == (
        f"user_agent must be printable ASCII (it is sent as a header): "
        f"{bad!r} at position {user_agent.index(bad)} is not"
    )


def test_a_plain_user_agent_goes_before_ours() -> None:
    client = SentryClient(
        TOKEN,
        base_url="https://sentry.test",
        user_agent="acme-sync/2.1 (+ops@acme.com)",
        transport=memory(),
    )
    assert client.user_agent.startswith("acme-sync/2.1 (+ops@acme.com) sentry-members-async/")
