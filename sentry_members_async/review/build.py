"""``await review(acme)``: read the org once, check the reading, and hold it as a :class:`Review`.

One round reads the teams list, then, concurrently, every team's member list
and the member list (:mod:`.walk`), then the last member page once more. The
round is consistent when:

- the last page read again holds the same members and says no page follows
  (the member count at the end equals the members walked);
- no member came twice on the member pages, and no page came back empty
  before the end (members leaving shift Sentry's offset pages);
- every member a team list shows is on the member pages (a member that
  moved between pages while they were read shows up here);
- every team list was read to its last page.

When a check fails the org changed while it was read: the review reads it
again (at most ``rounds`` times in all), keeps the last reading, and says what
appeared and disappeared between the first reading and the last.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import attrs

from ..api.org import OrgContext
from ..errors import ValidationError
from ..models import Member, Team, effective_team_role
from .snapshot import Changes, Completeness, Review, ReviewMember, ReviewTeam
from .walk import PAGE_SIZE, Known, MemberWalk, TeamWalk, read_last_page, walk_members, walk_team

__all__ = ["review"]

Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@attrs.define
class _Round:
    teams: list[Team]
    team_walks: list[TeamWalk]
    members: MemberWalk
    at_end: int
    requests: int
    signs: list[str]


async def _round(org: OrgContext) -> _Round:
    """One reading: the member pages start at once; each team's list as soon as the
    teams list names it."""
    known = Known()
    members_task = asyncio.ensure_future(walk_members(org, known))
    team_tasks: list[asyncio.Task[TeamWalk]] = []
    try:
        teams = org.teams.list(detailed=False, prefetch=1)
        async for team in teams:
            team_tasks.append(asyncio.ensure_future(walk_team(org, team, known)))
        team_walks = list(await asyncio.gather(*team_tasks))
        members = await members_task
    finally:
        for task in (members_task, *team_tasks):
            task.cancel()
    last, follows, extra = await read_last_page(org, members)
    team_pages = sum(w.pages for w in team_walks)
    requests = max(teams.pages_fetched, 1) + members.requests + team_pages + extra
    at_end = (len(members.pages) - 1) * PAGE_SIZE + len(last)
    signs = _checks(members, team_walks, last, follows)
    return _Round([w.team for w in team_walks], team_walks, members, at_end, requests, signs)


def _checks(
    members: MemberWalk, team_walks: list[TeamWalk], last: list[Member], follows: bool
) -> list[str]:
    signs: list[str] = []
    walked = members.members
    ids = [m.id for m in walked]
    if len(set(ids)) != len(ids):
        signs.append("a member came twice on the member pages (members joined meanwhile)")
    if any(not page for page in members.pages[1:]):
        signs.append("a member page came back empty before the end (members left meanwhile)")
    if follows or [m.id for m in last] != [m.id for m in members.pages[-1]]:
        signs.append(
            "the last member page read again differs from the walk "
            f"({len(last)} members{', and a page follows' if follows else ''} instead of "
            f"{len(members.pages[-1])})"
        )
    known = set(ids)
    for walk in team_walks:
        missing = sorted({m.email or m.id for m in walk.members if m.id not in known})
        if missing:
            signs.append(
                f"team {walk.team.slug} lists {len(missing)} member(s) the member pages "
                f"did not show: {', '.join(missing[:5])}"
            )
        team_ids = [m.id for m in walk.members]
        if not walk.exhausted or len(set(team_ids)) != len(team_ids):
            signs.append(f"team {walk.team.slug}'s member list did not read to a clean end")
    return signs


def record(member: Member, teams: list[tuple[str, str | None]], listed: bool) -> ReviewMember:
    user = member.user
    flags = member.flags
    return ReviewMember(
        member_id=str(member.id),
        email=member.email,
        name=member.name,
        org_role=member.org_role,
        pending=member.pending or user is None,
        expired=member.expired,
        invite_status=member.invite_status,
        date_created=member.date_created,
        inviter_name=member.inviter_name,
        user_id=str(user.id) if user is not None else None,
        user_email=user.email if user is not None else None,
        emails=tuple((e.email, e.is_verified) for e in user.emails) if user is not None else (),
        has_2fa=user.has_2fa if user is not None else None,
        sso_linked=flags.sso_linked,
        sso_invalid=flags.sso_invalid,
        idp_provisioned=flags.idp_provisioned,
        idp_role_restricted=flags.idp_role_restricted,
        last_login=user.last_login if user is not None else None,
        last_active=user.last_active if user is not None else None,
        teams=tuple(sorted(teams)),
        teams_listed=listed,
    )


def _records(reading: _Round) -> tuple[tuple[ReviewMember, ...], tuple[ReviewTeam, ...]]:
    by_member: dict[str, list[tuple[str, str | None]]] = {}
    invites_listed = False
    for walk in reading.team_walks:
        for m in walk.members:
            # The role held: 23.7.1's lists show the stored role (NULL at the org
            # role's minimum), newer ones the raised one (models.effective_team_role).
            held = effective_team_role(m.team_role, m.minimum_team_role)
            by_member.setdefault(m.id, []).append((walk.team.slug, held))
            invites_listed = invites_listed or m.user is None or m.pending
    unique: dict[str, Member] = {}
    for m in reading.members.members:
        unique.setdefault(m.id, m)
    members = tuple(
        record(m, by_member.get(m.id, []), invites_listed or not (m.pending or m.user is None))
        for m in sorted(unique.values(), key=lambda m: (len(m.id), m.id))
    )
    teams = tuple(
        ReviewTeam(
            slug=w.team.slug,
            team_id=str(w.team.id),
            member_count=w.team.member_count,
            listed=len(w.members),
            pages=w.pages,
            complete=w.exhausted and len({m.id for m in w.members}) == len(w.members),
        )
        for w in sorted(reading.team_walks, key=lambda w: w.team.slug)
    )
    return members, teams


def _changes(first: _Round, last: _Round, signs: list[str]) -> Changes:
    def emails(reading: _Round) -> dict[str, str]:
        return {m.id: m.email for m in reading.members.members}

    before, after = emails(first), emails(last)
    return Changes(
        appeared=tuple(sorted(after[i] for i in after.keys() - before.keys())),
        disappeared=tuple(sorted(before[i] for i in before.keys() - after.keys())),
        signs=tuple(signs),
    )


async def review(org: OrgContext, *, rounds: int = 3, clock: Clock = _utcnow) -> Review:
    """One consistent snapshot of ``org``: every member and invite, teams and access.

    Costs one request per page of the member list, one per page of each team's
    member list, the teams list and one re-read of the last member page
    (:mod:`.walk`); a member's details are never read. When the org changes
    while it is read, it is read again, ``rounds`` readings at most: the
    review holds the last, and ``completeness.changed`` what moved.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValidationError("rounds must be a positive integer")
    started = clock()
    readings: list[_Round] = []
    signs: list[str] = []
    requests = 0
    while len(readings) < rounds:
        reading = await _round(org)
        readings.append(reading)
        requests += reading.requests
        if not reading.signs:
            break
        signs += [f"reading {len(readings)}: {s}" for s in reading.signs]
    last = readings[-1]
    members, teams = _records(last)
    completeness = Completeness(
        members_walked=len(last.members.members),
        members_at_end=last.at_end,
        member_pages=len(last.members.pages),
        team_pages=sum(w.pages for w in last.team_walks),
        requests=requests,
        rounds=len(readings),
        teams_complete=all(t.complete for t in teams),
        consistent=not last.signs,
        changed=_changes(readings[0], last, signs),
    )
    return Review(
        org=org.slug,
        started_at=started,
        finished_at=clock(),
        members=members,
        teams=teams,
        completeness=completeness,
    )
