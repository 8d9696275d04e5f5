"""Bulk operations: thousands of changes in parallel, one truthful outcome per item.

``acme.bulk.invite(rows)``, ``set_roles``, ``add_to_teams``,
``remove_from_teams``, ``remove``, ``deprovision``. Items run concurrently
under the client's limiter; input is streamed (a fixed pool of workers pulls
from the iterable, so a generator of 100,000 rows never sits in memory) and the
report stores outcomes compactly.

Every item gets exactly one :class:`Outcome`, in input order. Item errors
never abort the batch; a configuration error (401, bad token) stops it at once
and raises :class:`BulkAborted` carrying the report so far. Cancelling the run
stops pulling input, lets the requests already sent finish (so the report
matches the server) and raises :class:`BulkCancelled` (a
``CancelledError``) carrying the report; a second cancel stops at once and
marks what was in flight as failed.

Exactly once: invites are looked up by e-mail when an answer was lost, never
re-sent blindly; the other operations are idempotent on Sentry and are
retried, and a ``404`` after a retry of a removal means the first attempt
removed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import enum
import io
import os
from array import array
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, overload

import attrs

from .api import _common as c
from .api.members import InviteStatus, invite_body
from .errors import (
    AuthenticationError,
    ConfigurationError,
    InviteQuotaError,
    NotFoundError,
    PermissionDeniedError,
    SentryError,
    ValidationError,
)
from .models import ORG_ROLE_NAMES, TEAM_ROLE_NAMES, Member, MemberId

if TYPE_CHECKING:
    from .api.org import OrgAPI

__all__ = [
    "QUOTA_PROBE",
    "BulkAborted",
    "BulkAPI",
    "BulkCancelled",
    "BulkReport",
    "InviteRow",
    "Outcome",
    "OutcomeKind",
    "Progress",
    "RoleRow",
    "RowError",
    "RowBatch",
    "TeamRow",
    "load_invite_rows",
]

RowT = TypeVar("RowT")
MemberKey: TypeAlias = "MemberId | str"
Progress: TypeAlias = Callable[[int, "int | None"], "Awaitable[None] | None"]


class OutcomeKind(str, enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ALREADY_MEMBER = "already_member"
    ALREADY_INVITED = "already_invited"
    #: Team add answered 202: an access request was created, the member was not added.
    REQUESTED = "requested"
    REMOVED = "removed"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    #: Not sent: a daily invite quota was reached; run the row again the next day
    #: (``report.deferred()``) or provision it through SCIM.
    DEFERRED = "deferred"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # ``print(report.counts())`` reads {'created': 2}; the keys equal their strings.
        return repr(self.value)


_KINDS = list(OutcomeKind)
_CODE = {kind: i for i, kind in enumerate(_KINDS)}


# -- rows ------------------------------------------------------------------------


def _teams(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.replace(";", ",").split(",") if t.strip())
    return tuple(value)


def _team_roles(value: Any) -> Mapping[str, str | None]:
    return dict(value) if value else {}


@attrs.frozen
class InviteRow:
    """One person to invite: ``teams`` to join, ``team_roles`` (slug to team role)."""

    email: str
    role: str = "member"
    teams: tuple[str, ...] = attrs.field(default=(), converter=_teams)
    team_roles: Mapping[str, str | None] = attrs.field(factory=dict, converter=_team_roles)


@attrs.frozen
class RoleRow:
    """A member (member id or e-mail) and the organization role to give them."""

    member: MemberKey
    role: str


@attrs.frozen
class TeamRow:
    """A member (member id or e-mail), a team, and optionally the team role to set."""

    member: MemberKey
    team: str
    role: str | None = None


@attrs.frozen
class RowError:
    """Why one input row was refused before anything was sent."""

    line: int
    field: str
    message: str
    row: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        return f"row {self.line}: {self.field}: {self.message}"


@attrs.frozen
class RowBatch(Generic[RowT]):
    """Rows that passed validation and the errors of those that did not."""

    rows: list[RowT]
    errors: list[RowError]


def _invite_row_errors(row: InviteRow, known_teams: set[str] | None) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    try:
        c.check_email(row.email)
    except ValidationError as exc:
        problems.append(("email", str(exc)))
    if row.role not in ORG_ROLE_NAMES:
        problems.append(("role", f"unknown role {row.role!r}; one of {', '.join(ORG_ROLE_NAMES)}"))
    for slug in (*row.teams, *row.team_roles):
        try:
            c.check_slug(slug)
        except ValidationError as exc:
            problems.append(("teams", str(exc)))
            continue
        if known_teams is not None and slug not in known_teams:
            problems.append(("teams", f"unknown team {slug!r}"))
    for slug, role in row.team_roles.items():
        if role is not None and role not in TEAM_ROLE_NAMES:
            problems.append(("team_roles", f"unknown team role {role!r} for {slug!r}"))
    return problems


def load_invite_rows(
    source: str | os.PathLike[str] | io.TextIOBase | Iterable[Mapping[str, Any]],
    *,
    known_teams: Iterable[str] | None = None,
) -> RowBatch[InviteRow]:
    """Read invite rows from a CSV file (or file object) or from dicts, checking each.

    CSV columns: ``email``, ``role`` (default ``member``), ``teams``
    (comma- or semicolon-separated slugs). Invalid e-mails, unknown roles,
    unknown teams (when ``known_teams`` is given) and an e-mail given twice
    become :class:`RowError` entries; nothing is sent.
    """
    teams = set(known_teams) if known_teams is not None else None
    if isinstance(source, str | os.PathLike):
        with open(source, newline="", encoding="utf-8-sig") as handle:
            return load_invite_rows(handle, known_teams=teams)
    records: Iterable[Mapping[str, Any]]
    first_line = 1
    if isinstance(source, io.TextIOBase):
        reader = csv.DictReader(source)
        if reader.fieldnames is None or "email" not in [f.strip() for f in reader.fieldnames]:
            raise ValidationError("the CSV needs a header row with an 'email' column")
        records = reader
        first_line = 2
    else:
        records = source
    rows: list[InviteRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for offset, record in enumerate(records):
        line = first_line + offset
        data = {str(k).strip(): v for k, v in record.items() if k is not None}
        email = str(data.get("email") or "").strip()
        role = str(data.get("role") or "member").strip().lower()
        row = InviteRow(email, role, data.get("teams"), data.get("team_roles"))
        problems = _invite_row_errors(row, teams)
        key = email.lower()
        if not problems and key in seen:
            problems.append(("email", f"{email} is listed twice (first on row {seen[key]})"))
        if problems:
            errors += [RowError(line, f, m, dict(data)) for f, m in problems]
            continue
        seen[key] = line
        rows.append(row)
    return RowBatch(rows, errors)


# -- outcomes and the report -------------------------------------------------------


@attrs.frozen
class Outcome(Generic[RowT]):
    """What happened to input item ``index``."""

    index: int
    kind: OutcomeKind
    member_id: MemberId | None = None
    #: The typed error, for ``failed`` items.
    error: SentryError | None = None
    #: The input row: kept for failed items only (to run them again).
    row: RowT | None = None

    @property
    def ok(self) -> bool:
        return self.kind not in (OutcomeKind.FAILED, OutcomeKind.DEFERRED)


class BulkReport(Sequence[Outcome[RowT]]):
    """One :class:`Outcome` per input item, in input order.

    Stored compactly (a byte per kind, an int64 per member id; rows and errors
    only for failures), so 100,000 outcomes take about a megabyte.
    """

    def __init__(self) -> None:
        self._kinds = array("b")
        self._ids = array("q")
        self._failures: dict[int, tuple[SentryError | None, Any]] = {}
        self._deferred: dict[int, tuple[SentryError | None, Any]] = {}
        self.cancelled = False
        #: The configuration error that stopped the run, if one did.
        self.aborted: SentryError | None = None
        #: The daily invite quota answer that deferred the remaining rows, if one did.
        self.quota: InviteQuotaError | None = None

    def _set(self, index: int, outcome: Outcome[RowT]) -> None:
        while len(self._kinds) <= index:
            self._kinds.append(-1)
            self._ids.append(0)
        self._kinds[index] = _CODE[outcome.kind]
        self._ids[index] = int(outcome.member_id) if outcome.member_id else 0
        if outcome.kind is OutcomeKind.FAILED:
            self._failures[index] = (outcome.error, outcome.row)
        elif outcome.kind is OutcomeKind.DEFERRED:
            self._deferred[index] = (outcome.error, outcome.row)

    def __len__(self) -> int:
        return len(self._kinds)

    @overload
    def __getitem__(self, index: int) -> Outcome[RowT]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Outcome[RowT]]: ...

    def __getitem__(self, index: int | slice) -> Outcome[RowT] | Sequence[Outcome[RowT]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        code = self._kinds[index]
        if code < 0:
            raise LookupError(f"item {index} has no outcome (the run stopped before it)")
        member_id = self._ids[index]
        error, row = self._failures.get(index) or self._deferred.get(index) or (None, None)
        return Outcome(
            index,
            _KINDS[code],
            MemberId(str(member_id)) if member_id else None,
            error,
            row,
        )

    def counts(self) -> dict[OutcomeKind, int]:
        """How many items ended in each kind (kinds with no item omitted)."""
        totals: dict[OutcomeKind, int] = {}
        for code in self._kinds:
            if code >= 0:
                kind = _KINDS[code]
                totals[kind] = totals.get(kind, 0) + 1
        return totals

    def failed(self) -> list[RowT]:
        """The rows that failed, in input order: feed them to the same call again."""
        return [row for _, (_, row) in sorted(self._failures.items()) if row is not None]

    def failures(self) -> list[Outcome[RowT]]:
        return [self[i] for i in sorted(self._failures)]

    def deferred(self) -> list[RowT]:
        """The rows a daily invite quota deferred, in input order: run them again tomorrow."""
        return [row for _, (_, row) in sorted(self._deferred.items()) if row is not None]

    @property
    def ok(self) -> bool:
        return (
            not self._failures
            and not self._deferred
            and not self.cancelled
            and self.aborted is None
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k.value}={n}" for k, n in self.counts().items())
        state = " cancelled" if self.cancelled else (" aborted" if self.aborted else "")
        return f"<BulkReport {len(self)} items: {counts}{state}>"


class BulkAborted(SentryError):
    """A configuration error (401, bad token) stopped the run; ``report`` has what was done."""

    def __init__(self, report: BulkReport[Any], error: SentryError) -> None:
        super().__init__(f"bulk run stopped: {error}")
        self.report = report
        self.error = error


class BulkCancelled(asyncio.CancelledError):
    """The run was cancelled; ``report`` holds the outcome of every item started."""

    def __init__(self, report: BulkReport[Any]) -> None:
        super().__init__("bulk run cancelled")
        self.report = report


_FATAL = (AuthenticationError, ConfigurationError)


# -- the engine ----------------------------------------------------------------------


async def run_bulk(
    items: Iterable[RowT],
    operation: Callable[[RowT], Awaitable[Outcome[RowT]]],
    *,
    concurrency: int = 16,
    progress: Progress | None = None,
    total: int | None = None,
    on_start: Callable[[BulkReport[RowT]], None] | None = None,
) -> BulkReport[RowT]:
    """Run ``operation`` over ``items`` with ``concurrency`` workers; one outcome each."""
    if concurrency < 1:
        raise ValidationError("concurrency must be at least 1")
    if total is None and isinstance(items, Sized):
        total = len(items)
    report: BulkReport[RowT] = BulkReport()
    if on_start is not None:
        on_start(report)
    source: Iterator[tuple[int, RowT]] = enumerate(items)
    stop = False
    done = 0
    in_flight: dict[int, RowT] = {}

    async def worker() -> None:
        nonlocal done, stop
        while not stop:
            try:
                index, row = next(source)
            except StopIteration:
                return
            in_flight[index] = row
            try:
                outcome = await operation(row)
            except _FATAL as exc:
                report.aborted = exc
                report._set(index, Outcome(index, OutcomeKind.FAILED, error=exc, row=row))
                stop = True
                return
            except SentryError as exc:
                outcome = Outcome(index, OutcomeKind.FAILED, error=exc, row=row)
            finally:
                in_flight.pop(index, None)
            report._set(index, attrs.evolve(outcome, index=index))
            done += 1
            if progress is not None:
                result = progress(done, total)
                if asyncio.iscoroutine(result):
                    await result

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        # asyncio.wait, not gather: cancelling us must not cancel requests in flight.
        await asyncio.wait(workers)
        for task in workers:
            task.result()  # re-raise anything unexpected
    except asyncio.CancelledError:
        stop = True
        report.cancelled = True
        try:
            # Requests already sent finish, so the report matches the server.
            await asyncio.shield(asyncio.gather(*workers, return_exceptions=True))
        except asyncio.CancelledError:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for index, row in list(in_flight.items()):
                lost = SentryError("cancelled while in flight: the server may have applied it")
                report._set(index, Outcome(index, OutcomeKind.FAILED, error=lost, row=row))
        raise BulkCancelled(report) from None
    if report.aborted is not None:
        raise BulkAborted(report, report.aborted)
    return report


# -- the operations -----------------------------------------------------------------------


def _as_invite_row(row: InviteRow | Mapping[str, Any] | str) -> InviteRow:
    if isinstance(row, InviteRow):
        return row
    if isinstance(row, str):
        return InviteRow(row)  # an e-mail address: invited as a member
    if not isinstance(row, Mapping):
        raise ValidationError(
            f"an invite row is an InviteRow, a mapping with 'email' (and optionally 'role', "
            f"'teams', 'team_roles') or an e-mail address, not {type(row).__name__}"
        )
    return InviteRow(
        str(row.get("email") or ""),
        str(row.get("role") or "member"),
        row.get("teams"),
        row.get("team_roles"),
    )


#: Sentry's daily invite quota per user or token (100 per 24 h): once a run
#: created more than this many, no quota is in force.
QUOTA_PROBE = 100


class _QuotaGate:
    """Invites one at a time while a daily quota may be in force, then in parallel."""

    def __init__(self, *, serial: bool) -> None:
        self.serial = serial
        self.created = 0
        self.quota: InviteQuotaError | None = None
        self._report: BulkReport[Any] | None = None
        self._lock = asyncio.Lock()

    def watch(self, report: BulkReport[Any]) -> None:
        """``run_bulk``'s ``on_start``: the report gets ``quota`` as soon as it is hit."""
        self._report = report

    def reached(self) -> bool:
        return self.quota is not None

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if not self.serial or self.created > QUOTA_PROBE:
            yield
            return
        async with self._lock:
            yield

    async def send(
        self, row: RowT, invite: Callable[[], Awaitable[Outcome[RowT]]]
    ) -> Outcome[RowT]:
        """Run ``invite`` for ``row``, or defer it once the quota was reached.

        The first :class:`InviteQuotaError` defers its row and every later one
        (``deferred``, with that error); nothing more is sent through this gate.
        """
        deferred = Outcome(0, OutcomeKind.DEFERRED, error=self.quota, row=row)
        if self.reached():
            return deferred
        try:
            async with self.turn():
                if self.reached():  # reached while this row waited its turn
                    return attrs.evolve(deferred, error=self.quota)
                outcome = await invite()
        except InviteQuotaError as exc:
            if self.quota is None:
                self.quota = exc
                if self._report is not None:
                    self._report.quota = exc
            return attrs.evolve(deferred, error=self.quota)
        if outcome.kind is OutcomeKind.CREATED:
            self.created += 1
        return outcome


