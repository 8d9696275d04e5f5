"""``acme.bulk``: the daily invite quota, SCIM provisioning, roles, teams, removal and
deprovision, against the real server; every outcome compared with what it holds.

The quota is the server's own (``organizations:invite-members-rate-limits``: 100
invites an org a day, counted in Redis). Sending 100 invites to reach it takes a
minute or more here (0.35-1.8 s an invite), so the org's counter is first set to
94 invites used today (``real.prefill_invite_quota``): the same server logic
then refuses the 7th. ``SMA_LIVE_FULL_QUOTA=1`` sends all 100 instead.
"""

from __future__ import annotations

import os
import uuid

import pytest

from sentry_members_async import InviteQuotaError, InviteRow, MemberId, Org, PermissionDeniedError
from sentry_members_async.rows import RoleRow, TeamRow

from .conftest import Checks
from .realserver import RealSentry

MEMBERS_POST = "/api/0/organizations/acme/members/"


@pytest.fixture(scope="module")
def accepted(real: RealSentry) -> dict[str, MemberId]:
    """This module's members who have accepted: e-mail to member id."""
    tag = uuid.uuid4().hex[:8]
    people = real.create_members([f"bulk{i}-{tag}@example.com" for i in range(8)])
    people |= real.create_members(
        [f"bulkbk{i}-{tag}@example.com" for i in range(3)], teams=["backend"]
    )
    return {email: MemberId(i) for email, i in people.items()}


def _pick(accepted: dict[str, MemberId], prefix: str) -> list[tuple[str, MemberId]]:
    return [(e, i) for e, i in accepted.items() if e.startswith(prefix)]


def _kinds(report: object) -> list[str]:
    return [str(o.kind) for o in report]  # type: ignore[attr-defined]


async def test_invite_past_the_daily_quota(
    acme: Org, real: RealSentry, check: Checks, uid: str
) -> None:
    used = 0 if os.environ.get("SMA_LIVE_FULL_QUOTA") else 94
    room = 100 - used
    real.prefill_invite_quota(used)
    rows = [
        InviteRow(f"q{i}-{uid}@example.com", role="manager" if i % 3 == 0 else "member",
                  teams=("backend",) if i % 2 else ())
        for i in range(room + 4)
    ]  # fmt: skip
    mark = real.log_mark()
    report = await acme.bulk.invite(rows)
    kinds = _kinds(report)
    # Invites go in parallel: which rows meet the quota is not their input order.
    check.eq(sorted(kinds), ["created"] * room + ["deferred"] * 4,
             "quota: room created, the rest deferred")  # fmt: skip
    check.true(isinstance(report.quota, InviteQuotaError), "report.quota holds the 429")
    created = [r for r, kind in zip(rows, kinds, strict=True) if kind == "created"]
    posts = [r.status for r in real.settled_requests_since(mark) if r.method == "POST"]
    check.eq(posts.count(201), room, "the server created each created row once")
    check.true(1 <= posts.count(429) <= 4 and len(posts) == room + posts.count(429),
               f"past the quota only the POSTs in flight, refused ({posts})")  # fmt: skip
    stored = [real.member_row(r.email) for r in rows]
    check.eq([s is not None for s in stored], [k == "created" for k in kinds],
             "the server holds exactly the created rows")  # fmt: skip
    check.eq([real.role_of(r.email) for r in created], [r.role for r in created],
             "each created invite with its role (manager where asked)")  # fmt: skip
    on_team = [real.team_role(s["id"], "backend") != "absent" for s in stored if s]
    check.eq(on_team, [bool(r.teams) for r in created], "each created invite on its teams")

    deferred = report.deferred()
    check.eq([r.email for r in deferred],
             [r.email for r, kind in zip(rows, kinds, strict=True) if kind == "deferred"],
             "report.deferred(): the deferred rows, in input order")  # fmt: skip

    mark = real.log_mark()
    again = await acme.bulk.invite(deferred)
    check.eq(_kinds(again), ["deferred"] * 4, "same day: deferred again")
    statuses = [r.status for r in real.settled_requests_since(mark) if r.method == "POST"]
    check.true(1 <= len(statuses) <= 4 and set(statuses) == {429},
               f"same day: only refused POSTs, at most one a row ({statuses})")  # fmt: skip

    real.reset_invite_quota()
    mark = real.log_mark()
    later = await acme.bulk.invite(deferred)
    check.eq(_kinds(later), ["created"] * 4, "after the quota's reset: the deferred created")
    statuses = [r.status for r in real.settled_requests_since(mark) if r.method == "POST"]
    check.eq(statuses, [201] * 4, "after the reset: one POST each")
    check.eq([real.role_of(r.email) for r in deferred], [r.role for r in deferred],
             "the deferred rows stored with their roles")  # fmt: skip


