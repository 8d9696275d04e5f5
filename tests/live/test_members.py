"""``acme.members``: every method of the README's table, against the real server.

Each check compares what the SDK said with what the server holds (its
database) or received (its request log).
"""

from __future__ import annotations

import math

import pytest

from sentry_members_async import (
    BadRequestError,
    MemberId,
    NotFoundError,
    Org,
    PermissionDeniedError,
)
from sentry_members_async.api.members import is_already_member

from .conftest import Checks, live_client
from .realserver import RealSentry


@pytest.fixture(scope="module")
def accepted(real: RealSentry) -> dict[str, MemberId]:
    """Members of this module who have accepted (users), by role: e-mail to member id."""
    import uuid

    tag = uuid.uuid4().hex[:8]
    people = real.create_members([f"mem{i}-{tag}@example.com" for i in range(4)])
    people |= real.create_members([f"mgr-{tag}@example.com"], role="manager", teams=["backend"])
    people |= real.create_members([f"bk-{tag}@example.com"], teams=["backend"])
    return {email: MemberId(i) for email, i in people.items()}


def _by_prefix(accepted: dict[str, MemberId], prefix: str) -> tuple[str, MemberId]:
    return next((e, i) for e, i in accepted.items() if e.startswith(prefix))


async def test_list_and_filters(acme: Org, real: RealSentry, check: Checks) -> None:
    members = await acme.members.list().collect()
    ids = real.member_ids()
    check.eq(len(members), len(ids), "list: as many members as the database holds")
    check.eq({m.id for m in members}, ids, "list: the database's member ids")
    check.eq([int(m.id) for m in members], sorted(int(m.id) for m in members), "list: id order")

    chiefs = await acme.members.list(role=["owner", "manager"]).collect()
    wanted = real.emails_with_role("owner") | real.emails_with_role("manager")
    check.eq({m.email.lower() for m in chiefs}, wanted, "list(role=[owner, manager])")

    invited = await acme.members.list(is_invited=True).collect()
    check.eq(len(invited), real.pending_count(), "list(is_invited=True): the pending rows")
    check.true(all(m.pending for m in invited), "list(is_invited=True): all pending")
    pending = await acme.members.pending().collect()
    check.eq({m.id for m in pending}, {m.id for m in invited}, "pending() = is_invited")

    one = await acme.members.list(email="member005@example.com").collect()
    row = real.member_row("member005@example.com")
    check.eq([m.id for m in one], [row["id"] if row else None], "list(email=): that member")

    mark = real.log_mark()
    pages = [page async for page in acme.members.list(page_size=50).pages()]
    check.eq(sum(len(p) for p in pages), len(ids), "pages(page_size=50): every member once")
    check.eq(len([p for p in pages if len(p)]), math.ceil(len(ids) / 50), "non-empty pages")
    sent = [r for r in real.settled_requests_since(mark) if "/members/?" in r.path]
    check.true(all("per_page=50" in r.path for r in sent), "per_page=50 sent on each page")
    check.eq({r.status for r in sent}, {200}, "every page answered 200")

    first = await acme.members.list(limit=7).collect()
    check.eq([m.id for m in first], [m.id for m in members[:7]], "list(limit=7): the first 7")
    eager = await acme.members.list(eager=True, prefetch=4).collect()
    check.eq([m.id for m in eager], [m.id for m in members], "list(eager=True): the same list")
    raw = await acme.members.list(query="email:member006@example.com").collect()
    check.eq(
        [m.email for m in raw], ["member006@example.com"], "list(query=raw): as Sentry reads it"
    )
    no_2fa = await acme.members.list(has_2fa=False).collect()
    check.eq(len(no_2fa), real.members_without_2fa(), "list(has_2fa=False): as stored")
    linked = await acme.members.list(sso_linked=True).collect()
    check.eq(len(linked), real.members_sso_linked(), "list(sso_linked=True): as stored")


