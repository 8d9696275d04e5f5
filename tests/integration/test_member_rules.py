"""Each operation's rule, written once in ``MembersAPI`` and used by bulk, apply and the CLI.

Against the emulator over loopback HTTP: the requests sent and what each call says.
Where Sentry 23.7.1 answers otherwise than the emulator (seen on the real
server by ``tests/live`` and ``tests/differential``), the emulator's ``23.7`` profile
(:mod:`sentry_members_async.testing.profiles`) answers as it does: an invite's
role read from ``role`` only (``invite_role_keys``), a pending invite's details
with ``"user": {}`` (``pending_detail_user_empty``), and the *stored* team role,
``null`` at the org role's minimum, in the answers of ``PUT``/``GET
members/{id}/teams/{team}/`` and a team's member list (``stored_team_roles``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
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
TEAM_MEMBERS = re.compile(r"/api/0/teams/acme/([\w-]+)/members/")


def sent(emu: SentryEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.requests]


@pytest.fixture
async def old() -> AsyncIterator[tuple[Without, Org]]:
    """``acme`` on the emulator's ``23.7`` profile, seeded as ``emu`` is (in memory:
    the profile's connection close is the HTTP tests' business, tests/integration/conftest.py);
    ``Without`` rewrites nothing here, it keeps the answers."""
    emulator = SentryEmulator(seed=5, rate_limit=None, profile="23.7")
    emulator.add_org("acme", scim=True)
    emulator.add_teams("acme", 3)
    emulator.add_members("acme", 30, pending_ratio=0.1, teams=3)
    server = Without(emulator)
    token = emulator.add_token("acme")
    async with SentryClient(
        token, base_url="http://localhost", transport=MemoryTransport(server)
    ) as client:
        yield server, client.org("acme")


@pytest.fixture(params=["emulator", "23.7"])
def either(request: pytest.FixtureRequest) -> tuple[SentryEmulator, Org]:
    """The emulator's default profile over HTTP, or its ``23.7`` profile (in memory)."""
    if request.param == "emulator":
        return request.getfixturevalue("emu"), request.getfixturevalue("acme")
    server, org = request.getfixturevalue("old")
    assert server.emu.profile.stored_team_roles  # the answers the shim used to make
    return server.emu, org


class Without:
    """The emulator, with keys taken out of some answers (an older server's payloads).

    Every answer as the client got it is kept in ``answers``.
    """

    def __init__(self, emu: SentryEmulator) -> None:
        self.emu = emu
        #: ``(path pattern, change of the decoded body)``, applied to 200 answers.
        self.rewrites: list[tuple[re.Pattern[str], Callable[[Any], Any]]] = []
        self.answers: list[tuple[Request, Response]] = []

    async def __call__(self, request: Request) -> Response:
        response = await self.emu.handle(request)
        if response.status == 200:
            for pattern, change in self.rewrites:
                if pattern.fullmatch(request.url.path):
                    response = _rewrite(response, change)
                    break
        self.answers.append((request, response))
        return response

    def last(self, method: str, path: str) -> Any:
        """The decoded body of the last answer to ``method path``."""
        for request, response in reversed(self.answers):
            if (request.method, request.url.path) == (method, path):
                return response.json()
        raise AssertionError(f"no {method} {path} was answered")


def _rewrite(response: Response, change: Any) -> Response:
    body = json.dumps(change(response.json())).encode()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return attrs.evolve(response, body=body, headers=headers)


def _drop(*keys: str) -> Callable[[Any], Any]:
    def change(body: Any) -> Any:
        if isinstance(body, list):
            return [{k: v for k, v in row.items() if k not in keys} for row in body]
        return {k: v for k, v in body.items() if k not in keys}

    return change


@pytest.fixture
async def older(emu: SentryEmulator) -> AsyncIterator[tuple[Without, Org]]:
    """``acme`` on the emulator, through :class:`Without` (no rewrites until a test adds some)."""
    server = Without(emu)
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
    old: tuple[Without, Org],
) -> None:
    server, acme = old
    invite = next(m for m in server.emu.members("acme") if m["pending"])
    invite_id = MemberId(str(invite["id"]))
    details = f"{ORG}/members/{invite_id}/"
    got = await acme.members.get(invite_id)
    assert server.last("GET", details)["user"] == {}  # as 23.7.1 sends it
    assert (got.id, got.user, got.pending) == (invite_id, None, True)
    role = "manager" if invite["role"] != "manager" else "member"  # 23.7.1: no billing
    updated = await acme.members.update(invite_id, role=role)
    assert server.last("PUT", details)["user"] == {}
    assert (updated.user, updated.org_role) == (None, role)
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
    old: tuple[Without, Org],
) -> None:
    server, acme = old
    assert server.emu.profile.invite_role_keys == ("role",)  # 23.7.1 ignores orgRole
    invited = await acme.members.invite("lead@example.com", role="manager")
    assert server.emu.requests[-1].json() == {
        "email": "lead@example.com",
        "role": "manager",
        "orgRole": "manager",
    }
    assert invited.org_role == "manager"
    (row,) = [m for m in server.emu.members("acme") if m["email"] == "lead@example.com"]
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