async def test_invite_via_scim(acme: Org, real: RealSentry, check: Checks, uid: str) -> None:
    real.prefill_invite_quota(100)  # the invite quota spent: SCIM is not counted against it
    rows = [
        InviteRow(f"sc{i}-{uid}@example.com", role="manager" if i % 4 == 0 else "member",
                  teams=("backend",) if i % 2 else (),
                  team_roles={"frontend": "admin"} if i % 5 == 0 else {})
        for i in range(12)
    ]  # fmt: skip
    mark = real.log_mark()
    report = await acme.bulk.invite(rows, via="scim")
    check.eq(_kinds(report), ["created"] * 12, "via scim: all created, the quota spent")
    seen = real.settled_requests_since(mark)
    scim_posts = [r.status for r in seen if r.method == "POST" and "/scim/v2/Users" in r.path]
    check.eq(scim_posts, [201] * 12, "one SCIM POST Users each")
    check.eq([r for r in seen if r.method == "POST" and r.path == MEMBERS_POST], [],
             "no invite POST")  # fmt: skip
    check.eq([real.role_of(r.email) for r in rows], [r.role for r in rows], "roles as asked")
    check.true(all("idp:provisioned" in real.member_flags(r.email) for r in rows),
               "each flagged idp:provisioned")  # fmt: skip
    ids = [(real.member_row(r.email) or {}).get("id", "0") for r in rows]
    check.eq([real.team_role(i, "backend") != "absent" for i in ids], [bool(r.teams) for r in rows],
             "each on its teams")  # fmt: skip
    check.eq([real.held_team_role(i, "frontend") for i in ids],
             ["admin" if r.team_roles else "absent" for r in rows],
             "team roles held as asked")  # fmt: skip

    again = await acme.bulk.invite(rows, via="scim")
    check.eq(_kinds(again), ["already_invited"] * 12, "the same rows again: already invited")
    check.eq({real.rows_with_email(r.email) for r in rows}, {1}, "still one row each")


async def test_set_roles(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: dict[str, MemberId]
) -> None:
    (a_email, a_id), (b_email, _), (c_email, _) = _pick(accepted, "bulk")[:3]
    invite = await acme.members.invite(f"role-{uid}@example.com")
    rows = [
        RoleRow(a_id, "manager"),
        RoleRow(b_email, "manager"),
        RoleRow(c_email, "member"),
        RoleRow(invite.id, "manager"),
        RoleRow(f"nobody-{uid}@example.com", "manager"),
    ]
    report = await acme.bulk.set_roles(rows)
    check.eq(_kinds(report), ["updated", "updated", "unchanged", "updated", "not_found"],
             "set_roles outcomes")  # fmt: skip
    stored = [real.role_of(e) for e in (a_email, b_email, c_email, f"role-{uid}@example.com")]
    check.eq(stored, ["manager", "manager", "member", "manager"], "set_roles: the roles stored")
    again = await acme.bulk.set_roles(rows[:4])
    check.eq(_kinds(again), ["unchanged"] * 4, "set_roles again: unchanged")


