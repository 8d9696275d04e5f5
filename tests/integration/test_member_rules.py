"""Each operation's rule, written once in ``MembersAPI`` and used by bulk, apply and the CLI.

Against the emulator over loopback HTTP: the requests sent and what each call says.
Where Sentry 23.7.1 answers otherwise than the emulator (see
``/work/shared/reference/real-sentry-23.7.md``), :class:`AsSentry237` puts the
difference between the client and the emulator, in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from sentry_members_async import (
    InviteRow,
    MemberId,
    NotFoundError,
    Org,
    SentryClient,
    ValidationError,
)
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, Status
from sentry_members_async.transports import MemoryTransport
from sentry_members_async.transports.base import Request, Response

ORG = "/api/0/organizations/acme"
MEMBER_DETAILS = re.compile(r"/api/0/organizations/acme/members/(\d+|me)/")
MEMBER_TEAM = re.compile(r"/api/0/organizations/acme/members/(\d+)/teams/([\w-]+)/")


def sent(emu: SentryEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.requests]


class AsSentry237:
    """The emulator, answering as Sentry 23.7.1 does where the emulator differs.

    - ``POST members/`` creates the member with the deprecated ``role`` key and
      ignores ``orgRole`` (``OrganizationMember(role=result["role"])``, ``role``
      defaulting to ``member``: src/sentry/api/endpoints/organization_member/index.py):
      ``orgRole`` is taken out of the body before the emulator reads it.
    - A pending invite's details (``GET``/``PUT members/{id}/``) carry ``"user": {}``
      (``users_by_id.get(str(item.user_id), {})``: src/sentry/api/serializers/models/
      organization_member/expand/roles.py).
    - ``PUT members/{id}/teams/{team}/`` answers the *stored* team role, ``null``
      at the org role's minimum (``OrganizationMemberTeamDetailsSerializer``:
      ``"teamRole": obj.role``, team_details.py); the emulator answers the role held.
    """

    def __init__(self, emu: SentryEmulator) -> None:
        self.emu = emu
        #: The requests as the client sent them (before any rewriting).
        self.sent: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.sent.append(request)
        path = request.url.path
        if request.method == "POST" and path == f"{ORG}/members/" and request.body:
            body = json.loads(request.body)
            body.pop("orgRole", None)
            request = attrs.evolve(request, body=json.dumps(body).encode())
        response = await self.emu.handle(request)
        if response.status != 200 or request.method not in ("GET", "PUT"):
            return response
        if MEMBER_DETAILS.fullmatch(path):
            return _rewrite(response, lambda d: d | {"user": d["user"] or {}})
        team_path = MEMBER_TEAM.fullmatch(path)
        if team_path and request.method == "PUT":
            member_id, slug = int(team_path[1]), team_path[2]
            row = next(m for m in self.emu.members("acme") if m["id"] == member_id)
            return _rewrite(response, lambda d: d | {"teamRole": row["teams"][slug]})
        return response


def _rewrite(response: Response, change: Any) -> Response:
    body = json.dumps(change(response.json())).encode()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return attrs.evolve(response, body=body, headers=headers)


@pytest.fixture
async def old(emu: SentryEmulator) -> AsyncIterator[tuple[AsSentry237, Org]]:
    """``acme`` on a server that answers as 23.7.1 (:class:`AsSentry237`)."""
    server = AsSentry237(emu)
    token = emu.add_token("acme")
    async with SentryClient(
        token, base_url="http://localhost", transport=MemoryTransport(server)
    ) as client:
        yield server, client.org("acme")


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
        "role": "manager",
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


# -- a pending invite's "user": {} ----------------------------------------------------------


async def test_a_pending_invite_with_an_empty_user_object_can_be_read_and_changed(
    emu: SentryEmulator, old: tuple[AsSentry237, Org]
) -> None:
    _, acme = old
    invite = next(m for m in emu.members("acme") if m["pending"])
    invite_id = MemberId(str(invite["id"]))
    got = await acme.members.get(invite_id)
    assert (got.id, got.user, got.pending) == (invite_id, None, True)
    updated = await acme.members.update(invite_id, role="billing")
    assert (updated.user, updated.org_role) == (None, "billing")
    again = await acme.members.reinvite(invite_id)
    assert (again.user, again.pending) == (None, True)
    found = await acme.members.find(invite_id)
    assert found is not None
    assert found.user_id is None


# -- the org role in both keys -----------------------------------------------------------


async def test_every_invite_sends_the_org_role_as_role_and_org_role(
    emu: SentryEmulator, acme: Org
) -> None:
    await acme.members.invite("one@example.com", role="manager")
    await acme.members.invite_status("two@example.com", role="billing", send_invite=False)
    report = await acme.bulk.invite([InviteRow("three@example.com", role="manager")])
    assert [o.kind.value for o in report] == ["created"]
    posts = {r.json()["email"]: r.json() for r in emu.find("POST", f"{ORG}/members/")}
    assert posts == {
        "one@example.com": {"email": "one@example.com", "role": "manager", "orgRole": "manager"},
        "two@example.com": {
            "email": "two@example.com",
            "role": "billing",
            "orgRole": "billing",
            "sendInvite": False,
        },
        "three@example.com": {
            "email": "three@example.com",
            "role": "manager",
            "orgRole": "manager",
        },
    }
    roles = {m["email"]: m["role"] for m in emu.members("acme")}
    assert [roles[e] for e in posts] == ["manager", "billing", "manager"]


async def test_an_invite_gets_its_role_on_a_server_that_reads_only_role(
    emu: SentryEmulator, old: tuple[AsSentry237, Org]
) -> None:
    server, acme = old
    invited = await acme.members.invite("lead@example.com", role="manager")
    assert server.sent[-1].body is not None
    assert json.loads(server.sent[-1].body) == {
        "email": "lead@example.com",
        "role": "manager",
        "orgRole": "manager",
    }
    assert invited.org_role == "manager"
    (row,) = [m for m in emu.members("acme") if m["email"] == "lead@example.com"]
    assert row["role"] == "manager"  # not 23.7's default "member"


async def test_update_sends_role_and_org_role_on_put(emu: SentryEmulator, acme: Org) -> None:
    # details.py reads result.get("orgRole") or result.get("role"); releases before
    # orgRole read "role" only: one value in both keys is applied by either.
    target = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    member = await acme.members.update(MemberId(str(target["id"])), role="manager")
    assert emu.requests[-1].json() == {"role": "manager", "orgRole": "manager"}
    assert member.org_role == "manager"
    assert {m["id"]: m["role"] for m in emu.members("acme")}[target["id"]] == "manager"


# -- join_team: the outcome is what the member holds after the call ---------------------


def _on_team(emu: SentryEmulator, role: str, team: str, stored: str | None) -> MemberId:
    member = next(
        m
        for m in emu.members("acme")
        if not m["pending"] and m["role"] == role and m["teams"].get(team, "-") == stored
    )
    return MemberId(str(member["id"]))


def _stored(emu: SentryEmulator, member_id: MemberId, team: str) -> str | None:
    row = next(m for m in emu.members("acme") if str(m["id"]) == member_id)
    stored: str | None = row["teams"][team]
    return stored


@pytest.mark.parametrize("server", ["emulator", "23.7"])
async def test_join_team_reports_a_changed_team_role_as_updated(
    emu: SentryEmulator, acme: Org, old: tuple[AsSentry237, Org], server: str
) -> None:
    org = acme if server == "emulator" else old[1]
    member_id = _on_team(emu, "member", "team-02", None)  # a contributor there
    path = f"{ORG}/members/{member_id}/teams/team-02/"
    assert await org.members.join_team(member_id, "team-02", role="admin") == "updated"
    assert _stored(emu, member_id, "team-02") == "admin"
    assert sent(emu)[-3:] == [("POST", path), ("GET", f"{ORG}/members/{member_id}/"), ("PUT", path)]
    assert await org.members.join_team(member_id, "team-02", role="admin") == "unchanged"
    assert await org.members.join_team(member_id, "team-02", role="contributor") == "updated"
    assert _stored(emu, member_id, "team-02") is None


@pytest.mark.parametrize("server", ["emulator", "23.7"])
async def test_join_team_reports_unchanged_when_the_org_roles_floor_keeps_the_role(
    emu: SentryEmulator, acme: Org, old: tuple[AsSentry237, Org], server: str
) -> None:
    org = acme if server == "emulator" else old[1]
    member_id = _on_team(emu, "member", "team-03", None)
    await acme.members.update(member_id, role="manager")  # team admin on every team now
    # Sentry keeps a manager at Team Admin (the minimum team role of "manager",
    # src/sentry/roles/manager.py): asking for contributor changes nothing.
    assert await org.members.join_team(member_id, "team-03", role="contributor") == "unchanged"
    assert await org.members.join_team(member_id, "team-03", role="admin") == "unchanged"
    assert _stored(emu, member_id, "team-03") is None
    details = await acme.members.get(member_id)
    assert details.team_role_on("team-03") == "admin"
