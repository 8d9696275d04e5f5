"""Bulk operations: thousands of changes in parallel, one truthful outcome per item.

``acme.bulk.invite(rows)``, ``set_roles``, ``add_to_teams``,
``remove_from_teams``, ``remove``, ``deprovision``, ``reinvite`` and
``cleanup_invites``. Each operation checks a row and looks its member up, then
hands the change value it built to the one executor (:mod:`.changes`), which
``acme.apply(plan)`` uses too: items run concurrently under the client's
limiter; input is streamed (a fixed pool of workers pulls from the iterable, so
a generator of 100,000 rows never sits in memory) and the report stores
outcomes compactly.

Every input item gets exactly one :class:`Outcome`, in input order. Item
errors never abort the batch; a configuration error (401, bad token), or input
that raises while it is read, stops it and raises :class:`BulkAborted`
carrying the report. Cancelling the run stops pulling input, lets the requests
already sent finish (so the report matches the server), and the
:class:`asyncio.CancelledError` goes on unchanged (so ``asyncio.timeout()``
raises ``TimeoutError``). To keep the partial report, pass a new one::

    report = BulkReport()
    try:
        async with asyncio.timeout(60):
            await acme.bulk.invite(rows, report=report)
    except TimeoutError:
        again = report.failed() + report.not_sent()

Rows not sent (a lookup still running, input never read) end ``not_sent``.

Exactly once: each rule (an invite looked up by e-mail after a lost answer,
a ``404`` after a retried removal) lives in its resource method
(:mod:`.api.members`). An IdP-provisioned member (Sentry's 403 to ``remove``)
is named with the way out (:mod:`.changes.idp`; ``idp_fallback="scim"``).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sized
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from ._defaults import USE_DEFAULT, UseDefault
from .api._common import check_email, check_org_role, check_slug, check_team_role
from .changes import (
    AddToTeam,
    BulkAborted,
    BulkReport,
    ChangeRole,
    Deprovision,
    Done,
    Existing,
    IdpFallback,
    IdpManagedError,
    Invite,
    Operation,
    Outcome,
    OutcomeKind,
    PendingInvite,
    Precheck,
    Preflight,
    Prepare,
    Progress,
    RemoveFromTeam,
    RemoveMember,
    ScimInvite,
    Via,
    check_idp_fallback,
    check_precheck,
    execute,
    reinvite_step,
    revoke_step,
    stale_invites,
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
    from .api.org import OrgContext

__all__ = [
    "BulkAborted",
    "BulkAPI",
    "BulkReport",
    "IdpFallback",
    "IdpManagedError",
    "InviteRow",
    "Outcome",
    "OutcomeKind",
    "Precheck",
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
    row: InviteRow, known: set[str] | None, via: Literal["invite", "scim"], send_invite: bool
) -> Invite | ScimInvite:
    """The change for one invite row, or a :class:`ValidationError` (nothing sent).

    ``known``: the org's team slugs (``None`` for a row that names no team).
    """
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

    def __init__(self, org: OrgContext, *, concurrency: int | UseDefault = USE_DEFAULT) -> None:
        self._org = org
        self._concurrency: int | UseDefault = USE_DEFAULT
        if concurrency is not USE_DEFAULT:
            self.concurrency = concurrency  # checked

    @property
    def concurrency(self) -> int:
        """Items in flight per run (with ``via="scim"``, per token: see :meth:`invite`)."""
        return DEFAULT_CONCURRENCY if self._concurrency is USE_DEFAULT else self._concurrency

    @concurrency.setter
    def concurrency(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"concurrency must be a positive integer, not {value!r}")
        self._concurrency = value

    async def _run(
        self,
        items: Iterable[RowT],
        prepare: Prepare[RowT],
        progress: Progress | None,
        concurrency: int | None,
        *,
        total: int | None = None,
        report: BulkReport[RowT] | None = None,
    ) -> BulkReport[RowT]:
        return await execute(
            self._org,
            items,
            prepare,
            concurrency=self.concurrency if concurrency is None else concurrency,
            progress=progress,
            total=total,
            report=report,
        )

    async def invite(
        self,
        rows: Iterable[InviteRow | Mapping[str, Any] | str],
        *,
        send_invite: bool = True,
        via: Literal["invite", "scim"] = "invite",
        precheck: Precheck = "lookup",
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[InviteRow] | None = None,
        quota_aware: bool | None = None,
    ) -> BulkReport[InviteRow]:
        """Invite every row: ``created``, ``already_member``, ``already_invited``,
        ``deferred``, ``not_sent`` or ``failed``.

        A row is an :class:`InviteRow`, a mapping with its fields, or an e-mail
        address (role ``member``). Rows are checked as they stream (e-mail, role,
        team slugs against the org's teams, read once when a row first names a
        team); a bad row fails with a :class:`ValidationError`, not sent.

        Who is already there is read first (``precheck``, :mod:`.changes.existing`):
        by default one filtered list request per 100 rows (``query=email:...``),
        so a row already a member or invited ends ``already_member`` /
        ``already_invited`` with no POST (a re-run of a file sends only what is
        missing); ``"list"`` reads the whole member list once instead (cheaper
        for a batch much larger than the org), ``"off"`` reads nothing and lets
        Sentry's answer say it. An address listed twice is sent once: the later
        row ends ``already_invited``. The rest are sent with full concurrency.

        The daily invite quota (sentry.io: 100 invites per user or token and 100
        per organization per 24 h, 10 per address): at the first
        :class:`InviteQuotaError` no further invite is sent and every row not
        sent yet ends ``deferred`` (``report.deferred()`` gives them back;
        ``report.quota`` holds the answer and ``report.quota_resets_at`` says
        when Sentry's fixed window starts again, 00:00 UTC). Invites already in
        flight when it came end as answered: at most ``concurrency`` POSTs are
        refused past the quota.

        ``via="scim"`` provisions each row with SCIM ``POST Users`` (the client's
        SCIM token), which the invite quota does not cover: ``created``, or
        ``already_member``/``already_invited``, exactly once after a lost
        answer; not owners. A row's teams (and team roles) are joined afterwards
        through the members API, also for a row already there: run again, it joins
        what it missed (``updated``; ``requested`` for an access request). Each
        token has its own rate limit: with a distinct SCIM token, 50 rows are in
        flight by default, 25 a token (a ``concurrency`` on ``acme.bulk`` counts
        per token).

        ``report``: a new :class:`BulkReport` filled in place, to read when the
        call is cancelled. ``quota_aware`` is deprecated and does nothing.
        """
        if quota_aware is not None:
            warnings.warn(
                "bulk.invite(quota_aware=...) is deprecated and does nothing: invites are "
                "sent in parallel and stop at the first quota answer",
                DeprecationWarning,
                stacklevel=2,
            )
        if via not in ("invite", "scim"):
            raise ValidationError("via must be 'invite' or 'scim'")
        if isinstance(rows, str | bytes):
            raise ValidationError("rows must be a list of rows or e-mail addresses, not one string")
        existing: Existing[InviteRow] = Existing(self._org.members, check_precheck(precheck))
        prepare = self._invite_prepare(existing, via, send_invite, self._preflight())
        total = len(rows) if isinstance(rows, Sized) else None
        try:
            return await self._run(
                existing.rows(_invite_rows(rows)),
                prepare,
                progress,
                self._invite_concurrency(via, concurrency),
                total=total,
                report=report,
            )
        finally:
            await existing.aclose()

    def _preflight(self) -> Preflight:
        client = self._org.client
        return Preflight(self._org.members, scim=client.scim_limiter is not client.limiter)

    def _invite_prepare(
        self,
        existing: Existing[InviteRow],
        via: Literal["invite", "scim"],
        send_invite: bool,
        preflight: Preflight,
    ) -> Prepare[InviteRow]:
        teams: list[set[str]] = []
        lock = asyncio.Lock()

        async def known() -> set[str]:
            async with lock:  # the org's teams, read once, when a row first names one
                if not teams:
                    teams.append({t.slug async for t in self._org.teams.list(detailed=False)})
            return teams[0]

        async def prepare(row: InviteRow) -> Operation | Done:
            if isinstance(row, _Unreadable):
                return Done(OutcomeKind.FAILED, error=row.error)
            named = bool(row.teams or row.team_roles)
            _invite_change(row, None, via, send_invite)  # a bad row fails before any request
            there = await existing.check(row)
            if there is not None and (via == "invite" or not named or there.member_id is None):
                return there  # nothing to send: the teams need not be read for it
            change = _invite_change(row, await known() if named else None, via, send_invite)
            if there is None:
                refused = await preflight.invite(change) if isinstance(change, Invite) else None
                return refused or existing.track(row, change)
            # Already there (SCIM): no POST Users, but the teams it may have missed.
            assert isinstance(change, ScimInvite)
            assert there.member_id is not None
            joins = attrs.evolve(change, existing=(there.member_id, there.kind.value))
            return existing.track(row, joins)

        return prepare

    def _invite_concurrency(self, via: str, concurrency: int | None) -> int | None:
        client = self._org.client
        if concurrency is None and via == "scim" and client.scim_limiter is not client.limiter:
            # A row's POST (SCIM token) and team add (user token) wait on two limiters: as many
            # rows in flight as both tokens allow (bench_bulk: 94 % of the bound at 32, 98 % at 50).
            given = self._concurrency
            return 2 * (DEFAULT_MAX_CONCURRENCY if given is USE_DEFAULT else given)
        return concurrency

    async def set_roles(
        self,
        rows: Iterable[RoleRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[RoleRow] | None = None,
    ) -> BulkReport[RoleRow]:
        """Give each member an org role: ``updated``, ``unchanged``, ``not_found`` or ``failed``
        (a change the token cannot make is refused before it is sent: :mod:`.changes.preflight`)."""
        members = self._org.members
        preflight = self._preflight()

        async def prepare(row: RoleRow) -> Operation | Done:
            role = check_org_role(row.role)
            member = await members.find(row.member)
            if member is None:
                return Done(OutcomeKind.NOT_FOUND)
            if member.org_role == role:
                return Done(OutcomeKind.UNCHANGED, member.id)
            change = ChangeRole(member.id, member.email, member.org_role, role)
            return await preflight.role_change(member, change) or change

        return await self._run(rows, prepare, progress, concurrency, report=report)

    async def add_to_teams(
        self,
        rows: Iterable[TeamRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[TeamRow] | None = None,
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

        return await self._run(rows, prepare, progress, concurrency, report=report)

    async def remove_from_teams(
        self,
        rows: Iterable[TeamRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[TeamRow] | None = None,
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

        return await self._run(rows, prepare, progress, concurrency, report=report)

    async def remove(
        self,
        members: Iterable[MemberKey],
        *,
        idp_fallback: IdpFallback | None = None,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[MemberKey] | None = None,
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

        return await self._run(members, prepare, progress, concurrency, report=report)

    async def deprovision(
        self,
        emails: Iterable[str],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[str] | None = None,
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

        return await self._run(emails, prepare, progress, concurrency, report=report)

    async def reinvite(
        self,
        members: Iterable[MemberKey],
        *,
        regenerate: bool = False,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[MemberKey] | None = None,
    ) -> BulkReport[MemberKey]:
        """Send pending invites again: ``updated``, ``already_member`` (accepted),
        ``not_found``, ``deferred`` or ``failed``.

        Sentry counts a re-invite against the daily invite quotas, as an invite
        (:class:`~.changes.Reinvite`): at the first quota answer the rest end
        ``deferred``. ``regenerate=True`` renews expired links (``member:admin``).
        """
        prepare = reinvite_step(self._org.members, regenerate)
        return await self._run(members, prepare, progress, concurrency, report=report)

    async def cleanup_invites(
        self,
        *,
        older_than_days: float,
        expired_only: bool = False,
        progress: Progress | None = None,
        concurrency: int | None = None,
        report: BulkReport[PendingInvite] | None = None,
    ) -> BulkReport[PendingInvite]:
        """Revoke the pending invites made at least ``older_than_days`` ago (only the
        expired ones with ``expired_only``): ``removed``, ``not_found`` or ``failed``.

        The invites are listed first (``acme.members.invites()``), then revoked
        (``DELETE members/{id}/``): removing while paging would skip some.
        """
        stale = await stale_invites(self._org.members, older_than_days, expired_only)
        return await self._run(stale, revoke_step, progress, concurrency, report=report)
