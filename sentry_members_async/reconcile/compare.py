"""Making a plan: the desired roster compared with one read of the live org.

Team roles are compared as *held*, not as stored. Sentry stores ``NULL``
instead of a team role that the org role's minimum already gives (a manager
or owner is a team admin on every team: :data:`~..models.MINIMUM_TEAM_ROLE`),
and its team lists show that ``NULL`` (23.7.1) or the raised role (newer). So a
desired role is raised to the member's minimum before it is compared
(:func:`~..models.effective_team_role`): ``admin`` for a manager whose stored
role is ``NULL`` is no change. When the plan also changes the member's org
role, the role must hold under both the current and the new minimum.

The plan records what it saw of each member it changes (:class:`.Premise`),
how many members it read, and the verdict of :mod:`..api.capabilities` on
each change; removals go through the guards of :mod:`.guards`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..api._common import check_email, check_org_role
from ..api.capabilities import (
    Caller,
    Verdict,
    caller_of,
    check_invite,
    check_removal,
    check_role_change,
)
from ..changes import (
    AddToTeam,
    Change,
    ChangeRole,
    Invite,
    RemoveFromTeam,
    RemoveMember,
    SetTeamRole,
)
from ..errors import NotFoundError, ValidationError
from ..models import (
    MINIMUM_TEAM_ROLE,
    TEAM_ROLE_NAMES,
    Member,
    MemberId,
    effective_team_role,
)
from ..rows import DesiredMember
from .guards import check_read, check_removals
from .plan import Plan, Premise

if TYPE_CHECKING:
    from ..api.org import OrgContext

__all__ = ["make_plan"]

#: A member's teams as read live: slug to team role.
TeamRoles = dict[str, str | None]


def _wanted(desired: Iterable[DesiredMember | Mapping[str, Any]]) -> dict[str, DesiredMember]:
    """The desired members by lower-cased e-mail; the first bad one raises."""
    wanted: dict[str, DesiredMember] = {}
    for item in desired:
        member = item if isinstance(item, DesiredMember) else DesiredMember(**dict(item))
        check_email(member.email)
        check_org_role(member.role)
        key = member.email.lower()
        if key in wanted:
            raise ValidationError(f"{member.email} is listed twice in the roster")
        wanted[key] = member
    return wanted


async def _team_slugs(org: OrgContext, wanted: Mapping[str, DesiredMember]) -> list[str]:
    """The org's team slugs; a desired team that is not one of them raises.

    None are read when the roster manages no member's teams (every ``teams`` is
    ``None``): the plan then reads no team list at all.
    """
    if all(member.teams is None for member in wanted.values()):
        return []
    slugs = [team.slug async for team in org.teams.list(detailed=False)]
    for member in wanted.values():
        for slug in member.teams or {}:
            if slug not in slugs:
                raise ValidationError(f"{member.email}: unknown team {slug!r}")
    return slugs


async def _live_teams(org: OrgContext, slugs: list[str]) -> dict[MemberId, TeamRoles]:
    """Every member's teams and team roles: one list per team, 8 at a time."""
    live: dict[MemberId, TeamRoles] = {}
    gate = asyncio.Semaphore(8)

    async def read_team(slug: str) -> None:
        async with gate:
            async for m in org.teams.members(slug):
                live.setdefault(m.id, {})[slug] = m.team_role

    await asyncio.gather(*(read_team(slug) for slug in slugs))
    return live


def _stored(listed: str | None, minimum: str) -> str | None:
    """The stored team role behind one a team list shows (``None``: the minimum).

    23.7.1 lists the stored role (``NULL`` at the minimum), newer Sentry the held
    one; a role at or below the minimum is stored as ``NULL`` either way (Sentry
    writes ``NULL`` for it, and clears such roles when an org role rises).
    """
    return None if effective_team_role(listed, minimum) == minimum else listed


def _needs_role(stored: str | None, role: str, minimums: Iterable[str]) -> bool:
    """Whether ``role`` is not held already, under the current or the new minimum."""
    return any(effective_team_role(stored, m) != effective_team_role(role, m) for m in minimums)


