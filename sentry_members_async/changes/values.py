"""The change values: one frozen value per kind of change, each knowing how to run itself.

``acme.bulk.*`` builds them from input rows (after looking the member up) and
``acme.plan()`` builds them from the difference with the live org; both run
them through :func:`..executor.execute`. A change's ``run`` calls the one
resource method that holds the operation's rule (a ``404`` on remove, an invite
confirmed after a lost answer, a team join with a role) and only names the
outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeAlias

import attrs

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    IdpManagedError,
    NotFoundError,
    PermissionDeniedError,
    SentryError,
)
from ..models import MemberId
from .idp import IdpFallback
from .outcomes import Done, OutcomeKind

if TYPE_CHECKING:
    from ..api.members import TeamJoinResult
    from ..api.org import OrgContext

__all__ = [
    "AddToTeam",
    "Change",
    "ChangeRole",
    "Deprovision",
    "Invite",
    "Operation",
    "RemoveFromTeam",
    "RemoveMember",
    "Reinvite",
    "RunContext",
    "ScimInvite",
    "SetTeamRole",
]


@attrs.define
class RunContext:
    """What the changes of one run share: the org, and whether SCIM answers for it."""

    org: OrgContext
    #: Flips to ``False`` at the first SCIM ``403`` of a deprovision: REST from then on.
    scim_on: bool = True


class Operation(Protocol):
    """A change the executor can run: it says what it did with a :class:`Done`."""

    #: Sent through the daily invite quota gate (invites; not SCIM provisioning).
    quota_counted: ClassVar[bool]

    async def run(self, ctx: RunContext) -> Done: ...


def _fmt_team(team: str, role: str | None) -> str:
    return f"{team} ({role})" if role else team


@attrs.frozen
class Invite:
    """Invite ``email`` with ``role``, joining ``teams`` (slug to team role, or ``None``)."""

    quota_counted: ClassVar[bool] = True

    email: str
    role: str
    teams: Mapping[str, str | None]
    send_invite: bool = True

    def describe(self) -> str:
        teams = (
            f" to {', '.join(_fmt_team(t, r) for t, r in self.teams.items())}" if self.teams else ""
        )
        return f"+ invite {self.email} as {self.role}{teams}"

    async def run(self, ctx: RunContext) -> Done:
        member, status = await ctx.org.members.invite_status(
            self.email, role=self.role, team_roles=self.teams, send_invite=self.send_invite
        )
        return Done(OutcomeKind(status), member.id)


@attrs.frozen
class ScimInvite:
    """Provision ``email`` through SCIM ``POST Users`` (not counted by the invite quota).

    The teams (with their team roles) are joined through the members API
    afterwards, also when Sentry answers ``409`` (the user is already there):
    a row whose join failed once joins what it missed when it is run again.
    ``created``; else ``updated`` when a team was joined or its role set,
    ``requested`` when Sentry made an access request, or what the ``409``
    found (``already_member``, ``already_invited``).
    """

    quota_counted: ClassVar[bool] = False

    email: str
    role: str
    teams: Mapping[str, str | None]
    #: The member already there and what it is (``already_member``/``already_invited``),
    #: when a read before the run found it: no ``POST Users``, only the team joins.
    existing: tuple[MemberId, str] | None = None

    def describe(self) -> str:
        return f"+ provision {self.email} as {self.role} (SCIM)"

    async def run(self, ctx: RunContext) -> Done:
        if self.existing is not None:
            member_id, status = self.existing
        else:
            member_id, status = await ctx.org.scim.users.provision(
                self.email, role=None if self.role == "member" else self.role
            )
        joined = {
            await ctx.org.members.join_team(member_id, slug, role=role)
            for slug, role in self.teams.items()
        }
        if status == "created":
            return Done(OutcomeKind.CREATED, member_id)
        if joined & {"added", "updated"}:
            return Done(OutcomeKind.UPDATED, member_id)
        if "requested" in joined:
            return Done(OutcomeKind.REQUESTED, member_id)
        return Done(OutcomeKind(status), member_id)


@attrs.frozen
class ChangeRole:
    quota_counted: ClassVar[bool] = False

    member_id: MemberId
    email: str
    old: str
    new: str

    def describe(self) -> str:
        return f"~ {self.email}: role {self.old} -> {self.new}"

    async def run(self, ctx: RunContext) -> Done:
        await ctx.org.members.update(self.member_id, role=self.new)
        return Done(OutcomeKind.UPDATED, self.member_id)


_JOINED: dict[TeamJoinResult, OutcomeKind] = {
    "added": OutcomeKind.CREATED,
    "requested": OutcomeKind.REQUESTED,
    "unchanged": OutcomeKind.UNCHANGED,
    "updated": OutcomeKind.UPDATED,
}


@attrs.frozen
class AddToTeam:
    """Put a member on ``team`` (``email`` labels the member: an e-mail, or the id given)."""

    quota_counted: ClassVar[bool] = False

    member_id: MemberId
    email: str
    team: str
    role: str | None = None

    def describe(self) -> str:
        return f"+ {self.email} joins {_fmt_team(self.team, self.role)}"

    async def run(self, ctx: RunContext) -> Done:
        joined = await ctx.org.members.join_team(self.member_id, self.team, role=self.role)
        return Done(_JOINED[joined], self.member_id)


@attrs.frozen
class SetTeamRole:
    quota_counted: ClassVar[bool] = False

    member_id: MemberId
    email: str
    team: str
    old: str | None
    new: str

    def describe(self) -> str:
        return f"~ {self.email}: {self.team} role {self.old} -> {self.new}"

    async def run(self, ctx: RunContext) -> Done:
        await ctx.org.members.set_team_role(self.member_id, self.team, self.new)
        return Done(OutcomeKind.UPDATED, self.member_id)


@attrs.frozen
class RemoveFromTeam:
    quota_counted: ClassVar[bool] = False

    member_id: MemberId
    email: str
    team: str

    def describe(self) -> str:
        return f"- {self.email} leaves {self.team}"

    async def run(self, ctx: RunContext) -> Done:
        await ctx.org.members.remove_from_team(self.member_id, self.team)
        return Done(OutcomeKind.REMOVED, self.member_id)


@attrs.frozen
class RemoveMember:
    """Remove a member or revoke an invite (REST ``DELETE``); ``role`` is shown when known.

    ``members.remove`` raises :class:`~..errors.IdpManagedError` for a member
    the identity provider provisioned (Sentry's 403, recognised there): the
    outcome is ``failed`` with that error (naming the member by e-mail), whose
    message says how to remove them through SCIM, or, with ``idp_fallback="scim"``,
    the member is removed with SCIM ``DELETE Users/{id}`` (``via="scim"``; a
    SCIM ``404`` is ``not_found``, someone removed them in between).
    """

    quota_counted: ClassVar[bool] = False

    member_id: MemberId
    email: str
    role: str | None = None
    idp_fallback: IdpFallback | None = None

    def describe(self) -> str:
        return f"- remove {self.email}" + (f" ({self.role})" if self.role else "")

    async def run(self, ctx: RunContext) -> Done:
        try:
            removed = await ctx.org.members.remove(self.member_id, missing_ok=True)
        except IdpManagedError as exc:
            refused = IdpManagedError.from_denied(exc, member=self.email)
            if self.idp_fallback != "scim":
                return Done(OutcomeKind.FAILED, self.member_id, refused, via="rest")
            return await self._scim_delete(ctx, refused)
        kind = OutcomeKind.REMOVED if removed else OutcomeKind.NOT_FOUND
        return Done(kind, self.member_id, via="rest")

    async def _scim_delete(self, ctx: RunContext, refused: IdpManagedError) -> Done:
        """SCIM ``DELETE Users/{id}`` for a member the members API refused to remove."""
        try:
            await ctx.org.scim.users.delete(self.member_id)
        except NotFoundError:
            return Done(OutcomeKind.NOT_FOUND, self.member_id, via="scim")
        except (AuthenticationError, ConfigurationError):
            raise  # a bad SCIM token: the run stops, as for any 401
        except SentryError as exc:
            exc.__cause__ = refused  # why SCIM was tried: the members API's refusal
            return Done(OutcomeKind.FAILED, self.member_id, exc, via="scim")
        return Done(OutcomeKind.REMOVED, self.member_id, via="scim")


@attrs.frozen
class Reinvite:
    """Send a pending invite again (``PUT members/{id}/`` with ``reinvite``).

    Sentry counts it against the daily invite quotas (``for_organization_member_invite``
    in src/sentry/ratelimits/utils.py, called by the details endpoint's re-invite), so it
    goes through the quota gate: ``updated`` (sent again), or ``deferred`` once the
    quota answered. ``regenerate`` renews an expired link (needs ``member:admin``).
    A member who accepted meanwhile is ``already_member`` (Sentry's 400 "already a
    full member"), one gone ``not_found``.
    """

    quota_counted: ClassVar[bool] = True

    member_id: MemberId
    email: str
    regenerate: bool = False

    def describe(self) -> str:
        return f"~ re-invite {self.email}" + (" (new link)" if self.regenerate else "")

    async def run(self, ctx: RunContext) -> Done:
        try:
            await ctx.org.members.reinvite(self.member_id, regenerate=self.regenerate)
        except NotFoundError:
            return Done(OutcomeKind.NOT_FOUND, self.member_id)
        except BadRequestError as exc:
            if "already a full member" not in exc.detail:
                raise
            return Done(OutcomeKind.ALREADY_MEMBER, self.member_id)
        return Done(OutcomeKind.UPDATED, self.member_id)


@attrs.frozen
class Deprovision:
    """Offboard a member: SCIM ``PATCH active=false`` while SCIM answers, else REST ``DELETE``.

    Owners always go through REST (SCIM does not manage them). A SCIM ``403``
    means SCIM is off for the org (REST for the rest of the run); a SCIM
    ``404`` (a person who came in by SSO just-in-time provisioning, never
    pushed by the IdP: the integration guide's "fall back to DELETE" case)
    falls back to the REST ``DELETE`` for this member. A member the REST
    ``DELETE`` refuses as IdP-provisioned (an owner the IdP provisioned) is
    then removed with SCIM ``DELETE`` while SCIM answers. ``via`` says which
    API removed each one.
    """

    quota_counted: ClassVar[bool] = False

    member_id: MemberId
    email: str
    role: str

    def describe(self) -> str:
        return f"- deprovision {self.email} ({self.role})"

    async def run(self, ctx: RunContext) -> Done:
        if ctx.scim_on and self.role != "owner":
            try:
                await ctx.org.scim.users.deactivate(self.member_id)
                return Done(OutcomeKind.REMOVED, self.member_id, via="scim")
            except PermissionDeniedError:
                ctx.scim_on = False
            except NotFoundError:
                pass
        fallback: IdpFallback | None = "scim" if ctx.scim_on else None
        return await RemoveMember(self.member_id, self.email, self.role, fallback).run(ctx)


#: A change a :class:`~sentry_members_async.reconcile.Plan` holds.
Change: TypeAlias = "Invite | ChangeRole | AddToTeam | SetTeamRole | RemoveFromTeam | RemoveMember"