class BulkAPI:
    """``acme.bulk``: many changes at once, one :class:`Outcome` per item."""

    def __init__(self, org: OrgAPI, *, concurrency: int = 16) -> None:
        self._org = org
        self.concurrency = concurrency

    async def _team_slugs(self) -> set[str]:
        return {team.slug async for team in self._org.teams.list(detailed=False)}

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
        a row's teams are joined afterwards through the members API.
        """
        if via not in ("invite", "scim"):
            raise ValidationError("via must be 'invite' or 'scim'")
        if isinstance(rows, str | bytes):
            raise ValidationError("rows must be a list of rows or e-mail addresses, not one string")
        members = self._org.members
        known = await self._team_slugs()
        state = _QuotaGate(serial=quota_aware and via == "invite")

        async def send(row: InviteRow) -> tuple[MemberId, InviteStatus]:
            if via == "scim":
                member_id, status = await self._org.scim.users.provision(
                    row.email, role=None if row.role == "member" else row.role
                )
                if status == "created":
                    for slug in (*row.teams, *(t for t in row.team_roles if t not in row.teams)):
                        await members.add_to_team(member_id, slug)
                return member_id, status
            body = invite_body(row.email, row.role, row.teams, row.team_roles, send_invite)
            member, status = await members.invite_status(row.email, body)
            return member.id, status

        async def one(row: InviteRow) -> Outcome[InviteRow]:
            problems = _invite_row_errors(row, known)
            if problems:
                field, message = problems[0]
                raise ValidationError(f"{field}: {message}")
            if via == "scim" and row.role == "owner":
                raise ValidationError("role: SCIM cannot provision owners; invite them instead")

            async def invite() -> Outcome[InviteRow]:
                member_id, status = await send(row)
                return Outcome(0, OutcomeKind(status), member_id)

            return await state.send(row, invite)

        def items() -> Iterator[InviteRow]:
            for row in rows:
                yield _as_invite_row(row)

        report = await run_bulk(
            items(),
            one,
            concurrency=concurrency or self.concurrency,
            progress=progress,
            total=len(rows) if isinstance(rows, Sized) else None,
            on_start=state.watch,
        )
        report.quota = state.quota
        return report

    async def _resolve(self, key: MemberKey) -> Member | None:
        """A member by id or e-mail (``None`` when there is none)."""
        members = self._org.members
        if isinstance(key, str) and "@" in key:
            return await members.find_by_email(key)
        try:
            return await members.get(MemberId(c.check_member_ref(key)))
        except NotFoundError:
            return None

    async def set_roles(
        self,
        rows: Iterable[RoleRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[RoleRow]:
        """Give each member an org role: ``updated``, ``unchanged``, ``not_found`` or ``failed``."""

        async def one(row: RoleRow) -> Outcome[RoleRow]:
            role = c.check_org_role(row.role)
            member = await self._resolve(row.member)
            if member is None:
                return Outcome(0, OutcomeKind.NOT_FOUND)
            if member.org_role == role:
                return Outcome(0, OutcomeKind.UNCHANGED, member.id)
            await self._org.members.update(member.id, role=role)
            return Outcome(0, OutcomeKind.UPDATED, member.id)

        return await run_bulk(
            rows, one, concurrency=concurrency or self.concurrency, progress=progress
        )

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

        async def one(row: TeamRow) -> Outcome[TeamRow]:
            team = c.check_slug(row.team)
            role = c.check_team_role(row.role) if row.role is not None else None
            member_id = await self._member_id(row.member)
            if member_id is None:
                return Outcome(0, OutcomeKind.NOT_FOUND)
            added = await self._org.members.add_to_team(member_id, team)
            if added == "requested":
                return Outcome(0, OutcomeKind.REQUESTED, member_id)
            kind = OutcomeKind.CREATED if added == "added" else OutcomeKind.UNCHANGED
            if role is not None:
                membership = await self._org.members.set_team_role(member_id, team, role)
                if kind is OutcomeKind.UNCHANGED and membership.team_role == role:
                    return Outcome(0, kind, member_id)
                if kind is OutcomeKind.UNCHANGED:
                    kind = OutcomeKind.UPDATED
            return Outcome(0, kind, member_id)

        return await run_bulk(
            rows, one, concurrency=concurrency or self.concurrency, progress=progress
        )

    async def remove_from_teams(
        self,
        rows: Iterable[TeamRow],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[TeamRow]:
        """Remove members from teams: ``removed``, ``unchanged`` (was not on it), ``not_found``."""

        async def one(row: TeamRow) -> Outcome[TeamRow]:
            team = c.check_slug(row.team)
            member = await self._resolve(row.member)
            if member is None:
                return Outcome(0, OutcomeKind.NOT_FOUND)
            detail = member if member.org_role_list else await self._org.members.get(member.id)
            if team not in detail.teams:
                return Outcome(0, OutcomeKind.UNCHANGED, member.id)
            await self._org.members.remove_from_team(member.id, team)
            return Outcome(0, OutcomeKind.REMOVED, member.id)

        return await run_bulk(
            rows, one, concurrency=concurrency or self.concurrency, progress=progress
        )

    async def _member_id(self, key: MemberKey) -> MemberId | None:
        if isinstance(key, str) and "@" in key:
            member = await self._org.members.find_by_email(key)
            return member.id if member is not None else None
        return MemberId(c.check_member_ref(key))

    async def remove(
        self,
        members: Iterable[MemberKey],
        *,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> BulkReport[MemberKey]:
        """Remove members or revoke invites: ``removed``, ``not_found`` or ``failed``."""

        async def one(key: MemberKey) -> Outcome[MemberKey]:
            member_id = await self._member_id(key)
            if member_id is None:
                return Outcome(0, OutcomeKind.NOT_FOUND)
            try:
                await self._org.members.remove(member_id)
            except NotFoundError:  # (a 404 after our own retry is success in remove())
                return Outcome(0, OutcomeKind.NOT_FOUND, member_id)
            return Outcome(0, OutcomeKind.REMOVED, member_id)

        return await run_bulk(
            members, one, concurrency=concurrency or self.concurrency, progress=progress
        )

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
        Outcomes: ``removed``, ``not_found`` or ``failed``.
        """
        scim_on: list[bool] = [True]  # flips to False at the first SCIM 403

        async def one(email: str) -> Outcome[str]:
            member = await self._org.members.find_by_email(c.check_email(email))
            if member is None:
                return Outcome(0, OutcomeKind.NOT_FOUND)
            if scim_on[0] and member.org_role != "owner":
                try:
                    await self._org.scim.users.deactivate(member.id)
                    return Outcome(0, OutcomeKind.REMOVED, member.id)
                except PermissionDeniedError:
                    scim_on[0] = False  # SCIM is off for this org: REST from now on
                except NotFoundError:
                    pass  # no SCIM user for this member: the REST DELETE below
            try:
                await self._org.members.remove(member.id)
            except NotFoundError:  # (a 404 after our own retry is success in remove())
                return Outcome(0, OutcomeKind.NOT_FOUND, member.id)
            return Outcome(0, OutcomeKind.REMOVED, member.id)

        return await run_bulk(
            emails, one, concurrency=concurrency or self.concurrency, progress=progress
        )