def _team_changes(
    have: Member, new_role: str, wanted: Mapping[str, str | None], current: TeamRoles
) -> list[Change]:
    """Team changes from ``current`` (slug to the role a list or the details show)."""
    now = have.minimum_team_role
    after = attrs.evolve(have, org_role=new_role).minimum_team_role
    changes: list[Change] = []
    for slug, role in wanted.items():
        if slug not in current:
            changes.append(AddToTeam(have.id, have.email, slug, role))
            continue
        stored = _stored(current[slug], now)
        if role is not None and _needs_role(stored, role, {now, after}):
            # ``old``: the role held now, or, where that is the one asked, the role
            # the org role change would leave (a demoted manager's contributor).
            held = effective_team_role(stored, now)
            if held == effective_team_role(role, now):
                held = effective_team_role(stored, after)
            changes.append(SetTeamRole(have.id, have.email, slug, held, role))
    changes += [RemoveFromTeam(have.id, have.email, slug) for slug in current if slug not in wanted]
    return changes


def _held(have: Member, current: TeamRoles) -> dict[str, str]:
    """The team roles ``have`` holds, from ``current`` (slug to the role read)."""
    return {
        slug: effective_team_role(role, have.minimum_team_role) for slug, role in current.items()
    }


async def _member_changes(
    org: OrgContext, want: DesiredMember, have: Member | None, live_teams: dict[MemberId, TeamRoles]
) -> tuple[list[Change], Premise | None]:
    """What turns ``have`` (the live member, if any) into ``want``, and what the plan saw."""
    if have is None:
        return [Invite(want.email, want.role, dict(want.teams or {}))], None
    changes: list[Change] = []
    if have.org_role != want.role:
        changes.append(ChangeRole(have.id, have.email, have.org_role, want.role))
    if want.teams is None:
        return changes, Premise(have.org_role)
    if have.pending:
        # Newer Sentry lists no invite on a team's members: the details have its teams.
        have = await org.members.get(have.id)
        current: TeamRoles = dict.fromkeys(have.teams)
        current.update((e.team_slug, e.role) for e in have.team_roles if e.team_slug in current)
    else:
        current = live_teams.get(have.id, {})
    changes += _team_changes(have, want.role, want.teams, current)
    return changes, Premise(have.org_role, _held(have, current))


def _removals(
    live: Mapping[str, Member],
    wanted: Mapping[str, DesiredMember],
    me: MemberId | None,
    *,
    remove_owners: bool,
    remove_self: bool,
) -> tuple[list[Change], list[str]]:
    """Removals of the live members not wanted, and the e-mails kept (owners, the caller)."""
    changes: list[Change] = []
    kept: list[str] = []
    for key, have in live.items():
        if key in wanted:
            continue
        protected = (have.org_role == "owner" and not remove_owners) or (
            have.id == me and not remove_self
        )
        if protected:
            kept.append(have.email)
        else:
            changes.append(RemoveMember(have.id, have.email, have.org_role))
    return changes, kept


async def read_caller(org: OrgContext) -> Caller:
    """Who the token acts as: ``members.get("me")`` once (404: a token with no member)."""
    try:
        me: Member | None = await org.members.get("me")
    except NotFoundError:
        me = None  # an integration's token: its proxy user is no member of the org
    return caller_of(me, scim=org.client.has_scim_token)


def _verdict(caller: Caller, change: Change, members: Mapping[MemberId, Member]) -> Verdict | None:
    """What :mod:`..api.capabilities` says of ``change`` (``None``: nothing to check)."""
    if isinstance(change, Invite):
        return check_invite(caller, change.role)
    have = members.get(change.member_id)
    if have is None:
        return None
    if isinstance(change, ChangeRole):
        return check_role_change(caller, have, change.new)
    if isinstance(change, RemoveMember):
        return check_removal(caller, have)
    return None