async def test_get_and_find(
    acme: Org, real: RealSentry, check: Checks, accepted: dict[str, MemberId]
) -> None:
    me = await acme.members.get("me")
    check.eq(
        (me.id, me.email, me.org_role),
        (real.owner_member_id, "owner@example.com", "owner"),
        "get('me')",
    )

    email, member_id = _by_prefix(accepted, "bk-")
    member = await acme.members.get(member_id)
    check.eq((member.email, member.org_role, member.pending), (email, "member", False), "get(id)")
    check.eq(set(member.teams), {"backend"}, "get(id): its teams as in the database")

    invite_row = real.member_row("invitee010@example.com")
    assert invite_row is not None
    invite = await check.ok(acme.members.get(MemberId(invite_row["id"])), "get(invite id) decodes")
    if invite is not None:
        check.eq(
            (invite.email, invite.pending, invite.user),
            ("invitee010@example.com", True, None),
            "get(invite id): pending, no user",
        )

    found = await acme.members.find_by_email(email.upper())
    check.eq(found.id if found else None, member_id, "find_by_email: case-insensitive")
    found = await acme.members.find_by_email("invitee011@example.com")
    row = real.member_row("invitee011@example.com")
    check.eq(found.id if found else None, row["id"] if row else "?", "find_by_email: an invite")
    check.eq(
        await acme.members.find_by_email("nobody-here@example.com"), None, "find_by_email: nobody"
    )
    await check.raises(NotFoundError, acme.members.get(MemberId("999999")), "get(unknown id): 404")


async def test_invite(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: dict[str, MemberId]
) -> None:
    mark = real.log_mark()
    email = f"boss-{uid}@example.com"
    invite = await acme.members.invite(email, role="manager", teams=["backend"])
    row = real.member_row(email)
    check.eq(
        row and (row["id"], row["role"], row["pending"]),
        (invite.id, "manager", "True"),
        "invite(role='manager'): a pending manager on the server",
    )
    check.eq(invite.org_role, "manager", "invite: the answer says manager")
    check.eq(real.team_role(invite.id, "backend"), None, "invite(teams=[backend]): on the team")

    roles = f"teamroles-{uid}@example.com"
    on_teams = await acme.members.invite(roles, team_roles={"frontend": "admin", "backend": None})
    check.eq([real.team_role(on_teams.id, t) != "absent" for t in ("backend", "frontend")],
             [True, True], "invite(team_roles=): on both teams")  # fmt: skip

    quiet = f"quiet-{uid}@example.com"
    created = await acme.members.invite(quiet, send_invite=False)
    row = real.member_row(quiet)
    check.eq(row and (row["id"], row["role"]), (created.id, "member"), "invite(send_invite=False)")

    error = await check.raises(BadRequestError, acme.members.invite(email), "invite again: 400")
    check.true(error is not None and is_already_member(error), "invite again: 'already' answer")
    check.eq(real.rows_with_email(email), 1, "invite again: still one row")

    _, status = await acme.members.invite_status(email)
    check.eq(status, "already_invited", "invite_status(pending address)")
    member_email, member_id = _by_prefix(accepted, "mem0")
    found, status = await acme.members.invite_status(member_email)
    check.eq((found.id, status), (member_id, "already_member"), "invite_status(a member)")

    posts = [r for r in real.settled_requests_since(mark) if r.method == "POST"]
    check.eq(
        [r.status for r in posts],
        [201, 201, 201, 400, 400, 400],
        "the server saw each invite POST exactly once",
    )


async def test_update_and_reinvite(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: dict[str, MemberId]
) -> None:
    email = f"upd-{uid}@example.com"
    invite = await acme.members.invite(email, teams=["backend"])
    updated = await check.ok(acme.members.update(invite.id, role="manager"), "update(invite)")
    check.eq(real.role_of(email), "manager", "update(invite, role='manager'): stored")
    if updated is not None:
        check.eq(updated.org_role, "manager", "update: the answer says manager")

    await check.ok(acme.members.update(invite.id, team_roles={"frontend": None}), "update(teams)")
    check.eq(
        (real.team_role(invite.id, "frontend"), real.team_role(invite.id, "backend")),
        (None, "absent"),
        "update(team_roles={frontend}): the teams replaced",
    )

    member_email, member_id = _by_prefix(accepted, "mem1")
    changed = await acme.members.update(member_id, role="manager")
    check.eq(
        (changed.org_role, real.role_of(member_email)),
        ("manager", "manager"),
        "update(member, role='manager')",
    )
    error = await check.raises(
        BadRequestError,
        acme.members.update(member_id, role="admin"),
        "update(role='admin'): retired, 400",
    )
    check.true(error is not None and "deprecated" in error.detail, "admin: Sentry says deprecated")
    check.eq(real.role_of(member_email), "manager", "admin refused: role kept")

    token = real.invite_token(invite.id)
    mark = real.log_mark()
    again = await check.ok(acme.members.reinvite(invite.id), "reinvite(invite)")
    check.eq(again.id if again else None, invite.id, "reinvite: the same invite")
    token_after = real.invite_token(invite.id)
    check.eq(token_after, token, "reinvite: the link kept")
    await check.ok(acme.members.reinvite(invite.id, regenerate=True), "reinvite(regenerate)")
    token_new = real.invite_token(invite.id)
    check.true(token_new not in ("", token), "reinvite(regenerate=True): a new link stored")
    puts = [r for r in real.settled_requests_since(mark) if r.method == "PUT"]
    check.eq([r.status for r in puts], [200, 200], "reinvite: one PUT each")