async def test_join_team_reports_a_changed_team_role_as_updated(
    either: tuple[SentryEmulator, Org],
) -> None:
    emu, org = either
    member_id = _on_team(emu, "member", "team-02", None)  # a contributor there
    path = f"{ORG}/members/{member_id}/teams/team-02/"
    assert await org.members.join_team(member_id, "team-02", role="admin") == "updated"
    assert _stored(emu, member_id, "team-02") == "admin"
    assert sent(emu)[-3:] == [("POST", path), ("GET", f"{ORG}/members/{member_id}/"), ("PUT", path)]
    assert await org.members.join_team(member_id, "team-02", role="admin") == "unchanged"
    assert await org.members.join_team(member_id, "team-02", role="contributor") == "updated"
    assert _stored(emu, member_id, "team-02") is None


async def test_join_team_reports_unchanged_when_the_org_roles_floor_keeps_the_role(
    either: tuple[SentryEmulator, Org],
) -> None:
    emu, org = either
    member_id = _on_team(emu, "member", "team-03", None)
    await org.members.update(member_id, role="manager")  # team admin on every team now
    # Sentry keeps a manager at Team Admin (the minimum team role of "manager",
    # src/sentry/roles/manager.py): asking for contributor changes nothing.
    assert await org.members.join_team(member_id, "team-03", role="contributor") == "unchanged"
    assert await org.members.join_team(member_id, "team-03", role="admin") == "unchanged"
    assert _stored(emu, member_id, "team-03") is None
    details = await org.members.get(member_id)
    assert details.team_role_on("team-03") == "admin"


async def test_the_23_7_profile_answers_the_stored_team_role(old: tuple[Without, Org]) -> None:
    # What the shim used to make: team_details.py answers ``"teamRole": obj.role``,
    # null when the org role's minimum already gives the role asked.
    server, org = old
    member_id = _on_team(server.emu, "member", "team-01", None)
    await org.members.update(member_id, role="manager")
    path = f"{ORG}/members/{member_id}/teams/team-01/"
    membership = await org.members.set_team_role(member_id, "team-01", "admin")
    assert server.last("PUT", path) == {"isActive": True, "teamRole": None}
    assert membership.team_role is None
    response = await org.client.request("GET", path)
    assert response.json() == {"isActive": True, "teamRole": None}
    plain = _on_team(server.emu, "member", "team-02", None)
    await org.members.set_team_role(plain, "team-02", "admin")
    assert server.last("PUT", f"{ORG}/members/{plain}/teams/team-02/")["teamRole"] == "admin"


# -- join_team when the details do not list the team's role ------------------------------


async def test_join_team_reads_the_role_held_from_the_team_list_when_the_details_omit_it(
    emu: SentryEmulator, older: tuple[Without, Org]
) -> None:
    server, org = older
    server.rewrites.append((MEMBER_DETAILS, _drop("teamRoles")))  # an older server
    member_id = _on_team(emu, "member", "team-02", None)  # a contributor there
    details, team_list = f"{ORG}/members/{member_id}/", "/api/0/teams/acme/team-02/members/"
    path = f"{details}teams/team-02/"
    assert await org.members.join_team(member_id, "team-02", role="admin") == "updated"
    assert sent(emu)[-4:] == [("POST", path), ("GET", details), ("GET", team_list), ("PUT", path)]
    assert await org.members.join_team(member_id, "team-02", role="admin") == "unchanged"
    assert await org.members.join_team(member_id, "team-02", role="contributor") == "updated"
    assert await org.members.join_team(member_id, "team-02", role="contributor") == "unchanged"
    assert _stored(emu, member_id, "team-02") is None


async def test_join_team_says_unchanged_when_the_minimum_decides_and_nothing_else_says(
    emu: SentryEmulator, older: tuple[Without, Org]
) -> None:
    server, org = older
    server.rewrites += [
        (MEMBER_DETAILS, _drop("teamRoles")),
        (TEAM_MEMBERS, _drop("teamRole", "teamSlug")),
    ]
    manager = _on_team(emu, "member", "team-03", None)
    await org.members.update(manager, role="manager")  # team admin on every team
    before = len(emu.requests)
    assert await org.members.join_team(manager, "team-03", role="contributor") == "unchanged"
    assert await org.members.join_team(manager, "team-03", role="admin") == "unchanged"
    assert not [r for r in emu.requests[before:] if TEAM_MEMBERS.fullmatch(r.path)]
    # A contributor floor, and no answer says what was held: the role was set, and
    # nothing showed it held already ("updated"), rather than a guessed "unchanged".
    member_id = _on_team(emu, "member", "team-02", None)
    assert await org.members.join_team(member_id, "team-02", role="admin") == "updated"
    assert _stored(emu, member_id, "team-02") == "admin"
