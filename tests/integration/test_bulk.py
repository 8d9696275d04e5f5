"""Bulk operations, plan/apply and invite polling against the emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import io

import pytest

from sentry_members_async import (
    BulkAborted,
    BulkReport,
    DesiredMember,
    InviteRow,
    MemberId,
    Org,
    OutcomeKind,
    SentryClient,
    ValidationError,
    load_invite_rows,
)
from sentry_members_async.api.capabilities import ChangeRefusedError
from sentry_members_async.reconcile import (
    AddToTeam,
    ChangeRole,
    Invite,
    RemoveFromTeam,
    RemoveMember,
)
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.rows import RoleRow, TeamRow
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, ResetBefore, Slow, Status

K = OutcomeKind


def emails(emu: SentryEmulator, pending: bool | None = None) -> list[str]:
    return [m["email"] for m in emu.members("acme") if pending is None or m["pending"] is pending]


async def test_bulk_invite_with_teams(emu: SentryEmulator, acme: Org) -> None:
    existing_member = emails(emu, pending=False)[3]
    existing_invite = emails(emu, pending=True)[0]
    progress: list[tuple[int, int | None]] = []
    rows: list[InviteRow | dict[str, str]] = [
        InviteRow("ann@example.com", teams=["team-01"]),
        {"email": existing_member},
        InviteRow("bob@example.com", "manager", team_roles={"team-02": "admin"}),
        InviteRow(existing_invite),
        InviteRow("not-an-email"),
        InviteRow("cy@example.com", teams=["no-such-team"]),
        InviteRow("ann@example.com"),
    ]
    report = await acme.bulk.invite(
        rows, progress=lambda done, total: progress.append((done, total)), concurrency=1
    )
    assert [o.kind for o in report] == [
        K.CREATED,
        K.ALREADY_MEMBER,
        K.CREATED,
        K.ALREADY_INVITED,
        K.FAILED,
        K.FAILED,
        K.ALREADY_INVITED,  # listed twice: invited once, the second row says so
    ]
    assert all(isinstance(report[i].error, ValidationError) for i in (4, 5))
    assert report.counts() == {
        K.CREATED: 2,
        K.ALREADY_MEMBER: 1,
        K.ALREADY_INVITED: 2,
        K.FAILED: 2,
    }
    # printed as the README shows it: plain names (the str-enum keys equal them)
    assert repr(report.counts()) == (
        "{'created': 2, 'already_member': 1, 'already_invited': 2, 'failed': 2}"
    )
    assert [r.email for r in report.failed()] == ["not-an-email", "cy@example.com"]
    assert progress[-1] == (7, 7)
    state = {m["email"]: m for m in emu.members("acme")}
    assert state["ann@example.com"]["teams"] == {"team-01": None}
    assert state["bob@example.com"]["role"] == "manager"
    assert report[0].member_id == MemberId(str(state["ann@example.com"]["id"]))
    assert emu.invites_created("acme")["ann@example.com"] == 1


async def test_set_roles_and_promotion_rules(emu: SentryEmulator, acme: Org) -> None:
    regular = [m for m in emu.members("acme") if m["role"] == "member" and not m["pending"]]
    rows = [
        RoleRow(regular[0]["email"], "manager"),
        RoleRow(MemberId(str(regular[1]["id"])), "member"),
        RoleRow("ghost@example.com", "member"),
        RoleRow(regular[2]["email"], "emperor"),
    ]
    report = await acme.bulk.set_roles(rows)
    assert [o.kind for o in report] == [K.UPDATED, K.UNCHANGED, K.NOT_FOUND, K.FAILED]
    assert {m["id"]: m["role"] for m in emu.members("acme")}[regular[0]["id"]] == "manager"
    # a manager may not promote to owner: refused before it is sent, reported per item
    token = emu.add_token("acme", role="manager")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        denied = await client.org("acme").bulk.set_roles([RoleRow(regular[3]["email"], "owner")])
    assert denied[0].kind is K.REFUSED
    assert isinstance(denied[0].error, ChangeRefusedError)
    assert "owner is above your own role (manager)" in str(denied[0].error)
    assert emu.find("PUT", f"/api/0/organizations/acme/members/{regular[3]['id']}/") == []


async def test_team_assignment(emu: SentryEmulator, acme: Org) -> None:
    member = next(
        m
        for m in emu.members("acme")
        if not m["pending"] and m["role"] == "member" and "team-03" not in m["teams"]
    )
    on_team = next(m for m in emu.members("acme") if not m["pending"] and "team-01" in m["teams"])
    added = await acme.bulk.add_to_teams(
        [
            TeamRow(member["email"], "team-03", "admin"),
            TeamRow(member["email"], "team-03"),
            TeamRow("ghost@example.com", "team-03"),
        ],
        concurrency=1,
    )
    assert [o.kind for o in added] == [K.CREATED, K.UNCHANGED, K.NOT_FOUND]
    state = {m["id"]: m for m in emu.members("acme")}
    assert state[member["id"]]["teams"]["team-03"] == "admin"
    removed = await acme.bulk.remove_from_teams(
        [TeamRow(on_team["email"], "team-01"), TeamRow(on_team["email"], "team-01")],
        concurrency=1,
    )
    assert [o.kind for o in removed] == [K.REMOVED, K.UNCHANGED]
    assert "team-01" not in {m["id"]: m for m in emu.members("acme")}[on_team["id"]]["teams"]


async def test_remove(emu: SentryEmulator, acme: Org) -> None:
    victims = emu.members("acme")[5:7]
    report = await acme.bulk.remove(
        [victims[0]["email"], MemberId(str(victims[1]["id"])), "ghost@example.com", MemberId("999")]
    )
    assert [o.kind for o in report] == [K.REMOVED, K.REMOVED, K.NOT_FOUND, K.NOT_FOUND]
    assert report.removed_via() == {"rest": 2}
    left = {m["id"] for m in emu.members("acme")}
    assert not left & {victims[0]["id"], victims[1]["id"]}


async def test_deprovision_with_scim_and_rest_fallback(emu: SentryEmulator, acme: Org) -> None:
    leaver = emails(emu, pending=False)[2]
    owner = emu.members("acme")[0]
    emu.add_token("acme", role="owner")  # a second owner, so the first may go
    report = await acme.bulk.deprovision([leaver, owner["email"], "ghost@example.com"])
    assert [o.kind for o in report] == [K.REMOVED, K.REMOVED, K.NOT_FOUND]
    assert [o.via for o in report] == ["scim", "rest", None]  # which API removed each
    assert emu.find("PATCH", "*/scim/v2/Users/*")  # the member went through SCIM
    assert emu.find("DELETE", "*/members/*")  # the owner through REST
    assert leaver not in emails(emu)
    # an org without SCIM: REST DELETE for everyone
    emu.add_org("plain")
    emu.add_members("plain", 3)
    token = emu.add_token("plain")
    target = [m["email"] for m in emu.members("plain")][1]
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        plain = await client.org("plain").bulk.deprovision([target])
    assert plain[0].kind is K.REMOVED
    assert target not in [m["email"] for m in emu.members("plain")]


async def test_bad_token_stops_the_run(emu: SentryEmulator) -> None:
    async with emu.serve() as url, SentryClient("wrong-token", base_url=url) as client:
        with pytest.raises(BulkAborted) as info:
            await client.org("acme").bulk.remove([MemberId("1"), MemberId("2"), MemberId("3")])
    assert info.value.report.aborted is info.value.error
    assert "401" in str(info.value)
    assert len(emu.find("DELETE")) <= 3


async def test_load_invite_rows_from_csv() -> None:
    text = (
        "email,role,teams\n"
        "a@example.com,member,team-01\n"
        "broken,member,\n"
        "b@example.com,wizard,\n"
        "A@example.com,admin,\n"
        "c@example.com,,team-01;team-02\n"
        "d@example.com,member,ghosts\n"
    )
    batch = load_invite_rows(io.StringIO(text), known_teams=["team-01", "team-02"])
    assert [r.email for r in batch.rows] == ["a@example.com", "c@example.com"]
    assert batch.rows[1].teams == ("team-01", "team-02")
    assert [(e.line, e.field) for e in batch.errors] == [
        (3, "email"),
        (4, "role"),
        (5, "email"),
        (7, "teams"),
    ]
    assert "listed twice (first on row 2)" in batch.errors[2].message


async def test_plan_and_apply(emu: SentryEmulator, acme: Org) -> None:
    keep = [m for m in emu.members("acme") if not m["pending"] and m["role"] == "member"][:2]
    desired = [
        DesiredMember(keep[0]["email"], "manager", dict.fromkeys(keep[0]["teams"])),
        DesiredMember(
            keep[1]["email"], "member", {**dict.fromkeys(keep[1]["teams"]), "team-03": None}
        ),
        DesiredMember("newbie@example.com", "member", {"team-02": None}),
    ]
    if "team-03" in keep[1]["teams"]:
        desired[1] = DesiredMember(keep[1]["email"], "member", {"team-01": None, "team-02": None})
    team_changes = set(keep[1]["teams"]) ^ set(desired[1].teams or {})
    plan = await acme.plan(desired, remove_missing=True, allow_mass_removal=True)
    kinds = {type(c) for c in plan.changes}
    assert Invite in kinds
    assert ChangeRole in kinds
    assert RemoveMember in kinds
    owner = emu.members("acme")[0]["email"]
    assert owner in plan.kept  # owners (and the caller) are never removed unless asked
    assert all(not (isinstance(c, RemoveMember) and c.email == owner) for c in plan.changes)
    assert "+ invite newbie@example.com as member to team-02" in plan.diff()
    moves = {c.team for c in plan.changes if isinstance(c, AddToTeam | RemoveFromTeam)}
    assert moves == team_changes
    report = await acme.apply(plan)
    assert len(report) == len(plan)
    assert report.ok, report.failures()
    state = {m["email"]: m for m in emu.members("acme")}
    assert set(state) == {owner, keep[0]["email"], keep[1]["email"], "newbie@example.com"}
    assert state[keep[0]["email"]]["role"] == "manager"
    assert set(state[keep[1]["email"]]["teams"]) == set(desired[1].teams or {})
    assert not await acme.plan(
        desired, remove_missing=True, allow_mass_removal=True
    )  # converged: nothing left to do


async def test_wait_for_acceptance(emu: SentryEmulator, acme: Org) -> None:
    await acme.bulk.invite([InviteRow("x@example.com"), InviteRow("y@example.com")])
    emu.reset_log()

    async def accept_later() -> None:
        await asyncio.sleep(0.15)
        emu.accept_invite("acme", "x@example.com")

    accepter = asyncio.create_task(accept_later())
    result = await acme.members.wait_for_acceptance(
        ["x@example.com", "y@example.com"], timeout=0.6, interval=0.1
    )
    await accepter
    assert result.accepted == {"x@example.com"}
    assert result.pending == {"y@example.com"}
    assert not result.done
    rounds = emu.find("GET", "/api/0/organizations/acme/members/")
    # one filtered list per round; once x is accepted, only y is asked for
    queries = [r.params["query"] for r in rounds]
    assert queries[0] == "email:x@example.com email:y@example.com"
    assert queries[-1] == "email:y@example.com"
    assert set(queries) == {queries[0], queries[-1]}
    assert 3 <= len(rounds) <= 7


async def test_cancelled_run_reports_what_was_done(emu: SentryEmulator) -> None:
    token = emu.add_token("acme")
    emu.set_latency("POST", "*", 0.05)
    report: BulkReport[InviteRow] = BulkReport()
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        task = asyncio.create_task(
            client.org("acme").bulk.invite(
                (InviteRow(f"p{i}@example.com") for i in range(200)), concurrency=4, report=report
            )
        )
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
    assert type(info.value) is asyncio.CancelledError  # unchanged, not a subclass
    assert report.cancelled
    assert len(report) == 200  # every input row, the ones never read included
    created = {f"p{i}@example.com" for i, o in enumerate(report) if o.kind is K.CREATED}
    on_server = {e for e in emails(emu) if e.startswith("p")}
    assert created == on_server
    assert 0 < len(created) < 200
    assert set(report.counts()) <= {K.CREATED, K.NOT_SENT}
    rest = {r.email for r in report.not_sent()}
    assert rest == {f"p{i}@example.com" for i in range(200)} - created
    posts = emu.find("POST", "/api/0/organizations/acme/members/")
    assert sorted(r.json()["email"] for r in posts) == sorted(created)  # one POST each


@pytest.mark.parametrize(
    "fault",
    [
        Status(429, "too frequently"),
        Status(503, {"detail": "unavailable"}),
        ResetBefore(),
        ResetAfter(),
        Slow(0.6),
    ],
    ids=["429", "503", "reset-before", "reset-after", "timeout"],
)
async def test_fault_matrix_invites_each_person_exactly_once(fault: object) -> None:
    emu = SentryEmulator(seed=8, rate_limit=None)
    emu.add_org("acme")
    token = emu.add_token("acme")
    emu.inject("*", "/api/0/organizations/acme/members/", fault, ratio=0.1)  # type: ignore[arg-type]
    rows = [InviteRow(f"user{i:03d}@example.com") for i in range(500)]
    fast = RetryPolicy(base_delay=0.05, max_delay=1.0, max_attempts=8)
    with emu.serve_in_thread() as url:
        async with SentryClient(token, base_url=url, timeout=0.3, retry=fast) as client:
            report = await client.org("acme").bulk.invite(rows, concurrency=16)
    assert len(report) == 500
    assert report.counts() == {K.CREATED: 500}, report.failures()[:3]
    invited = emu.invites_created("acme")
    assert len(invited) == 500
    assert set(invited.values()) == {1}
    assert len(emails(emu, pending=True)) == 500


async def test_an_item_that_is_no_row_fails_alone_and_the_run_goes_on(
    emu: SentryEmulator, acme: Org
) -> None:
    rows = iter([InviteRow("a1@example.com"), 42, "a2@example.com"])  # a stream, as a generator
    report = await acme.bulk.invite(rows, concurrency=1)  # type: ignore[arg-type]
    assert [o.kind for o in report] == [K.CREATED, K.FAILED, K.CREATED]
    assert isinstance(report[1].error, ValidationError)
    assert str(report[1].error) == (
        "an invite row is an InviteRow, a mapping with 'email' (and optionally 'role', "
        "'teams', 'team_roles') or an e-mail address, not int"
    )
    assert {"a1@example.com", "a2@example.com"} <= set(emails(emu, pending=True))
    posts = [r.json()["email"] for r in emu.find("POST", "/api/0/organizations/acme/members/")]
    assert posts == ["a1@example.com", "a2@example.com"]  # the bad item sent nothing


async def test_a_dict_row_reads_as_load_invite_rows_reads_it(
    emu: SentryEmulator, acme: Org
) -> None:
    rows = [
        {"email": "d1@example.com", "teams": "team-01:admin"},
        {"email": "d2@example.com", "teams": "team-01,team-01"},
    ]
    assert [e.message for e in load_invite_rows(rows).errors] == ["teams lists a team twice"]
    report = await acme.bulk.invite(rows, concurrency=1)
    assert [o.kind for o in report] == [K.CREATED, K.FAILED]
    assert isinstance(report[1].error, ValidationError)
    assert str(report[1].error) == "teams: teams lists a team twice"
    posts = [r.json() for r in emu.find("POST", "/api/0/organizations/acme/members/")]
    assert posts == [  # the team role was read from the teams column; the refused row: nothing
        {
            "email": "d1@example.com",
            "role": "member",  # both keys: 23.7.1 reads "role" (ddd750b)
            "orgRole": "member",
            "teamRoles": [{"teamSlug": "team-01", "role": "admin"}],
        }
    ]
    (invited,) = [m for m in emu.members("acme") if m["email"] == "d1@example.com"]
    assert invited["teams"] == {"team-01": None}  # Sentry applies no team role on invite
