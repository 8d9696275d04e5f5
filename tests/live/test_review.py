"""``review()`` against the real Sentry 23.7.1: its counts, teams and flags are what the
server's database holds, and it sent the requests it planned."""

from __future__ import annotations

import math

from sentry_members_async import Org
from sentry_members_async.review import review

from .conftest import Checks
from .realserver import RealSentry

# The member list shows approved rows whose user is active, and invites
# (src/sentry/api/endpoints/organization_member/index.py: ``invite_status=APPROVED``,
# ``user_is_active=True`` or no user).
_LISTED = (
    "FROM sentry_organizationmember m LEFT JOIN auth_user u ON u.id = m.user_id"
    " WHERE m.organization_id = {org} AND m.invite_status = 0"
    " AND (m.user_id IS NULL OR u.is_active)"
)


def _count(real: RealSentry, where: str = "") -> int:
    return int(real.scalar("SELECT count(*) " + _LISTED.format(org=real.org_id()) + where))


async def test_review_matches_the_database(acme: Org, real: RealSentry, check: Checks) -> None:
    mark = real.log_mark()
    result = await review(acme)
    sent = [r for r in real.settled_requests_since(mark) if "/api/0/" in r.path]

    listed = {r[0] for r in real.sql("SELECT m.id " + _LISTED.format(org=real.org_id()))}
    check.eq({m.member_id for m in result.members}, listed, "review: the database's listed members")
    summary = result.summary
    check.eq(summary.members, len(listed), "review: members and invites")
    check.eq(summary.pending, _count(real, " AND m.user_id IS NULL"), "review: pending invites")
    check.eq(summary.owners, _count(real, " AND m.role = 'owner'"), "review: owners")
    check.eq(summary.managers, _count(real, " AND m.role = 'manager'"), "review: managers")
    no_2fa = " AND m.user_id IS NOT NULL AND NOT EXISTS"
    no_2fa += " (SELECT 1 FROM auth_authenticator a WHERE a.user_id = m.user_id)"
    check.eq(summary.without_2fa, _count(real, no_2fa), "review: members without 2FA")
    linked = " AND m.user_id IS NOT NULL AND m.flags & 1 = 0"
    check.eq(summary.sso_not_linked, _count(real, linked), "review: SSO not linked")

    # Teams from the team member lists: each member's teams as the database holds them.
    rows = real.sql(
        "SELECT omt.organizationmember_id, t.slug FROM sentry_organizationmember_teams omt"  # noqa: S608
        " JOIN sentry_team t ON t.id = omt.team_id"
        f" WHERE t.organization_id = {real.org_id()} AND t.status = 0"
    )
    held: dict[str, set[str]] = {}
    for member_id, slug in rows:
        if member_id in listed:
            held.setdefault(member_id, set()).add(slug)
    seen = {m.member_id: {s for s, _ in m.teams} for m in result.members if m.teams}
    check.eq(seen, held, "review: every member's teams, from the team lists")
    sample = [(m.member_id, slug, role) for m in result.members for slug, role in m.teams][:40]
    check.eq(
        [role for _, _, role in sample],
        [real.held_team_role(member_id, slug) for member_id, slug, _ in sample],
        "review: the team roles held (40 memberships)",
    )
    without = sum(1 for m in result.members if not m.pending and m.member_id not in held)
    check.eq(summary.without_team, without, "review: accepted members on no team")

    proof = result.completeness
    assert proof is not None
    check.true(proof.consistent, "review: the reading is consistent")
    check.true(proof.teams_complete, "review: every team list read to its end")
    check.eq(proof.member_pages, max(1, math.ceil(len(listed) / 100)), "review: member pages")
    check.eq(proof.members_at_end, len(listed), "review: the count at the end")
    planned = proof.member_pages + proof.team_pages + 2
    check.eq(len(sent), planned, "review: the requests it planned, no more")
    check.eq(proof.requests, len(sent), "review: the requests it counted are the server's")
    check.eq({r.method for r in sent}, {"GET"}, "review: only GETs")
    check.eq(
        sum(1 for r in sent if "/members/" in r.path and r.path.startswith("/api/0/org")),
        proof.member_pages + 1,
        "review: each member page once, the last twice",
    )
    check.true(
        not any(r.path.rstrip("/").split("/")[-1].isdigit() for r in sent),
        "review: never a member's details",
    )
    for team in result.teams:
        check.eq(team.listed, team.member_count, f"review: team {team.slug} listed = memberCount")