async def test_remove(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: dict[str, MemberId]
) -> None:
    email = f"gone-{uid}@example.com"
    invite = await acme.members.invite(email)
    check.eq(await acme.members.remove(invite.id), True, "remove(invite): True")
    check.eq(real.member_row(email), None, "remove(invite): the row is gone")
    await check.raises(
        NotFoundError, acme.members.remove(invite.id), "remove(an id removed before the call): 404"
    )
    check.eq(
        await acme.members.remove(invite.id, missing_ok=True),
        False,
        "remove(missing_ok=True) of a missing id: False",
    )

    member_email, member_id = _by_prefix(accepted, "mem2")
    check.eq(await acme.members.remove(member_id), True, "remove(member)")
    check.eq(real.member_row(member_email), None, "remove(member): the row is gone")


async def test_team_membership(
    acme: Org, real: RealSentry, check: Checks, accepted: dict[str, MemberId]
) -> None:
    _, mid = _by_prefix(accepted, "mem3")  # a member on no team
    check.eq(await acme.members.add_to_team(mid, "frontend"), "added", "add_to_team")
    check.eq(real.team_role(mid, "frontend"), None, "add_to_team: on the team")
    check.eq(await acme.members.add_to_team(mid, "frontend"), "unchanged", "add_to_team again")
    held = await acme.members.set_team_role(mid, "frontend", "admin")
    check.eq(
        (held.team_role, real.team_role(mid, "frontend")),
        ("admin", "admin"),
        "set_team_role(admin)",
    )
    team = await acme.members.remove_from_team(mid, "frontend")
    check.eq(
        (team.slug, real.team_role(mid, "frontend")), ("frontend", "absent"), "remove_from_team"
    )

    _, contributor = _by_prefix(accepted, "bk-")
    result = await acme.members.join_team(contributor, "backend", role="admin")
    check.eq(
        (result, real.team_role(contributor, "backend")),
        ("updated", "admin"),
        "join_team(contributor on the team, role=admin): updated",
    )
    result = await acme.members.join_team(contributor, "backend", role="admin")
    check.eq(result, "unchanged", "join_team(admin already): unchanged")

    _, manager = _by_prefix(accepted, "mgr-")
    before = real.team_role(manager, "backend")
    result = await acme.members.join_team(manager, "backend", role="contributor")
    check.eq(
        (result, real.team_role(manager, "backend")),
        ("unchanged", before),
        "join_team(manager, role=contributor): stays team admin, unchanged",
    )
    result = await acme.members.join_team(manager, "frontend", role="admin")
    check.eq(
        (result, real.team_role(manager, "frontend") in (None, "admin")),
        ("added", True),
        "join_team(new team): added",
    )


async def test_scopes_and_unknowns(real: RealSentry, check: Checks, uid: str) -> None:
    async with (
        live_client(real, "readonly") as reader,
        live_client(real, "outsider") as outsider,
    ):
        mine = reader.org(real.org)
        members = await mine.members.list(limit=5).collect()
        check.eq(len(members), 5, "a read-only token lists members")
        email = f"ro-{uid}@example.com"
        error = await check.raises(
            PermissionDeniedError,
            mine.members.invite(email),
            "a read-only token cannot invite: 403",
        )
        check.true(
            error is not None and "member:write" in error.required_scopes,
            "403 names the scope missing",
        )
        check.eq(real.member_row(email), None, "nothing was invited")
        await check.raises(
            PermissionDeniedError,
            mine.teams.create(f"ro-{uid}"),
            "a read-only token cannot create a team: 403",
        )
        check.eq(real.team(f"ro-{uid}"), None, "no team was made")
        await check.raises(
            PermissionDeniedError,
            outsider.org(real.org).members.get("me"),
            "a token outside the org: 403",
        )
        await check.raises(
            NotFoundError,
            reader.org(f"no-org-{uid}").members.list().collect(),
            "an unknown org: 404",
        )
