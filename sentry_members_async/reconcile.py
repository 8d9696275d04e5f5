"""Roster reconcile: compare a desired roster with the live org, then apply the difference.

``plan = await acme.plan(desired)`` returns a :class:`Plan` of typed changes
(invite, change role, add to / remove from a team, set a team role, remove),
printable as a diff; ``report = await acme.apply(plan)`` runs its change values
through the one executor that bulk operations use (:mod:`.changes`). A plan
never removes Owners or the caller unless told to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .api._common import check_email, check_org_role
from .changes import (
    AddToTeam,
    BulkReport,
    Change,
    ChangeRole,
    IdpFallback,
    Invite,
    Operation,
    Progress,
    RemoveFromTeam,
    RemoveMember,
    SetTeamRole,
    check_idp_fallback,
    execute,
)
from .errors import ValidationError
from .models import Member, MemberId
from .rows import DesiredMember, load_roster

if TYPE_CHECKING:
    from .api.org import OrgAPI

__all__ = [
    "AddToTeam",
    "Change",
    "ChangeRole",
    "DesiredMember",
    "Invite",
    "Plan",
    "RemoveFromTeam",
    "RemoveMember",
    "SetTeamRole",
    "load_roster",
]

#: A member's teams as read live: slug to team role.
TeamRoles = dict[str, str | None]


@attrs.frozen
class Plan:
    """The changes that turn the live org into the desired roster."""

    org: str
    changes: tuple[Change, ...]
    #: Members a removal would have touched but that the plan keeps (owners, the caller).
    kept: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for change in self.changes:
            name = type(change).__name__
            totals[name] = totals.get(name, 0) + 1
        return totals

    def diff(self) -> str:
        """The plan as a diff: ``+`` added, ``~`` changed, ``-`` removed."""
        lines = [change.describe() for change in self.changes]
        lines += [f"= keep {email} (protected)" for email in self.kept]
        return "\n".join(lines) if lines else "no changes"

    def __str__(self) -> str:
        return self.diff()


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


async def _team_slugs(org: OrgAPI, wanted: Mapping[str, DesiredMember]) -> list[str]:
    """The org's team slugs; a desired team that is not one of them raises."""
    slugs = [team.slug async for team in org.teams.list(detailed=False)]
    for member in wanted.values():
        for slug in member.teams or {}:
            if slug not in slugs:
                raise ValidationError(f"{member.email}: unknown team {slug!r}")
    return slugs


async def _live_teams(org: OrgAPI, slugs: list[str]) -> dict[MemberId, TeamRoles]:
    """Every member's teams and team roles: one list per team, 8 at a time."""
    live: dict[MemberId, TeamRoles] = {}
    gate = asyncio.Semaphore(8)

    async def read_team(slug: str) -> None:
        async with gate:
            async for m in org.teams.members(slug):
                live.setdefault(m.id, {})[slug] = m.team_role

    await asyncio.gather(*(read_team(slug) for slug in slugs))
    return live


def _team_changes(
    have: Member, wanted: Mapping[str, str | None], current: TeamRoles
) -> list[Change]:
    changes: list[Change] = []
    for slug, role in wanted.items():
        if slug not in current:
            changes.append(AddToTeam(have.id, have.email, slug, role))
        elif role is not None and current[slug] != role:
            changes.append(SetTeamRole(have.id, have.email, slug, current[slug], role))
    changes += [RemoveFromTeam(have.id, have.email, slug) for slug in current if slug not in wanted]
    return changes


async def _member_changes(
    org: OrgAPI, want: DesiredMember, have: Member | None, live_teams: dict[MemberId, TeamRoles]
) -> list[Change]:
    """What turns ``have`` (the live member, if any) into ``want``."""
    if have is None:
        return [Invite(want.email, want.role, dict(want.teams or {}))]
    changes: list[Change] = []
    if have.org_role != want.role:
        changes.append(ChangeRole(have.id, have.email, have.org_role, want.role))
    if want.teams is None:
        return changes
    if have.pending:  # an invite is on no team's list: its detail has the teams
        current: TeamRoles = dict.fromkeys((await org.members.get(have.id)).teams)
    else:
        current = live_teams.get(have.id, {})
    return changes + _team_changes(have, want.teams, current)


def _removals(
    live: Mapping[str, Member],
    wanted: Mapping[str, DesiredMember],
    me: Member,
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
            have.id == me.id and not remove_self
        )
        if protected:
            kept.append(have.email)
        else:
            changes.append(RemoveMember(have.id, have.email, have.org_role))
    return changes, kept


async def make_plan(
    org: OrgAPI,
    desired: Iterable[DesiredMember | Mapping[str, Any]],
    *,
    remove_missing: bool = True,
    remove_owners: bool = False,
    remove_self: bool = False,
) -> Plan:
    """Compare ``desired`` with the live org (one member list, one list per team)."""
    wanted = _wanted(desired)
    slugs = await _team_slugs(org, wanted)
    me = await org.members.get("me")
    live = {m.email.lower(): m async for m in org.members.list()}
    live_teams = await _live_teams(org, slugs)
    changes: list[Change] = []
    for key, want in wanted.items():
        changes += await _member_changes(org, want, live.get(key), live_teams)
    kept: list[str] = []
    if remove_missing:
        removals, kept = _removals(
            live, wanted, me, remove_owners=remove_owners, remove_self=remove_self
        )
        changes += removals
    return Plan(org.slug, tuple(changes), tuple(kept))


async def apply_plan(
    org: OrgAPI,
    plan: Plan,
    *,
    idp_fallback: IdpFallback | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
) -> BulkReport[Change]:
    """Run every change of ``plan`` through the one executor; one outcome per change.

    Invites go through the same daily-quota gate as ``bulk.invite``: one at a
    time until more than Sentry's daily quota were created, and at the first
    :class:`InviteQuotaError` that invite and every later one end ``deferred``
    (``report.deferred()``, ``report.quota``) without being sent; the other
    changes carry on.

    A removal Sentry refuses because the identity provider provisioned the
    member ends ``failed`` with an :class:`~.changes.IdpManagedError` saying
    how to remove them through SCIM; ``idp_fallback="scim"`` removes them with
    SCIM ``DELETE Users/{id}`` instead, as ``bulk.remove`` does.
    """
    if plan.org != org.slug:
        raise ValidationError(f"this plan is for {plan.org!r}, not {org.slug!r}")
    fallback = check_idp_fallback(idp_fallback)

    async def as_planned(change: Change) -> Operation:
        # A plan's changes were checked and resolved when it was made.
        if fallback is not None and isinstance(change, RemoveMember):
            return attrs.evolve(change, idp_fallback=fallback)
        return change

    return await execute(org, plan.changes, as_planned, concurrency=concurrency, progress=progress)
