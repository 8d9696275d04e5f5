"""Applying a plan: its changes, checked again, through the one executor.

See :func:`apply_plan`. Invites: Sentry joins an invite's teams but ignores the
roles in ``teamRoles`` (23.7.1 ``OrganizationMemberIndexEndpoint.post``: "Do not
set team-roles when inviting members"). It does set them afterwards on the
invite's team membership (``PUT members/{id}/teams/{team}/``, pending or not:
src/sentry/api/endpoints/organization_member/team_details.py ``put`` has no
pending check; the live suite's tests/live/test_roster.py holds them), so an
:class:`~..changes.Invite` is followed by one such ``PUT`` for each team role
above the invited org role's minimum.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

import attrs

from ..changes import (
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
from ..errors import SentryError, ValidationError
from ..models import MINIMUM_TEAM_ROLE, TEAM_ROLE_NAMES, MemberId, effective_team_role
from .plan import Plan
from .rechecks import unsent

if TYPE_CHECKING:
    from ..api.org import OrgContext
    from ..changes import Done, RunContext

__all__ = ["apply_plan"]


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
    org: OrgContext,
    plan: Plan,
    *,
    idp_fallback: IdpFallback | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
) -> BulkReport[Change]:
    """Run every change of ``plan`` through the one executor; one outcome per change.

    First, each member the plan changes is read again (:mod:`.rechecks`): a
    change whose premise no longer holds (the member is gone, became an
    Owner, has another org role, or other teams than the plan saw) is not
    sent and ends ``skipped`` with a :class:`~.plan.StaleChangeError` saying
    why; a change the plan found the token cannot make ends ``refused`` with a
    :class:`~.plan.ChangeRefusedError` (the reason, and how to make it),
    also unsent. A removal of a member already gone is ``not_found``, a
    change already made (by an earlier apply of the same plan) ``unchanged``,
    and an invite of someone in the org now ``already_invited`` or
    ``already_member`` (one filtered list request per 50 invitees): applying
    the same plan twice sends no write the second time.

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

    A removal of a member the identity provider provisioned goes through SCIM
    when the plan saw the flag and the client has a SCIM token (``plan.diff()``
    says "via SCIM"). Otherwise, one Sentry refuses for that reason ends
    ``failed`` with an :class:`~.changes.IdpManagedError` saying how to remove
    them through SCIM; ``idp_fallback="scim"`` removes every such member with
    SCIM ``DELETE Users/{id}`` instead, as ``bulk.remove`` does.
    """
    if plan.org != org.slug:
        raise ValidationError(f"this plan is for {plan.org!r}, not {org.slug!r}")
    fallback = check_idp_fallback(idp_fallback)
    skipped = await unsent(org, plan)
    role_changed, waiting = _role_order(c for c in plan.changes if id(c) not in skipped)

    async def as_planned(change: Change) -> Operation | Done:
        if id(change) in skipped:
            return skipped[id(change)]
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
