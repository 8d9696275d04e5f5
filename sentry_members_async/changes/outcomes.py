"""What happened to each item of a run: :class:`Outcome`, and the :class:`BulkReport` of them.

An operation says what it did with a :class:`Done` (a kind, and the member it
touched); only the executor knows the item's place in the input and builds the
:class:`Outcome`. The report is written through a :class:`ReportWriter` the
executor holds, so nothing else sets its fields.

A report accounts for every input item, also after a cancel or an abort: each
one is done (``created``, ``removed``, ...), ``failed``, ``deferred`` (a daily
invite quota) or ``not_sent`` (the run stopped before sending it, including
the items it never read from the input: :meth:`BulkReport.not_sent`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import enum
import time
from array import array
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, Literal, TypeAlias, TypeVar, overload

import attrs

from ..errors import InviteQuotaError, SentryError, ValidationError
from ..models import MemberId

__all__ = [
    "BulkAborted",
    "BulkReport",
    "Done",
    "QUOTA_WINDOW",
    "Outcome",
    "OutcomeKind",
    "Progress",
    "ReportWriter",
    "Via",
    "quota_resets_at",
]

RowT = TypeVar("RowT")
#: ``progress(done, total)``, called after each item (``total`` is ``None`` for a stream).
Progress: TypeAlias = Callable[[int, "int | None"], "Awaitable[None] | None"]
#: Which API made a removal: ``"rest"`` (the members API) or ``"scim"`` (SCIM Users).
Via: TypeAlias = Literal["rest", "scim"]
_VIAS: tuple[Via | None, ...] = (None, "rest", "scim")
_VIA_CODE = {via: i for i, via in enumerate(_VIAS)}


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
    #: (``report.deferred()``, after ``report.quota_resets_at``) or provision it through SCIM.
    DEFERRED = "deferred"
    #: Not sent: the run was cancelled or aborted before it sent this item (or read
    #: it from the input); run it again (``report.not_sent()``).
    NOT_SENT = "not_sent"
    #: Not sent: the token cannot make this change (an integration token changing a
    #: role, a removal of someone with more access, ...); the outcome's
    #: :class:`~..api.capabilities.ChangeRefusedError` says why and how to make it
    #: (``report.refused()``). Running it again the same way would fail the same way.
    REFUSED = "refused"
    #: Not sent: the plan's premise no longer held when it was applied (the member
    #: gone, made an Owner, another role or other teams); the outcome's
    #: ``StaleChangeError`` says which (``report.skipped()``). Plan again.
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # ``print(report.counts())`` reads {'created': 2}; the keys equal their strings.
        return repr(self.value)


_KINDS = list(OutcomeKind)
_CODE = {kind: i for i, kind in enumerate(_KINDS)}
#: Kinds whose row (and error) the report keeps, to run them again.
_KEEPS_ROW = (
    OutcomeKind.FAILED,
    OutcomeKind.DEFERRED,
    OutcomeKind.NOT_SENT,
    OutcomeKind.REFUSED,
    OutcomeKind.SKIPPED,
)
#: Sentry's invite quotas count in fixed windows of this many seconds, numbered
#: from the epoch (``DEFAULT_CONFIG`` in src/sentry/ratelimits/utils.py: a window of
#: ``3600 * 24`` for each of the three; ``_time_bucket`` in src/sentry/ratelimits/redis.py:
#: ``int(request_time / window)``), so every one of them starts again at 00:00 UTC.
QUOTA_WINDOW = 24 * 3600


def quota_resets_at(error: InviteQuotaError, *, now: float | None = None) -> dt.datetime:
    """When the daily invite quota that answered ``error`` lets invites through again.

    The end of the fixed 24 h window the answer fell in, on the server's clock:
    the answer's ``Date`` header when it has one, else ``now`` (the local clock).
    The three quotas (per user or token, per organization, per address) share
    the window, so this holds whichever of them was exceeded.
    """
    when = time.time() if now is None else now
    raw = (error.headers or {}).get("Date")
    if raw:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            when = email.utils.parsedate_to_datetime(raw).timestamp()
    window = int(when // QUOTA_WINDOW) + 1
    return dt.datetime.fromtimestamp(window * QUOTA_WINDOW, tz=dt.timezone.utc)


@attrs.frozen
class Done:
    """What an operation did to one item: the kind, the member, an error if it has one,
    and for a removal the API that made it (``via``)."""

    kind: OutcomeKind
    member_id: MemberId | None = None
    error: SentryError | None = None
    via: Via | None = None


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
    #: For removals: the API that answered for it, ``"rest"`` (``DELETE members/{id}/``)
    #: or ``"scim"`` (SCIM ``Users/{id}``: a deprovision, or an IdP-provisioned member
    #: removed with ``idp_fallback="scim"``); ``None`` for the other operations.
    via: Via | None = None

    @property
    def ok(self) -> bool:
        return self.kind not in _KEEPS_ROW


class BulkReport(Sequence[Outcome[RowT]]):
    """One :class:`Outcome` per input item, in input order.

    Every input item has one, also after a cancel or an abort: what the run
    did not send (and the items it never read from the input) ends
    ``not_sent``, so ``report.failed() + report.not_sent()`` run again is
    everything not done (and ``report.deferred()`` the next day, what a daily
    invite quota held back). Pass a new report to a bulk call (``report=``) to
    keep it when the call is cancelled: it is filled in place.

    Stored compactly (a byte per kind, a byte per ``via``, an int64 per member
    id; rows and errors only for the items not done), so 100,000 outcomes take
    about a megabyte.
    """

    def __init__(self) -> None:
        self._kinds = array("b")
        self._ids = array("q")
        self._vias = array("b")
        self._kept: dict[OutcomeKind, dict[int, tuple[SentryError | None, Any]]] = {
            kind: {} for kind in _KEEPS_ROW
        }
        self.cancelled = False
        #: The configuration error that stopped the run, if one did.
        self.aborted: SentryError | None = None
        #: The daily invite quota answer that deferred the remaining rows, if one did.
        self.quota: InviteQuotaError | None = None
        #: The rest of an input too long to read to its end after a cancel or an
        #: abort (more than the executor's ``MAX_DRAIN`` items not read yet): iterate
        #: it to get them. ``None`` when every input item has its outcome.
        self.unread: Iterator[RowT] | None = None

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
            raise LookupError(f"item {index} has no outcome yet (the run is still going)")
        kind = _KINDS[code]
        member_id = self._ids[index]
        kept = self._kept.get(kind)
        error, row = kept.get(index, (None, None)) if kept is not None else (None, None)
        return Outcome(
            index,
            kind,
            MemberId(str(member_id)) if member_id else None,
            error,
            row,
            _VIAS[self._vias[index]],
        )

    def counts(self) -> dict[OutcomeKind, int]:
        """How many items ended in each kind (kinds with no item omitted)."""
        totals: dict[OutcomeKind, int] = {}
        for code in self._kinds:
            if code >= 0:
                kind = _KINDS[code]
                totals[kind] = totals.get(kind, 0) + 1
        return totals

    def removed_via(self) -> dict[Via, int]:
        """How many members each API removed: ``{"rest": 12, "scim": 2}`` (one that removed
        none is left out)."""
        removed = _CODE[OutcomeKind.REMOVED]
        totals: dict[Via, int] = {}
        for code, via_code in zip(self._kinds, self._vias, strict=True):
            via = _VIAS[via_code]
            if code == removed and via is not None:
                totals[via] = totals.get(via, 0) + 1
        return totals

    def _rows(self, kind: OutcomeKind) -> list[RowT]:
        return [row for _, (_, row) in sorted(self._kept[kind].items()) if row is not None]

    def failed(self) -> list[RowT]:
        """The rows that failed, in input order: feed them to the same call again."""
        return self._rows(OutcomeKind.FAILED)

    def failures(self) -> list[Outcome[RowT]]:
        return [self[i] for i in sorted(self._kept[OutcomeKind.FAILED])]

    def deferred(self) -> list[RowT]:
        """The rows a daily invite quota deferred, in input order: run them again once
        the quota is lifted (:attr:`quota_resets_at`)."""
        return self._rows(OutcomeKind.DEFERRED)

    def not_sent(self) -> list[RowT]:
        """The rows the run did not send because it was cancelled or aborted, in input
        order (the rows it never read from the input included): run them again.

        With :attr:`unread` set, the input had more rows than were read after the
        stop: those follow in ``unread``.
        """
        return self._rows(OutcomeKind.NOT_SENT)

    def refused(self) -> list[RowT]:
        """The rows not sent because the token cannot make them, in input order (each
        outcome's error says why and how: another token, SCIM, a person's role)."""
        return self._rows(OutcomeKind.REFUSED)

    def skipped(self) -> list[RowT]:
        """The planned changes not sent because their premise no longer held, in input
        order: make a new plan."""
        return self._rows(OutcomeKind.SKIPPED)

    @property
    def quota_resets_at(self) -> dt.datetime | None:
        """When the daily invite quota that deferred rows lets invites through again
        (UTC, the end of Sentry's fixed 24 h window: :func:`quota_resets_at`);
        ``None`` when no quota was met."""
        return None if self.quota is None else quota_resets_at(self.quota)

    @property
    def ok(self) -> bool:
        return (
            not any(self._kept.values())
            and not self.cancelled
            and self.aborted is None
            and self.unread is None
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k.value}={n}" for k, n in self.counts().items())
        state = " cancelled" if self.cancelled else (" aborted" if self.aborted else "")
        return f"<BulkReport {len(self)} items: {counts}{state}>"


class ReportWriter(Generic[RowT]):
    """The one writer of a :class:`BulkReport`: the executor records through it."""

    def __init__(self, report: BulkReport[RowT] | None = None) -> None:
        if report is None:
            report = BulkReport()
        elif len(report) or report.cancelled or report.aborted or report.quota:
            raise ValidationError("report= takes a new BulkReport(), not one already filled")
        self.report: BulkReport[RowT] = report

    def record(self, index: int, row: RowT, done: Done) -> None:
        """Item ``index`` (input ``row``) ended as ``done``."""
        report = self.report
        while len(report._kinds) <= index:
            report._kinds.append(-1)
            report._ids.append(0)
            report._vias.append(0)
        before = report._kinds[index]
        if before >= 0 and (kept := report._kept.get(_KINDS[before])) is not None:
            kept.pop(index, None)
        report._kinds[index] = _CODE[done.kind]
        report._vias[index] = _VIA_CODE[done.via]
        report._ids[index] = int(done.member_id) if done.member_id else 0
        kept = report._kept.get(done.kind)
        if kept is not None:
            kept[index] = (done.error, row)

    def abort(self, error: SentryError) -> None:
        if self.report.aborted is None:  # the first reason stands
            self.report.aborted = error

    def cancel(self) -> None:
        self.report.cancelled = True

    def quota_reached(self, error: InviteQuotaError) -> None:
        self.report.quota = error

    def rest_unread(self, rest: Iterator[RowT]) -> None:
        self.report.unread = rest


class BulkAborted(SentryError):
    """A configuration error (401, bad token), or input that raised while it was
    read, stopped the run; ``report`` has an outcome for every item read (the
    ones not sent ``not_sent``; ``error.__cause__`` is the input's exception)."""

    def __init__(self, report: BulkReport[Any], error: SentryError) -> None:
        super().__init__(f"bulk run stopped: {error}")
        self.report = report
        self.error = error
