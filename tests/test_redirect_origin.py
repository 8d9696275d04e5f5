"""A GET redirected to another origin is refused, as a write is (finding #17 of the
2026-12-03 review): the other origin's answer must never pass for Sentry's."""

from __future__ import annotations

import json

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.errors import RedirectError
from sentry_members_async.transports import MemoryTransport, Request, Response

TOKEN = "sntryu_" + "cd" * 32
FORGED = [
    {
        "id": "1001",
        "email": "leaver@acme.com",
        "name": "x",
        "orgRole": "member",
        "pending": False,
        "expired": False,
        "user": None,
        "flags": {},
        "dateCreated": "2024-01-01T00:00:00Z",
    }
]


class Network:
    """Sentry answers every GET with a redirect to another origin, which forges a member."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.sent: list[tuple[str, str, bool]] = []

    async def __call__(self, request: Request) -> Response:
        auth = bool(request.headers.get("Authorization"))
        self.sent.append((request.method, f"{request.url.origin()}{request.url.path}", auth))
        if request.url.host == "sentry.example.com" and request.method == "GET":
            return Response(302, {"Location": self.location}, b"", request)
        if request.url.host == "other.example" or request.url.scheme == "http":
            body = json.dumps(FORGED).encode()
            return Response(200, {"Content-Type": "application/json"}, body, request)
        return Response(204, {}, b"", request)


async def test_bulk_remove_never_acts_on_another_origins_answer() -> None:
    network = Network("https://other.example/members.json")
    async with SentryClient(
        TOKEN, base_url="https://sentry.example.com", transport=MemoryTransport(network)
    ) as client:
        report = await client.org("acme").bulk.remove(["leaver@acme.com"])
    # The lookup's redirect is refused: nothing is deleted, the row is not "removed".
    assert network.sent == [
        ("GET", "https://sentry.example.com/api/0/organizations/acme/members/", True)
    ]
    assert [(o.kind.value, type(o.error).__name__) for o in report] == [("failed", "RedirectError")]


@pytest.mark.parametrize(
    "location",
    [
        "https://other.example/members.json",
        "http://sentry.example.com/api/0/organizations/acme/members/",  # a downgrade
        "https://sentry.example.com:8443/api/0/organizations/acme/members/",
    ],
)
async def test_a_get_redirected_to_another_origin_is_a_redirect_error(location: str) -> None:
    network = Network(location)
    async with SentryClient(
        TOKEN, base_url="https://sentry.example.com", transport=MemoryTransport(network)
    ) as client:
        with pytest.raises(RedirectError) as info:
            await client.org("acme").members.get("me")
    assert len(network.sent) == 1
    assert info.value.status == 302
    assert info.value.location == location
    assert "changes origin" in str(info.value)
    assert TOKEN not in str(info.value)
