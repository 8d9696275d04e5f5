"""Roster reconcile: compare a desired roster with the live org, then apply the difference.

``plan = await acme.plan(desired)`` returns a :class:`Plan` of typed changes
(invite, change role, add to / remove from a team, set a team role, remove),
printable as a diff; ``report = await acme.apply(plan)`` runs its change values
through the one executor that bulk operations use (:mod:`.changes`). A plan
never removes Owners or the caller unless told to.

Team roles are compared as *held*, not as stored. Sentry stores ``NULL``
instead of a team role that the org role's minimum already gives (a manager
or owner is a team admin on every team: :data:`~.models.MINIMUM_TEAM_ROLE`),
and its team lists show that ``NULL`` (23.7.1) or the raised role (newer). So a
desired role is raised to the member's minimum before it is compared
(:func:`~.models.effective_team_role`): ``admin`` for a manager whose stored
role is ``NULL`` is no change. When the plan also changes the member's org
role, the role must hold under both the current and the new minimum; apply
sends that member's team changes after the org role change, so a demoted
manager keeps the team admin the roster asks for.

Invites: Sentry joins an invite's teams but ignores the roles in ``teamRoles``
(23.7.1 ``OrganizationMemberIndexEndpoint.post``: "Do not set team-roles when
inviting members"). It does set them afterwards on the invite's team
membership (``PUT members/{id}/teams/{team}/``, pending or not), so
:func:`apply_plan` sends an :class:`Invite`, then one such ``PUT`` for each
team role above the invited org role's minimum, and the invite's outcome is
``created`` only once Sentry holds them; a role that did not take makes the
outcome ``failed`` (the invite exists: the next plan shows the missing role as
a :class:`SetTeamRole` on the invitee). The plan shows the roles on the invite
line (``+ invite a@x as member to backend (admin)``); a second plan reads the
invitee's details and is empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

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
    OutcomeKind,
    Progress,
    RemoveFromTeam,
    RemoveMember,
    SetTeamRole,
    check_idp_fallback,
    execute,
)
from .errors import SentryError, ValidationError
from .models import (
    MINIMUM_TEAM_ROLE,
    TEAM_ROLE_NAMES,
    Member,
    MemberId,
    effective_team_role,
)
from .rows import DesiredMember, load_roster

if TYPE_CHECKING:
    from .api.org import OrgAPI
    from .changes import Done, RunContext

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
    if have.pending:
        # Newer Sentry lists no invite on a team's members: the details have its teams.
        have = await org.members.get(have.id)
        current: TeamRoles = dict.fromkeys(have.teams)
        current.update((e.team_slug, e.role) for e in have.team_roles if e.team_slug in current)
    else:
        current = live_teams.get(have.id, {})
    return changes + _team_changes(have, want.role, want.teams, current)


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


@attrs.frozen
class _InviteWithTeamRoles:
    """An :class:`Invite`, then the team roles Sentry ignored in it, each with a ``PUT``.

    ``created`` once Sentry holds every role; else ``failed`` with an error
    that names the invite (which exists) and the role that did not take.
    """

    quota_counted: ClassVar[bool] = True

    invite: Invite
    #: Slug to the team role above the invited org role's minimum.
    roles: Mapping[str, str]
    minimum: str

    async def run(self, ctx: RunContext) -> Done:
        done = await self.invite.run(ctx)
        if done.kind is not OutcomeKind.CREATED or done.member_id is None:
            return done  # already there: what it holds is the next plan's to compare
        for slug, role in self.roles.items():
            try:
                membership = await ctx.org.members.set_team_role(done.member_id, slug, role)
            except SentryError as exc:
                return attrs.evolve(done, kind=OutcomeKind.FAILED, error=self._unset(slug, exc))
            held = effective_team_role(membership.team_role, self.minimum)
            if held != role:
                why = f"Sentry kept {held} (does the organization have team roles?)"
                return attrs.evolve(done, kind=OutcomeKind.FAILED, error=self._unset(slug, why))
        return done

    def _unset(self, slug: str, why: SentryError | str) -> SentryError:
        error = SentryError(
            f"invited {self.invite.email}, but the {self.roles[slug]} role on {slug} "
            f"was not set: {why}"
        )
        if isinstance(why, SentryError):
            error.__cause__ = why
        return error


def _invite_roles(invite: Invite) -> _InviteWithTeamRoles | Invite:
    """The invite, with the team roles above its org role's minimum to set after it."""
    minimum = MINIMUM_TEAM_ROLE.get(invite.role, TEAM_ROLE_NAMES[0])
    roles = {
        slug: role
        for slug, role in invite.teams.items()
        if role is not None and effective_team_role(role, minimum) != minimum
    }
    return _InviteWithTeamRoles(invite, roles, minimum) if roles else invite


