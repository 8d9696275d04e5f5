"""What happened to each item of a run: :class:`Outcome`, and the :class:`BulkReport` of them.

An operation says what it did with a :class:`Done` (a kind, and the member it
touched); only the executor knows the item's place in the input and builds the
:class:`Outcome`. The report is written through a :class:`ReportWriter` the
executor holds, so nothing else sets its fields.
"""

from __future__ import annotations

import asyncio
import enum
from array import array
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Literal, TypeAlias, TypeVar, overload

import attrs

from ..errors import InviteQuotaError, SentryError
from ..models import MemberId

__all__ = [
    "BulkAborted",
    "BulkCancelled",
    "BulkReport",
    "Done",
    "Outcome",
    "OutcomeKind",
    "Progress",
    "ReportWriter",
    "Via",
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
    #: (``report.deferred()``) or provision it through SCIM.
    DEFERRED = "deferred"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        # ``print(report.counts())`` reads {'created': 2}; the keys equal their strings.
        return repr(self.value)


_KINDS = list(OutcomeKind)
_CODE = {kind: i for i, kind in enumerate(_KINDS)}
#: Kinds whose row (and error) the report keeps, to run them again.
_KEEPS_ROW = (OutcomeKind.FAILED, OutcomeKind.DEFERRED)


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

    Stored compactly (a byte per kind, a byte per ``via``, an int64 per member
    id; rows and errors only for failures), so 100,000 outcomes take about a megabyte.
    """

    def __init__(self) -> None:
        self._kinds = array("b")
        self._ids = array("q")
        self._vias = array("b")
        self._failures: dict[int, tuple[SentryError | None, Any]] = {}
        self._deferred: dict[int, tuple[SentryError | None, Any]] = {}
        self.cancelled = False
        #: The configuration error that stopped the run, if one did.
        self.aborted: SentryError | None = None
        #: The daily invite quota answer that deferred the remaining rows, if one did.
        self.quota: InviteQuotaError | None = None

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


class ReportWriter(Generic[RowT]):
    """The one writer of a :class:`BulkReport`: the executor records through it."""

    def __init__(self) -> None:
        self.report: BulkReport[RowT] = BulkReport()

    def record(self, index: int, row: RowT, done: Done) -> None:
        """Item ``index`` (input ``row``) ended as ``done``."""
        report = self.report
        while len(report._kinds) <= index:
            report._kinds.append(-1)
            report._ids.append(0)
            report._vias.append(0)
        report._kinds[index] = _CODE[done.kind]
        report._vias[index] = _VIA_CODE[done.via]
        report._ids[index] = int(done.member_id) if done.member_id else 0
        if done.kind is OutcomeKind.FAILED:
            report._failures[index] = (done.error, row)
        elif done.kind is OutcomeKind.DEFERRED:
            report._deferred[index] = (done.error, row)

    def abort(self, error: SentryError) -> None:
        if self.report.aborted is None:  # the first reason stands
            self.report.aborted = error

    def cancel(self) -> None:
        self.report.cancelled = True

    def quota_reached(self, error: InviteQuotaError) -> None:
        self.report.quota = error


class BulkAborted(SentryError):
    """A configuration error (401, bad token), or input that raised while it was
    read, stopped the run; ``report`` has what was done (``error.__cause__`` is the
    input's exception)."""

    def __init__(self, report: BulkReport[Any], error: SentryError) -> None:
        super().__init__(f"bulk run stopped: {error}")
        self.report = report
        self.error = error


class BulkCancelled(asyncio.CancelledError):
    """The run was cancelled; ``report`` holds the outcome of every item started."""

    def __init__(self, report: BulkReport[Any]) -> None:
        super().__init__("bulk run cancelled")
        self.report = report