def _checked(
    caller: Caller, changes: list[Change], members: Mapping[MemberId, Member]
) -> tuple[list[Change], dict[int, Verdict]]:
    """The changes routed as the verdicts say (SCIM removals), and the refused ones by index."""
    routed: list[Change] = []
    refused: dict[int, Verdict] = {}
    for i, change in enumerate(changes):
        verdict = _verdict(caller, change, members)
        if verdict is not None and not verdict.allowed:
            refused[i] = verdict
        elif verdict is not None and verdict.route == "scim" and isinstance(change, RemoveMember):
            change = attrs.evolve(change, idp_fallback="scim")
        routed.append(change)
    return routed, refused


#: Why a plan leaves out the team roles of an organization without them.
NO_TEAM_ROLES = "the organization has no team roles (organizations:team-roles)"


def _without_team_roles(
    wanted: Mapping[str, DesiredMember],
) -> tuple[dict[str, DesiredMember], list[str]]:
    """The roster with its team roles dropped, and one note per role above the minimum.

    Without ``organizations:team-roles`` Sentry ignores every team role it is
    sent (src/sentry/api/endpoints/organization_member/team_details.py ``put``
    sets one only ``if features.has("organizations:team-roles", ...)``): a plan
    that proposed them would propose them again after every apply.
    """
    plain: dict[str, DesiredMember] = {}
    notes: list[str] = []
    for key, want in wanted.items():
        minimum = MINIMUM_TEAM_ROLE.get(want.role, TEAM_ROLE_NAMES[0])
        above = {
            slug: role
            for slug, role in (want.teams or {}).items()
            if role is not None and effective_team_role(role, minimum) != minimum
        }
        notes += [f"{want.email}: {role} on {slug}" for slug, role in above.items()]
        if want.teams is not None:
            want = attrs.evolve(want, teams=dict.fromkeys(want.teams))
        plain[key] = want
    return plain, notes


@attrs.frozen(kw_only=True)
class PlanOptions:
    """How a plan treats members missing from the roster (``acme.plan``'s keywords)."""

    remove_missing: bool = False
    remove_owners: bool = False
    remove_self: bool = False
    max_removals: int | None = None
    allow_mass_removal: bool = False
    previous_size: int | None = None


async def make_plan(
    org: OrgContext,
    desired: Iterable[DesiredMember | Mapping[str, Any]],
    options: PlanOptions | None = None,
) -> Plan:
    """Compare ``desired`` with the live org (one member list, one list per team).

    Raises :class:`~.guards.MassRemovalError` / :class:`~.guards.ImplausibleReadError`
    before anything is sent when the removals it would propose look wrong.
    """
    opts = options or PlanOptions()
    wanted = _wanted(desired)
    slugs = await _team_slugs(org, wanted)
    caller = await read_caller(org)
    notes: list[str] = []
    if caller.team_roles is False:
        wanted, notes = _without_team_roles(wanted)
    live = {m.email.lower(): m async for m in org.members.list()}
    live_teams = await _live_teams(org, slugs)
    changes: list[Change] = []
    premises: dict[MemberId, Premise] = {}
    for key, want in wanted.items():
        found, premise = await _member_changes(org, want, live.get(key), live_teams)
        changes += found
        if premise is not None and found:
            premises[live[key].id] = premise
    kept: list[str] = []
    if opts.remove_missing:
        check_read(
            org.slug, len(live), opts.previous_size, allow_mass_removal=opts.allow_mass_removal
        )
        removals, kept = _removals(
            live,
            wanted,
            caller.member_id,
            remove_owners=opts.remove_owners,
            remove_self=opts.remove_self,
        )
        check_removals(
            org.slug,
            len(removals),
            len(live),
            max_removals=opts.max_removals,
            allow_mass_removal=opts.allow_mass_removal,
        )
        changes += removals
        premises.update(
            (c.member_id, Premise(c.role or "member"))
            for c in removals
            if isinstance(c, RemoveMember)
        )
    by_id = {m.id: m for m in live.values()}
    routed, refused = _checked(caller, changes, by_id)
    notes = [f"{note}: {NO_TEAM_ROLES}" for note in notes]
    return Plan(org.slug, tuple(routed), tuple(kept), refused, premises, len(live), tuple(notes))