@attrs.frozen
class _Signals:
    """A member's org role change; its team changes wait for ``done`` (:class:`_After`)."""

    quota_counted: ClassVar[bool] = False

    change: ChangeRole
    done: asyncio.Event = attrs.field(eq=False)

    async def run(self, ctx: RunContext) -> Done:
        try:
            return await self.change.run(ctx)
        finally:
            self.done.set()


@attrs.frozen
class _After:
    """A team change sent once the member's org role change was answered.

    Sentry stores a team role at or below the org role's minimum as ``NULL``:
    set before a demotion, a team admin would be lost with it.
    """

    quota_counted: ClassVar[bool] = False

    change: AddToTeam | SetTeamRole | RemoveFromTeam
    done: asyncio.Event = attrs.field(eq=False)

    async def run(self, ctx: RunContext) -> Done:
        await self.done.wait()
        return await self.change.run(ctx)


def _role_order(changes: Iterable[Change]) -> tuple[dict[MemberId, asyncio.Event], set[int]]:
    """An event per org role change, and the team changes (by ``id``) that wait for one.

    Only a team change that comes after its member's role change waits: the
    executor takes changes in order, so that one was taken first (no wait can
    block a worker on a change no worker has).
    """
    events: dict[MemberId, asyncio.Event] = {}
    waiting: set[int] = set()
    for change in changes:
        if isinstance(change, ChangeRole):
            events.setdefault(change.member_id, asyncio.Event())
        elif isinstance(change, AddToTeam | SetTeamRole | RemoveFromTeam) and (
            change.member_id in events
        ):
            waiting.add(id(change))
    return events, waiting


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

    An invite's team roles above its org role's minimum are set right after
    it, on the invite's team membership (Sentry ignores them in the invite
    itself): its outcome is ``created`` once Sentry holds them, ``failed``
    (the invite made, the role named in the error) if one did not take. A
    member's team changes are sent after the same member's org role change
    (a role stored before a demotion would be lost with it).

    A removal Sentry refuses because the identity provider provisioned the
    member ends ``failed`` with an :class:`~.changes.IdpManagedError` saying
    how to remove them through SCIM; ``idp_fallback="scim"`` removes them with
    SCIM ``DELETE Users/{id}`` instead, as ``bulk.remove`` does.
    """
    if plan.org != org.slug:
        raise ValidationError(f"this plan is for {plan.org!r}, not {org.slug!r}")
    fallback = check_idp_fallback(idp_fallback)
    role_changed, waiting = _role_order(plan.changes)

    async def as_planned(change: Change) -> Operation:
        # A plan's changes were checked and resolved when it was made.
        if fallback is not None and isinstance(change, RemoveMember):
            return attrs.evolve(change, idp_fallback=fallback)
        if isinstance(change, Invite):
            return _invite_roles(change)
        if isinstance(change, ChangeRole) and change.member_id in role_changed:
            return _Signals(change, role_changed[change.member_id])
        if isinstance(change, AddToTeam | SetTeamRole | RemoveFromTeam) and id(change) in waiting:
            return _After(change, role_changed[change.member_id])
        return change

    return await execute(org, plan.changes, as_planned, concurrency=concurrency, progress=progress)