async def test_team_adds_and_removals(
    acme: Org, real: RealSentry, check: Checks, accepted: dict[str, MemberId]
) -> None:
    (a_email, a_id), (b_email, b_id) = _pick(accepted, "bulk")[3:5]
    (k_email, k_id), (l_email, l_id) = _pick(accepted, "bulkbk")[:2]
    rows = [
        TeamRow(a_id, "frontend"),
        TeamRow(b_email, "frontend", "admin"),
        TeamRow(k_email, "backend"),
        TeamRow(l_id, "backend", "admin"),
        TeamRow("nobody-teams@example.com", "backend"),
    ]
    report = await acme.bulk.add_to_teams(rows)
    check.eq(_kinds(report), ["created", "created", "unchanged", "updated", "not_found"],
             "add_to_teams outcomes")  # fmt: skip
    check.eq([real.team_role(a_id, "frontend"), real.team_role(b_id, "frontend"),
              real.team_role(k_id, "backend"), real.team_role(l_id, "backend")],
             [None, "admin", None, "admin"], "add_to_teams: the team roles stored")  # fmt: skip

    out = await acme.bulk.remove_from_teams(
        [TeamRow(a_email, "frontend"), TeamRow(b_id, "backend"), TeamRow(l_email, "backend")]
    )
    check.eq(_kinds(out), ["removed", "unchanged", "removed"], "remove_from_teams outcomes")
    check.eq([real.team_role(a_id, "frontend"), real.team_role(l_id, "backend")],
             ["absent", "absent"], "remove_from_teams: off the teams")  # fmt: skip


async def test_remove_and_idp_fallback(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: dict[str, MemberId]
) -> None:
    (m_email, m_id) = _pick(accepted, "bulk")[5]
    invite = await acme.members.invite(f"rm-{uid}@example.com")
    idp = await acme.scim.users.create(f"idp-{uid}@example.com")
    report = await acme.bulk.remove(
        [m_id, invite.email, f"nobody-{uid}@example.com", f"idp-{uid}@example.com"]
    )
    check.eq(_kinds(report), ["removed", "removed", "not_found", "failed"], "remove outcomes")
    check.eq([real.member_row(e) for e in (m_email, invite.email)], [None, None],
             "remove: the rows are gone")  # fmt: skip
    error = report[3].error
    check.true(isinstance(error, PermissionDeniedError), "the IdP member: Sentry's 403")
    check.eq(type(error).__name__, "IdpManagedError", "the 403 is told as IdP-managed")
    check.true(error is not None and "SCIM" in str(error), "the error says to use SCIM")
    check.true(real.member_row(f"idp-{uid}@example.com") is not None, "the IdP member is kept")

    mark = real.log_mark()
    fallback = await acme.bulk.remove([idp.id], idp_fallback="scim")
    check.eq(_kinds(fallback), ["removed"], "idp_fallback='scim': removed")
    check.eq(fallback[0].via, "scim", "outcome.via says SCIM")
    check.eq(fallback.removed_via(), {"scim": 1}, "removed_via()")
    check.eq(real.member_row(f"idp-{uid}@example.com"), None, "the IdP member is gone")
    seen = [(r.method, r.status) for r in real.settled_requests_since(mark)
            if r.method == "DELETE"]  # fmt: skip
    check.eq(seen, [("DELETE", 403), ("DELETE", 204)],
             "the server saw the REST DELETE refused, then one SCIM DELETE")  # fmt: skip


async def test_deprovision(
    acme: Org, real: RealSentry, check: Checks, uid: str, accepted: dict[str, MemberId]
) -> None:
    (m_email, _) = _pick(accepted, "bulk")[6]
    await acme.scim.users.create(f"dep-{uid}@example.com")
    invite = await acme.members.invite(f"depinv-{uid}@example.com")
    emails = [f"dep-{uid}@example.com", m_email, invite.email, f"nobody-{uid}@example.com"]
    mark = real.log_mark()
    report = await acme.bulk.deprovision(emails)
    check.eq(_kinds(report), ["removed", "removed", "removed", "not_found"], "deprovision outcomes")
    check.eq([o.via for o in report][:3], ["scim"] * 3, "deprovision: through SCIM")
    check.eq([real.member_row(e) for e in emails[:3]], [None, None, None], "the rows are gone")
    patches = [r.status for r in real.settled_requests_since(mark) if r.method == "PATCH"]
    check.eq(patches, [204] * 3, "one SCIM PATCH active=false each")
    check.eq(real.role_of("owner@example.com"), "owner", "the owner untouched")
