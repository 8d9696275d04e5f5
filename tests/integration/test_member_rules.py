"""Each operation's rule, written once in ``MembersAPI`` and used by bulk, apply and the CLI.

Against the emulator over loopback HTTP: the requests sent and what each call says.
"""

from __future__ import annotations

import pytest

from sentry_members_async import MemberId, NotFoundError, Org, ValidationError
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, Status

ORG = "/api/0/organizations/acme"


def sent(emu: SentryEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.requests]


async def test_find_by_id_email_or_me(emu: SentryEmulator, acme: Org) -> None:
    other = emu.members("acme")[4]
    by_email = await acme.members.find(other["email"].upper())
    by_id = await acme.members.find(MemberId(str(other["id"])))
    assert by_email is not None
    assert by_id is not None
    assert by_email.id == by_id.id == MemberId(str(other["id"]))
    assert sent(emu)[-1] == ("GET", f"{ORG}/members/{other['id']}/")
    me = await acme.members.find("me")
    assert me is not None
    assert me.org_role == "owner"
    assert await acme.members.find("nobody@example.com") is None
    assert await acme.members.find(MemberId("999999")) is None  # a 404 is "none"
    with pytest.raises(ValidationError):
        await acme.members.find("not a member id")


async def test_find_id_sends_nothing_for_an_id(emu: SentryEmulator, acme: Org) -> None:
    other = emu.members("acme")[4]
    before = len(emu.requests)
    assert await acme.members.find_id(MemberId("42")) == MemberId("42")
    assert len(emu.requests) == before
    assert await acme.members.find_id(other["email"]) == MemberId(str(other["id"]))
    assert emu.requests[-1].params["query"] == f"email:{other['email']}"
    assert await acme.members.find_id("nobody@example.com") is None


async def test_invite_status_is_typed_and_says_what_it_found(
    emu: SentryEmulator, acme: Org
) -> None:
    member, status = await acme.members.invite_status(
        "new@example.com", role="manager", teams=["team-01"], send_invite=False
    )
    assert status == "created"
    assert emu.requests[-1].json() == {
        "email": "new@example.com",
        "orgRole": "manager",
        "teamRoles": [{"teamSlug": "team-01", "role": None}],
        "sendInvite": False,
    }
    again, second = await acme.members.invite_status("new@example.com")
    assert (again.id, second) == (member.id, "already_invited")
    accepted = next(m for m in emu.members("acme") if not m["pending"])
    _, third = await acme.members.invite_status(accepted["email"])
    assert third == "already_member"
    with pytest.raises(ValidationError):
        await acme.members.invite_status("new@example.com", role="wizard")


async def test_remove_a_404_is_not_found_unless_missing_ok(emu: SentryEmulator, acme: Org) -> None:
    victim = MemberId(str(emu.members("acme")[6]["id"]))
    assert await acme.members.remove(victim) is True
    assert sent(emu)[-1] == ("DELETE", f"{ORG}/members/{victim}/")
    with pytest.raises(NotFoundError):
        await acme.members.remove(victim)
    assert await acme.members.remove(victim, missing_ok=True) is False


async def test_remove_a_404_after_a_retry_means_the_first_attempt_removed_it(
    emu: SentryEmulator, acme: Org
) -> None:
    victim = MemberId(str(emu.members("acme")[6]["id"]))
    emu.inject("DELETE", f"{ORG}/members/{victim}/", ResetAfter(), calls={1})
    assert await acme.members.remove(victim) is True
    assert sent(emu).count(("DELETE", f"{ORG}/members/{victim}/")) == 2
    assert victim not in {str(m["id"]) for m in emu.members("acme")}


async def test_join_team_with_a_role(emu: SentryEmulator, acme: Org) -> None:
    member = next(
        m
        for m in emu.members("acme")
        if not m["pending"] and m["role"] == "member" and "team-03" not in m["teams"]
    )
    member_id = MemberId(str(member["id"]))
    path = f"{ORG}/members/{member_id}/teams/team-03/"
    assert await acme.members.join_team(member_id, "team-03", role="admin") == "added"
    assert sent(emu)[-2:] == [("POST", path), ("PUT", path)]
    assert emu.requests[-1].json() == {"teamRole": "admin"}
    assert await acme.members.join_team(member_id, "team-03") == "unchanged"
    assert sent(emu)[-1] == ("POST", path)  # no role asked: no PUT
    assert await acme.members.join_team(member_id, "team-03", role="admin") == "unchanged"
    state = {m["id"]: m for m in emu.members("acme")}
    assert state[member["id"]]["teams"]["team-03"] == "admin"
    before = len(emu.requests)
    with pytest.raises(ValidationError):
        await acme.members.join_team(member_id, "team-03", role="boss")
    assert len(emu.requests) == before  # refused before anything was sent


async def test_join_team_that_makes_an_access_request_sets_no_role(
    emu: SentryEmulator, acme: Org
) -> None:
    member = next(m for m in emu.members("acme") if "team-02" not in m["teams"])
    member_id = MemberId(str(member["id"]))
    path = f"{ORG}/members/{member_id}/teams/team-02/"
    emu.inject("POST", path, Status(202, {}), calls={1})
    assert await acme.members.join_team(member_id, "team-02", role="admin") == "requested"
    assert sent(emu)[-1] == ("POST", path)
