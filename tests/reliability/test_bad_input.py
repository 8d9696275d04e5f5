"""Bad input: a typed ValidationError before anything is sent (the emulator's log stays empty)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from sentry_members_async import (
    ConfigurationError,
    MemberId,
    Org,
    SentryClient,
    TeamId,
    UserId,
    ValidationError,
)
from sentry_members_async.testing import SentryEmulator


@pytest.fixture
async def setup() -> AsyncIterator[tuple[SentryEmulator, SentryClient]]:
    emu = SentryEmulator(rate_limit=None)
    emu.add_org("acme", scim=True)
    token = emu.add_token("acme")
    async with SentryClient(token, base_url="http://localhost", transport=emu.transport()) as c:
        yield emu, c


Call = Callable[[Org], Awaitable[Any]]
M = MemberId("42")

BAD: dict[str, Call] = {
    "invite empty email": lambda o: o.members.invite(""),
    "invite malformed email": lambda o: o.members.invite("not-an-email"),
    "invite email with spaces": lambda o: o.members.invite("a b@example.com"),
    "invite email too long": lambda o: o.members.invite("a" * 70 + "@example.com"),
    "invite unknown role": lambda o: o.members.invite("a@example.com", role="superuser"),
    "invite team slug with slash": lambda o: o.members.invite("a@example.com", teams=["a/b"]),
    "invite team slug ..": lambda o: o.members.invite("a@example.com", teams=[".."]),
    "invite teams as one string": lambda o: o.members.invite("a@example.com", teams="backend"),
    "invite unknown team role": lambda o: o.members.invite(
        "a@example.com", team_roles={"backend": "owner"}
    ),
    "get with a user id": lambda o: o.members.get(UserId("42")),  # type: ignore[arg-type]
    "get with a team id": lambda o: o.members.get(TeamId("42")),  # type: ignore[arg-type]
    "get with a path": lambda o: o.members.get("1/../2"),  # type: ignore[arg-type]
    "get with negative id": lambda o: o.members.get(-3),  # type: ignore[arg-type]
    "update nothing": lambda o: o.members.update(M),
    "update unknown role": lambda o: o.members.update(M, role="god"),
    "update with a user id": lambda o: o.members.update(UserId("1"), role="member"),  # type: ignore[arg-type]
    "remove with a user id": lambda o: o.members.remove(UserId("1")),  # type: ignore[arg-type]
    "reinvite regenerate not bool": lambda o: o.members.reinvite(M, regenerate="yes"),  # type: ignore[arg-type]
    "find_by_email malformed": lambda o: o.members.find_by_email("nope"),
    "add_to_team slug with space": lambda o: o.members.add_to_team(M, "back end"),
    "set_team_role unknown": lambda o: o.members.set_team_role(M, "backend", "owner"),
    "list negative page size": lambda o: o.members.list(page_size=-1).collect(),
    "list page size over 100": lambda o: o.members.list(page_size=101).collect(),
    "list unknown role filter": lambda o: o.members.list(role="wizard").collect(),
    "list bad email filter": lambda o: o.members.list(email="x").collect(),
    "list zero prefetch": lambda o: o.members.list(prefetch=0).collect(),
    "teams get slug with slash": lambda o: o.teams.get("a/b"),
    "teams create bad slug": lambda o: o.teams.create("Bad Slug"),
    "teams create nothing": lambda o: o.teams.create(),
    "teams rename nothing": lambda o: o.teams.rename("backend"),
    "teams delete ..": lambda o: o.teams.delete(".."),
    "scim filter injection": lambda o: o.scim.users.list(user_name='a" or userName pr').collect(),
    "scim group filter injection": lambda o: o.scim.groups.list(
        display_name='x" or displayName pr "'
    ).collect(),
    "scim create owner": lambda o: o.scim.users.create("a@example.com", role="owner"),
    "scim create bad email": lambda o: o.scim.users.create("nope"),
    "scim get me": lambda o: o.scim.users.get("me"),
    "scim deactivate user id": lambda o: o.scim.users.deactivate(UserId("5")),
    "scim group add no members": lambda o: o.scim.groups.add_members("12", []),
    "scim group remove me": lambda o: o.scim.groups.remove_members("12", ["me"]),
    "scim group id with slash": lambda o: o.scim.groups.get("1/2"),
    "bulk set_roles unknown role": lambda o: _first_error(o.bulk.set_roles),
}


async def _first_error(run: Callable[[Any], Awaitable[Any]]) -> None:
    from sentry_members_async.rows import RoleRow

    report = await run([RoleRow(MemberId("42"), "emperor")])
    error = report[0].error
    assert error is not None
    raise error


@pytest.mark.parametrize("name", list(BAD))
async def test_refused_before_sending(
    setup: tuple[SentryEmulator, SentryClient], name: str
) -> None:
    emu, client = setup
    with pytest.raises(ValidationError):
        await BAD[name](client.org("acme"))
    assert emu.requests == []


@pytest.mark.parametrize("slug", ["", "a/b", "..", "with space", "UPPER", "x" * 51])
def test_bad_org_slug(setup: tuple[SentryEmulator, SentryClient], slug: str) -> None:
    _, client = setup
    with pytest.raises(ValidationError):
        client.org(slug)


def test_configuration_errors_are_typed() -> None:
    with pytest.raises(ConfigurationError):
        SentryClient("t", base_url="http://sentry.example.com")
    with pytest.raises(ConfigurationError):
        SentryClient("")
