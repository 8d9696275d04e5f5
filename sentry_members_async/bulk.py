"""Bulk operations: thousands of changes in parallel, one truthful outcome per item.

``acme.bulk.invite(rows)``, ``set_roles``, ``add_to_teams``,
``remove_from_teams``, ``remove``, ``deprovision``. Each operation checks a
row and looks its member up, then hands the change value it built to the one
executor (:mod:`.changes`), which ``acme.apply(plan)`` uses too: items run
concurrently under the client's limiter; input is streamed (a fixed pool of
workers pulls from the iterable, so a generator of 100,000 rows never sits in
memory) and the report stores outcomes compactly.

Every item gets exactly one :class:`Outcome`, in input order. Item errors
never abort the batch; a configuration error (401, bad token), or input that
raises while it is read, stops it at once and raises :class:`BulkAborted`
carrying the report so far. Cancelling the run
stops pulling input, lets the requests already sent finish (so the report
matches the server) and raises :class:`BulkCancelled` (a
``CancelledError``) carrying the report; what was not sent yet (an invite
waiting at the quota gate) is not sent and ends ``failed`` ("cancelled before
it was sent"). A second cancel stops at once and marks what was in flight as
failed.

Exactly once: invites are looked up by e-mail when an answer was lost, never
re-sent blindly; the other operations are idempotent on Sentry and are
retried, and a ``404`` after a retry of a removal means the first attempt
removed it (each rule lives in the resource method, :mod:`.api.members`).
A member the identity provider provisioned is not removed by the members API
(Sentry's 403): ``remove`` says so and how (:mod:`.changes.idp`), or removes
them through SCIM when asked (``idp_fallback="scim"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sized
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from .api._common import check_email, check_org_role, check_slug, check_team_role
from .changes import (
    QUOTA_PROBE,
    AddToTeam,
    BulkAborted,
    BulkCancelled,
    BulkReport,
    ChangeRole,
    Deprovision,
    Done,
    IdpFallback,
    IdpManagedError,
    Invite,
    Operation,
    Outcome,
    OutcomeKind,
    Prepare,
    Progress,
    RemoveFromTeam,
    RemoveMember,
    ScimInvite,
    Via,
    check_idp_fallback,
    execute,
)
from .errors import ValidationError
from .ratelimit import DEFAULT_MAX_CONCURRENCY
from .rows import (
    InviteRow,
    MemberKey,
    RoleRow,
    RowBatch,
    RowError,
    TeamRow,
    as_invite_row,
    invite_row_problems,
    load_invite_rows,
)

if TYPE_CHECKING:
    from .api.org import OrgAPI

__all__ = [
    "QUOTA_PROBE",
    "BulkAborted",
    "BulkAPI",
    "BulkCancelled",
    "BulkReport",
    "IdpFallback",
    "IdpManagedError",
    "InviteRow",
    "Outcome",
    "OutcomeKind",
    "Progress",
    "RoleRow",
    "RowError",
    "RowBatch",
    "TeamRow",
    "Via",
    "load_invite_rows",
]

RowT = TypeVar("RowT")


def _invite_change(
    row: InviteRow, known: set[str], via: Literal["invite", "scim"], send_invite: bool
) -> Invite | ScimInvite:
    """The change for one invite row, or a :class:`ValidationError` (nothing sent)."""
    problems = invite_row_problems(row, known)
    if problems:
        field, message = problems[0]
        raise ValidationError(f"{field}: {message}")
    teams = {**dict.fromkeys(row.teams), **row.team_roles}
    if via == "invite":
        return Invite(row.email, row.role, teams, send_invite)
    if row.role == "owner":
        raise ValidationError("role: SCIM cannot provision owners; invite them instead")
    return ScimInvite(row.email, row.role, teams)


@attrs.frozen
class _Unreadable(InviteRow):
    """An input item that is no invite row: it ends ``failed`` with ``error``, nothing sent."""

    error: ValidationError | None = None


def _invite_rows(rows: Iterable[InviteRow | Mapping[str, Any] | str]) -> Iterator[InviteRow]:
    """The invite rows of ``rows``; an item that is no row stands as :class:`_Unreadable`.

    The error is not raised here: a generator that raises is over, and the
    items after it (and the report of those before) would be lost.
    """
    for row in rows:
        try:
            yield as_invite_row(row)
        except ValidationError as exc:
            yield _Unreadable("", error=exc)


#: Items in flight per bulk run unless ``concurrency`` says otherwise.
DEFAULT_CONCURRENCY = 16


class BulkAPI:
    """``acme.bulk``: many changes at once, one :class:`Outcome` per item."""

    def __init__(self, org: OrgAPI, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._org = org
        self.concurrency = concurrency

    async def _run(
        self,
        items: Iterable[RowT],
        prepare: Prepare[RowT],
        progress: Progress | None,
        concurrency: int | None,
        *,
        total: int | None = None,
        serial_invites: bool = True,
    ) -> BulkReport[RowT]:
        return await execute(
            self._org,
            items,
            prepare,
            concurrency=concurrency or self.concurrency,
            progress=progress,
            total=total,
            serial_invites=serial_invites,
        )

    async def invite(
        self,
        rows: Iterable[InviteRow | Mapping[str, Any] | str],
        *,
        send_invite: bool = True,
        via: Literal["invite", "scim"] = "invite",
        quota_aware: bool = True,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[InviteRow]:
        """Invite every row: ``created``, ``already_member``, ``already_invited``,
        ``deferred`` or ``failed``.

        A row is an :class:`InviteRow`, a mapping with its fields, or a plain
        e-mail address (invited with the ``member`` role).

        Rows are checked as they stream (e-mail, role, team slugs against the
        org's teams); a bad row fails with a :class:`ValidationError` and is not
        sent. An address listed twice is invited once: the later row reports
        ``already_invited`` (Sentry refuses the second invite), so memory stays
        flat for any input; :func:`load_invite_rows` flags duplicates up front.

        The daily invite quota (sentry.io: 100 invites per user or token and 100
        per organization per 24 h): at the first :class:`InviteQuotaError` no
        further invite is sent and every remaining row ends ``deferred``
        (``report.deferred()`` gives them back for the next day's run;
        ``report.quota`` holds the answer). With ``quota_aware`` (the default)
        invites are sent one at a time until more than 100 were created in this
        run (more than Sentry's daily quota allows, so it is off), then
        concurrently: the server sees at most one invite past the quota.

        ``via="scim"`` provisions each row with SCIM ``POST Users`` (needs the
        client's SCIM token), which Sentry does not count against the invite
        quota: ``created``, or ``already_member``/``already_invited`` on
        Sentry's 409, exactly once after a lost answer. SCIM cannot make owners;
        a row's teams (with their team roles) are joined afterwards through the
        members API, also after a 409: a row run again joins the teams it
        missed and ends ``updated`` (``requested`` when Sentry made an access
        request instead), or ``already_*`` when nothing was left to do. A row then
        uses both tokens, one after the other, and each token has a rate limit
        of its own: with a distinct SCIM token the default is 50 rows in flight,
        25 a token (sentry.io's concurrent limit per token; a ``concurrency`` set
        on ``acme.bulk`` counts per token).
        """
        if via not in ("invite", "scim"):
            raise ValidationError("via must be 'invite' or 'scim'")
        if isinstance(rows, str | bytes):
            raise ValidationError("rows must be a list of rows or e-mail addresses, not one string")
        known = {team.slug async for team in self._org.teams.list(detailed=False)}

        async def prepare(row: InviteRow) -> Operation | Done:
            if isinstance(row, _Unreadable):
                return Done(OutcomeKind.FAILED, error=row.error)
            return _invite_change(row, known, via, send_invite)

        total = len(rows) if isinstance(rows, Sized) else None
        client = self._org.client
        if concurrency is None and via == "scim" and client.scim_limiter is not client.limiter:
            # A row's POST (SCIM token) and its team add (user token) wait on two
            # limiters: with as many rows in flight as both tokens may have
            # requests, one stage keeps its token busy while the other waits for
            # its window (bench_bulk: 94 % of the two-token bound at 32 rows, 98 % at
            # 50). A concurrency set on ``acme.bulk`` is taken per token.
            per_token = self.concurrency
            if per_token == DEFAULT_CONCURRENCY:
                per_token = DEFAULT_MAX_CONCURRENCY
            concurrency = 2 * per_token
        return await self._run(
            _invite_rows(rows),
            prepare,
            progress,
            concurrency,
            total=total,
            serial_invites=quota_aware,
        )

    async def set_roles(
        self,
        rows: Iterable[RoleRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[RoleRow]:
        """Give each member an org role: ``updated``, ``unchanged``, ``not_found`` or ``failed``."""
        members = self._org.members

        async def prepare(row: RoleRow) -> Operation | Done:
            role = check_org_role(row.role)
            member = await members.find(row.member)
            if member is None:
                return Done(OutcomeKind.NOT_FOUND)
            if member.org_role == role:
                return Done(OutcomeKind.UNCHANGED, member.id)
            return ChangeRole(member.id, member.email, member.org_role, role)

        return await self._run(rows, prepare, progress, concurrency)

    async def add_to_teams(
        self,
        rows: Iterable[TeamRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[TeamRow]:
        """Add members to teams (and set the team role when given).

        ``created`` (added), ``unchanged`` (already there, role as asked),
        ``updated`` (team role changed), ``requested`` (Sentry made an access
        request instead), ``not_found`` or ``failed``.
        """
        members = self._org.members

        async def prepare(row: TeamRow) -> Operation | Done:
            team = check_slug(row.team)
            role = check_team_role(row.role) if row.role is not None else None
            member_id = await members.find_id(row.member)
            if member_id is None:
                return Done(OutcomeKind.NOT_FOUND)
            return AddToTeam(member_id, str(row.member), team, role)

        return await self._run(rows, prepare, progress, concurrency)

    async def remove_from_teams(
        self,
        rows: Iterable[TeamRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[TeamRow]:
        """Remove members from teams: ``removed``, ``unchanged`` (was not on it), ``not_found``."""
        members = self._org.members

        async def prepare(row: TeamRow) -> Operation | Done:
            team = check_slug(row.team)
            member = await members.find(row.member)
            if member is None:
                return Done(OutcomeKind.NOT_FOUND)
            # A member from the list has no teams: the detail has them.
            detail = member if member.org_role_list else await members.get(member.id)
            if team not in detail.teams:
                return Done(OutcomeKind.UNCHANGED, member.id)
            return RemoveFromTeam(member.id, member.email, team)

        return await self._run(rows, prepare, progress, concurrency)

    async def remove(
        self,
        members: Iterable[MemberKey],
        *,
        idp_fallback: IdpFallback | None = None,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[MemberKey]:
        """Remove members or revoke invites: ``removed``, ``not_found`` or ``failed``.

        Each goes through the members API (``DELETE members/{id}/``). Sentry
        refuses that for a member its identity provider provisioned (flag
        ``idp:provisioned``, a 403): by default the item ends ``failed`` with an
        :class:`IdpManagedError` whose message says how to remove them through
        SCIM. ``idp_fallback="scim"`` removes such members with SCIM ``DELETE
        Users/{id}`` (the client's SCIM token, scope ``member:admin``), once,
        after that 403 and for no other refusal. ``outcome.via`` says which API
        removed each member (``"rest"`` or ``"scim"``; ``report.removed_via()``
        counts them).

        The fallback is off by default: the 403 is Sentry saying the identity
        provider owns this membership. Removing them through SCIM acts as the
        identity provider does, with its token, and while the IdP still assigns
        the person it may provision them again; so it is asked for, never
        implied by a SCIM token being configured.
        """
        resource = self._org.members
        fallback = check_idp_fallback(idp_fallback)

        async def prepare(key: MemberKey) -> Operation | Done:
            member_id = await resource.find_id(key)
            if member_id is None:
                return Done(OutcomeKind.NOT_FOUND)
            return RemoveMember(member_id, str(key), idp_fallback=fallback)

        return await self._run(members, prepare, progress, concurrency)

    async def deprovision(
        self,
        emails: Iterable[str],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[str]:
        """Offboard people by e-mail.

        With SCIM on for the org: SCIM ``PATCH active=false``; without it, or
        for Owners (SCIM does not manage them): REST ``DELETE``. A SCIM ``404``
        (a person who came in by SSO just-in-time provisioning, never pushed by
        the IdP: the integration guide's "fall back to DELETE" case) falls back
        to the REST ``DELETE``; a ``404`` there means the member is gone.
        Outcomes: ``removed``, ``not_found`` or ``failed``; ``outcome.via``
        says which API removed each member (``"scim"`` or ``"rest"``).
        """
        members = self._org.members

        async def prepare(email: str) -> Operation | Done:
            member = await members.find_by_email(check_email(email))
            if member is None:
                return Done(OutcomeKind.NOT_FOUND)
            return Deprovision(member.id, member.email, member.org_role)

        return await self._run(emails, prepare, progress, concurrency)
