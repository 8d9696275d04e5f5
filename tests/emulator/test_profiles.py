"""Version profiles: ``SentryEmulator(profile="23.7")`` beside the default "latest".

Each test pins one rule of ``testing/profiles.py`` in both profiles, through the
emulator's handler (no socket) unless the rule is about connections. What the
23.7 profile does is what the real 23.7.1 server did in tests/differential.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import pytest
from yarl import URL

from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.testing.__main__ import build
from sentry_members_async.testing.profiles import LATEST, SENTRY_23_7, Profile, get_profile
from sentry_members_async.transports.base import Request

BASE = URL("http://sentry.test")
O = "/api/0/organizations/acme"  # noqa: E741 - the org's path


def make(profile: str = "latest", **kwargs: Any) -> tuple[SentryEmulator, str]:
    emu = SentryEmulator(seed=1, profile=profile, **kwargs)
    emu.add_org("acme", scim=True)
    emu.add_team("acme", "backend")
    emu.add_member("acme", "member@example.com", teams=["backend"])
    emu.add_member("acme", "pending@example.com", pending=True)
    return emu, emu.add_token("acme")


async def call(
    emu: SentryEmulator,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    response = await emu.handle(Request(method, BASE.join(URL(path)), headers, data))
    raw = response.body
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode()
    return response.status, parsed, dict(response.headers.items())


def member_id(emu: SentryEmulator, email: str) -> int:
    member = emu.member("acme", email)
    assert member is not None
    return member.id


def test_profiles_by_name() -> None:
    assert get_profile("latest") is LATEST
    assert get_profile("23.7") is get_profile("23.7.1") is SENTRY_23_7
    custom = Profile(name="mine", legacy_reinvite_message=True)
    assert get_profile(custom) is custom
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("9.1")


def test_the_default_is_latest_and_unchanged() -> None:
    emu = SentryEmulator()
    assert emu.profile is LATEST
    assert (emu.rate_limit, emu.retry_after, emu.invite_quotas) == (RateLimit(), True, False)
    old = SentryEmulator(profile="23.7")
    assert old.rate_limit == RateLimit(limit=999, window=1.0, concurrent=999)
    assert (old.retry_after, old.invite_quotas) == (False, True)
    assert SentryEmulator(profile="23.7", rate_limit=None, invite_quotas=False).rate_limit is None


@pytest.mark.parametrize(
    ("profile", "body", "role"),
    [
        ("latest", {"orgRole": "manager"}, "manager"),
        ("latest", {"role": "manager"}, "manager"),  # the deprecated key is a fallback
        ("23.7", {"orgRole": "manager"}, "member"),  # 23.7.1 reads `role` only
        ("23.7", {"role": "manager"}, "manager"),
        ("23.7", {"role": "manager", "orgRole": "manager"}, "manager"),
        ("latest", {"role": "manager", "orgRole": "manager"}, "manager"),
    ],
)
async def test_the_invite_role_key(profile: str, body: dict[str, str], role: str) -> None:
    emu, token = make(profile)
    status, answer, _ = await call(emu, "POST", f"{O}/members/", token, {"email": "n@x.io", **body})
    assert (status, answer["role"]) == (201, role)
    assert emu.member("acme", "n@x.io").role == role  # type: ignore[union-attr]


async def test_23_7_validates_both_role_keys_and_has_no_billing() -> None:
    emu, token = make("23.7")
    body = {"email": "n@x.io", "orgRole": "boss", "role": "billing"}
    status, answer, _ = await call(emu, "POST", f"{O}/members/", token, body)
    assert status == 400
    assert answer == {
        "role": ['"billing" is not a valid choice.'],
        "orgRole": ['"boss" is not a valid choice.'],
    }


@pytest.mark.parametrize(("profile", "user"), [("latest", None), ("23.7", {})])
async def test_a_pending_invites_details(profile: str, user: Any) -> None:
    emu, token = make(profile)
    path = f"{O}/members/{member_id(emu, 'pending@example.com')}/"
    status, answer, _ = await call(emu, "GET", path, token)
    assert (status, answer["user"]) == (200, user)
    _, listed, _ = await call(emu, "GET", f"{O}/members/?query=isInvited:true", token)
    assert listed[0]["user"] is None  # the list says null in both


@pytest.mark.parametrize(
    ("profile", "key"), [("latest", "orgRolesFromTeams"), ("23.7", "groupOrgRoles")]
)
async def test_the_lists_roles_from_teams_key(profile: str, key: str) -> None:
    emu, token = make(profile)
    _, listed, _ = await call(emu, "GET", f"{O}/members/", token)
    assert all(key in row for row in listed)


@pytest.mark.parametrize(
    ("profile", "message"),
    [("latest", "has already been invited"), ("23.7", "is already a member")],
)
async def test_inviting_a_pending_address_again(profile: str, message: str) -> None:
    emu, token = make(profile)
    body = {"email": "pending@example.com"}
    status, answer, _ = await call(emu, "POST", f"{O}/members/", token, body)
    assert (status, answer) == (400, {"email": [f"The user pending@example.com {message}"]})


async def test_23_7_generic_limiter_429() -> None:
    emu, token = make("23.7", rate_limit=RateLimit(limit=2, window=60.0, concurrent=999))
    answers = [await call(emu, "GET", f"{O}/members/", token) for _ in range(3)]
    status, body, headers = answers[-1]
    assert status == 429
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    too_often = "You are attempting to use this endpoint too frequently."
    assert body == f"{too_often} Limit is 2 requests in 60 seconds"
    assert headers["X-Sentry-Rate-Limit-ConcurrentRemaining"] == "None"
    assert headers["X-Sentry-Rate-Limit-Remaining"] == "0"
    assert "Retry-After" not in headers
    assert answers[0][2]["X-Sentry-Rate-Limit-ConcurrentRemaining"] == "998"


async def test_the_invite_quota_429_carries_the_limiters_headers() -> None:
    emu, token = make("23.7")
    org = emu.state.orgs["acme"]
    window = int(emu.clock() // 86400)
    emu.state.invite_counters[f"members:invite-by-org:{org.id}"] = (window, 100)
    status, body, headers = await call(emu, "POST", f"{O}/members/", token, {"email": "q@x.io"})
    assert (status, body) == (
        429,
        {"detail": "You are being rate limited for too many invitations."},
    )
    assert headers["X-Sentry-Rate-Limit-Limit"] == "999"
    assert "Retry-After" not in headers


@pytest.mark.parametrize("profile", ["latest", "23.7"])
async def test_self_hosted_sends_no_rate_limit_headers(profile: str) -> None:
    emu, token = make(profile, self_hosted=True)
    assert emu.rate_limit is None
    for _ in range(5):
        status, _, headers = await call(emu, "GET", f"{O}/members/", token)
        assert status == 200
        assert not [h for h in headers if h.startswith("X-Sentry-Rate-Limit")]


@pytest.mark.parametrize(
    ("profile", "body"),
    [("latest", {"orgRole": ['"boss" is not a valid choice.']}), ("23.7", None)],
)
async def test_an_invalid_role_on_update(profile: str, body: Any) -> None:
    emu, token = make(profile)
    path = f"{O}/members/{member_id(emu, 'member@example.com')}/"
    status, answer, _ = await call(emu, "PUT", path, token, {"orgRole": "boss"})
    assert (status, answer) == (400, body)
    retired = await call(emu, "PUT", path, token, {"orgRole": "admin"})
    detail = "The role 'admin' is deprecated and may no longer be assigned."
    assert retired[:2] == (400, {"detail": detail})


@pytest.mark.parametrize("profile", ["latest", "23.7"])
async def test_rules_both_profiles_share(profile: str) -> None:
    emu, token = make(profile)
    member = member_id(emu, "member@example.com")
    join = f"{O}/members/{member}/teams/backend/"
    assert (await call(emu, "POST", join, token))[:2] == (204, None)  # already on it
    scim = emu.add_token("acme", kind="scim")
    status, user, _ = await call(emu, "POST", f"{O}/scim/v2/Users", scim, {"userName": "i@x.io"})
    assert status == 201
    idp = f"{O}/members/{user['id']}/"
    detail = "This user is managed through your organization's identity provider."
    assert (await call(emu, "DELETE", idp, token))[:2] == (403, {"detail": detail})
    patch = {"Operations": [{"op": "replace", "path": "sentryOrgRole", "value": "manager"}]}
    assert (await call(emu, "PATCH", f"{O}/scim/v2/Users/{user['id']}", scim, patch))[0] == 400
    off = {"Operations": [{"op": "replace", "value": {"active": False}}]}
    assert (await call(emu, "PATCH", f"{O}/scim/v2/Users/{user['id']}", scim, off))[0] == 204
    assert emu.member("acme", "i@x.io") is None  # active=false deletes


@pytest.mark.parametrize("profile", ["latest", "23.7"])
async def test_a_missing_trailing_slash(profile: str) -> None:
    emu, token = make(profile)
    status, body, headers = await call(emu, "GET", f"{O}/members", token, content_type="")
    assert (status, headers["Content-Type"]) == (404, "text/plain")
    assert body.startswith("Route not found, did you forget a trailing slash?\n\ntry: ")
    status, body, _ = await call(emu, "POST", f"{O}/members", token, {"email": "x@x.io"})
    hint = f"Route not found, did you forget a trailing slash? try: {O}/members/"
    assert (status, body) == (404, {"info": hint})
    assert (await call(emu, "GET", f"{O}/nothing/", None))[:2] == (404, None)


async def _exchange(url: str, token: str, requests: int) -> bytes:
    """Up to ``requests`` requests on one connection, each sent once the answer
    before it was read (as a keep-alive client does); all the answers that came.

    A request the server does not read ends the exchange: the connection
    closes, or is reset as the real server's kernel resets it."""
    reader, writer = await asyncio.open_connection(URL(url).host, URL(url).port)
    request = (
        f"GET {O}/members/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    data = b""
    try:
        for _ in range(requests):
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            data += head + await reader.readexactly(length)
            await asyncio.sleep(0.05)  # the server closes within 5 ms of its answer
    except (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError):
        pass
    finally:
        writer.close()
    return data


async def test_the_23_7_server_closes_each_connection_after_its_answer() -> None:
    emu, token = make("23.7")
    async with emu.serve() as url:
        data = await _exchange(url, token, 2)
    assert data.count(b"HTTP/1.1 200") == 1  # the second request was never read
    assert b"Connection: close" not in data  # and nothing said so
    assert len(emu.find("GET", f"{O}/members/me/")) == 1


async def test_latest_keeps_connections_alive_unless_asked() -> None:
    emu, token = make("latest")
    async with emu.serve() as url:
        _, writer = await asyncio.open_connection(URL(url).host, URL(url).port)
        request = (
            f"GET {O}/members/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        writer.write(request.encode() * 2)
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
    assert len(emu.find("GET", f"{O}/members/me/")) == 2
    async with emu.serve(close_connections=True) as url:
        assert (await _exchange(url, token, 3)).count(b"HTTP/1.1 200") == 1


def test_the_serve_command_takes_a_profile() -> None:
    args = argparse.Namespace(
        seed=0, rate_limit="profile", latency=0.0, no_retry_after=False, org="acme",
        teams=1, members=3, profile="23.7", self_hosted=False,
    )  # fmt: skip
    emu, _, _ = build(args)
    assert (emu.profile, emu.retry_after, emu.invite_quotas) == (SENTRY_23_7, False, True)
    assert emu.rate_limit == RateLimit(limit=999, window=1.0, concurrent=999)
    hosted, _, _ = build(argparse.Namespace(**{**vars(args), "self_hosted": True}))
    assert hosted.rate_limit is None
    latest, _, _ = build(
        argparse.Namespace(**{**vars(args), "profile": "latest", "rate_limit": "none"})
    )
    assert (latest.profile, latest.rate_limit, latest.retry_after) == (LATEST, None, True)
