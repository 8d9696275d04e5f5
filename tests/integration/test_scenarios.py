"""The integration guide's three scenarios, end to end against the emulator over HTTP.

1. bulk-invite people onto a team, then wait until each has accepted (SSO orgs
   accept through SSO login, not the e-mail link);
2. deprovision through SCIM ``active=false``, falling back to the REST DELETE
   when SCIM answers 404 (SSO just-in-time members the IdP never pushed);
   Owners through REST only;
3. promote a member, with the 403 of a caller below Owner/Manager as a typed error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sentry_members_async import (
    InsufficientRoleError,
    InviteRow,
    MemberId,
    Org,
    OutcomeKind,
    PermissionDeniedError,
    SentryClient,
)
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import Status
from sentry_members_async.watch import MemoryStore

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def sso_emu() -> SentryEmulator:
    emu = SentryEmulator(seed=11, rate_limit=None)
    emu.add_org("acme", scim=True)  # SCIM on: SAML SSO is configured
    emu.add_team("acme", "backend")
    emu.add_teams("acme", 2)
    emu.add_members("acme", 40, pending_ratio=0.0, teams=3)
    return emu


@pytest.fixture
async def acme(sso_emu: SentryEmulator) -> AsyncIterator[Org]:
    token = sso_emu.add_token("acme")
    scim = sso_emu.add_token("acme", kind="scim")
    async with (
        sso_emu.serve() as url,
        SentryClient(token, base_url=url, scim_token=scim) as client,
    ):
        yield client.org("acme")


async def test_bulk_invite_onto_a_team_then_wait_until_each_accepted(
    sso_emu: SentryEmulator, acme: Org
) -> None:
    people = ["ana@acme.example.com", "bo@acme.example.com", "cai@acme.example.com"]
    watch = acme.members.watch(interval=0.02, store=MemoryStore())
    await watch.poll()  # the baseline, before the invites
    report = await acme.bulk.invite([InviteRow(p, "member", ("backend",)) for p in people])
    assert [o.kind for o in report] == [OutcomeKind.CREATED] * 3
    waiting = {o.member_id for o in report}

    async def the_people_accept() -> None:
        sso_emu.sso_login("acme", people[0])  # first SSO login accepts the invite
        await asyncio.sleep(0.05)
        sso_emu.sso_login("acme", people[1].upper())  # the IdP's spelling of the address
        await asyncio.sleep(0.05)
        sso_emu.accept_invite("acme", people[2])  # the e-mail link, where allowed

    accepting = asyncio.create_task(the_people_accept())
    joined = []
    async with watch:
        async for event in watch:  # waits on member ids: no assumption about the path taken
            if event.kind == "joined" and event.member_id in waiting:
                waiting.discard(event.member_id)
                joined.append(event)
                if not waiting:
                    break
    await accepting
    assert sorted(e.email.lower() for e in joined) == sorted(people)
    rows = {m["email"].lower(): m for m in sso_emu.members("acme")}
    for person in people:
        assert not rows[person]["pending"]
        assert "backend" in rows[person]["teams"]
    assert [rows[p]["flags"]["sso:linked"] for p in people] == [True, True, False]
    # the e-mail based wait agrees (Sentry matches SSO identities to invites by e-mail)
    result = await acme.members.wait_for_acceptance(people, timeout=0)
    assert result.accepted == frozenset(people)
    assert result.done


async def test_deprovision_falls_back_to_rest_delete_on_a_scim_404(
    sso_emu: SentryEmulator, acme: Org
) -> None:
    jit = "jit.person@acme.example.com"
    jit_id = sso_emu.sso_login("acme", jit)  # came in by SSO just-in-time: no SCIM push
    sso_emu.inject(
        "PATCH",
        f"/api/0/organizations/acme/scim/v2/Users/{jit_id}",
        Status(404, {"schemas": [SCIM_ERROR], "detail": "User not found."}),
    )
    pushed = sso_emu.members("acme")[4]
    sso_emu.add_token("acme", role="owner")  # a second owner (not the caller), who leaves
    owner = next(m for m in sso_emu.members("acme") if m["email"].startswith("owner-"))
    sso_emu.reset_log()

    report = await acme.bulk.deprovision([jit, pushed["email"], owner["email"]])
    assert [o.kind for o in report] == [OutcomeKind.REMOVED] * 3
    assert [o.member_id for o in report] == [
        MemberId(str(jit_id)),
        MemberId(str(pushed["id"])),
        MemberId(str(owner["id"])),
    ]
    calls = [(r.method, r.path, r.status) for r in sso_emu.requests if r.method != "GET"]
    scim, rest = "/api/0/organizations/acme/scim/v2/Users", "/api/0/organizations/acme/members"
    assert sorted(calls) == sorted(
        [
            ("PATCH", f"{scim}/{jit_id}", 404),
            ("DELETE", f"{rest}/{jit_id}/", 204),
            ("PATCH", f"{scim}/{pushed['id']}", 204),
            ("DELETE", f"{rest}/{owner['id']}/", 204),  # Owners: REST only
        ]
    )
    left = {m["id"] for m in sso_emu.members("acme")}
    assert not left & {jit_id, pushed["id"], owner["id"]}


async def test_after_a_scim_404_a_rest_404_means_not_found(
    sso_emu: SentryEmulator, acme: Org
) -> None:
    gone = sso_emu.members("acme")[6]
    sso_emu.inject(
        "PATCH",
        f"/api/0/organizations/acme/scim/v2/Users/{gone['id']}",
        Status(404, {"schemas": [SCIM_ERROR], "detail": "User not found."}),
    )
    # removed by someone else between the lookup and the DELETE
    sso_emu.inject(
        "DELETE",
        f"/api/0/organizations/acme/members/{gone['id']}/",
        Status(404, {"detail": "The requested resource does not exist"}),
    )
    report = await acme.bulk.deprovision([gone["email"]])
    assert report[0].kind is OutcomeKind.NOT_FOUND
    assert report[0].member_id == MemberId(str(gone["id"]))
    assert report.ok


async def test_promote_and_the_403_of_a_caller_below_manager(sso_emu: SentryEmulator) -> None:
    target = next(m for m in sso_emu.members("acme") if m["role"] == "member")
    target_id = MemberId(str(target["id"]))
    owner = sso_emu.add_token("acme")
    admin = sso_emu.add_token("acme", role="admin")
    manager = sso_emu.add_token("acme", role="manager")
    async with sso_emu.serve() as url:
        async with SentryClient(admin, base_url=url) as client:
            with pytest.raises(InsufficientRoleError) as denied:
                await client.org("acme").members.update(target_id, role="manager")
        error = denied.value
        assert isinstance(error, PermissionDeniedError)
        assert (error.status, error.role, error.member) == (403, "manager", str(target_id))
        assert "Owner or Manager" in str(error)
        assert admin not in str(error)
        assert sso_emu.member("acme", target["email"]).role == "member"  # type: ignore[union-attr]

        async with SentryClient(manager, base_url=url) as client:
            with pytest.raises(InsufficientRoleError) as above:
                await client.org("acme").members.update(target_id, role="owner")
            assert above.value.field_errors == {
                "role": ["You do not have permission to assign the given role."]
            }

        async with SentryClient(owner, base_url=url) as client:
            promoted = await client.org("acme").members.update(target_id, role="manager")
    assert promoted.org_role == "manager"
    assert sso_emu.member("acme", target["email"]).role == "manager"  # type: ignore[union-attr]


async def test_promote_to_admin_where_the_org_has_no_team_roles() -> None:
    emu = SentryEmulator(seed=2, rate_limit=None)
    emu.add_org("classic", team_roles=False)  # 'admin' is retired only with team roles
    emu.add_members("classic", 5, pending_ratio=0.0, roles={"member": 1.0})
    target = emu.members("classic")[1]
    token = emu.add_token("classic")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        member = await client.org("classic").members.update(
            MemberId(str(target["id"])), role="admin"
        )
    assert member.org_role == "admin"
    assert emu.members("classic")[1]["role"] == "admin"
