"""One bulk run from the command line: progress, outcomes, rows not done, the journal.

However the run ends (every row done, Ctrl-C, SIGTERM, a 401 in the middle),
the outcome table of what was done is printed, the last progress line gives
the same count, and the rows not done (failed, never sent, refused before
sending) go to the command's failed-rows file, which the command named in
the hint takes back. A run from a file keeps a journal (:mod:`.journal`) so
that a re-run, even after ``kill -9``, skips what was done.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ..bulk import BulkAborted, BulkReport
from ..org import Org
from .common import Settings, fail, go, interrupted_code, opened
from .exitcodes import EX_FAILED
from .journal import Journal
from .output import Reporter, err, plural, summary

__all__ = ["BulkJob", "Fill", "bulk_command", "journal_for", "report_kw", "run_bulk"]

T = TypeVar("T")
#: What a bulk operation calls as it goes: done, total.
Progress = Callable[[int, "int | None"], None]
#: Gives the keyword arguments that make a bulk method fill the run's report in place.
Fill = Callable[[Callable[..., Any]], dict[str, Any]]


@attrs.define
class BulkJob(Generic[T]):
    """What to run, and how to name it.

    ``key`` identifies a row in the journal; ``verify`` (when a re-send is not
    harmless) says which of some keys are already done on the server, and how.
    ``rerun`` is the command that takes the failed-rows file back (``{path}``).
    """

    doing: str
    label: str
    rows: list[T]
    #: ``call(org, rows, progress, fill)``: ``**fill(org.bulk.method)`` passes the
    #: report to fill in place when the engine takes one (:func:`report_kw`).
    call: Callable[[Org, Iterable[T], Progress, Fill], Awaitable[BulkReport[Any]]]
    key: Callable[[T], str]
    failed_csv: str | None = None
    rerun: str | None = None
    journal: Journal | None = None
    verify: Callable[[Org, list[str]], Awaitable[dict[str, str]]] | None = None
    #: Rows refused before sending, with why (they go to the failed-rows file too).
    refused: Sequence[tuple[Any, str]] = ()
    #: Called with the report when the run ended, for a command's own notes (the
    #: quota's deferred rows); returns an exit code (0 for none).
    after: Callable[[BulkReport[Any]], int] | None = None


async def _resume(job: BulkJob[T], org: Org) -> tuple[list[T], dict[str, str]]:
    """The rows still to do, and the rows an earlier run did (key to how)."""
    if job.journal is None:
        return job.rows, {}
    state = job.journal.load()
    if not state:
        return job.rows, {}
    keys = {job.key(row) for row in job.rows}
    skipped = dict.fromkeys(state.confirmed & keys, "done earlier")
    unconfirmed = sorted((state.unconfirmed & keys) - set(skipped))
    if unconfirmed and job.verify is not None:
        skipped.update(await job.verify(org, unconfirmed))
    todo = [row for row in job.rows if job.key(row) not in skipped]
    err.print(
        f"resuming from {job.journal.path}: {plural(len(skipped), 'row')} done in an "
        f"earlier run skipped, {plural(len(todo), 'row')} to do (--no-resume to start over)"
    )
    return todo, skipped


def _not_done(rows: Sequence[T], report: BulkReport[Any], why: str) -> list[tuple[T, str]]:
    """The rows of ``rows`` the run did not send: no outcome, or ``not_sent``."""
    missing = []
    for index, row in enumerate(rows):
        try:
            outcome = report[index]
        except (LookupError, IndexError):
            missing.append((row, why))
            continue
        if outcome.kind.value == _NOT_SENT:
            missing.append((row, why))
    return missing


#: The kind of an item a stopped run did not send (when the engine records one).
_NOT_SENT = "not_sent"


def _finished(report: BulkReport[Any]) -> int:
    """How many items the run finished (sent and answered, or refused): not the unsent."""
    return sum(n for kind, n in report.counts().items() if kind.value != _NOT_SENT)


@attrs.define
class _Ran(Generic[T]):
    """How a run ended: its report, the rows it had to do, what stopped it."""

    report: BulkReport[Any]
    todo: list[T]
    skipped: dict[str, str]
    stopped: asyncio.CancelledError | BulkAborted | None = None

    @property
    def not_done(self) -> list[tuple[T, str]]:
        if isinstance(self.stopped, asyncio.CancelledError):
            return _not_done(self.todo, self.report, "not sent: the run was interrupted")
        if isinstance(self.stopped, BulkAborted):
            return _not_done(self.todo, self.report, "not sent: the run stopped at an error")
        return []


#: Kinds that are not done: the row runs again.
_NOT_DONE = frozenset({"failed", "deferred", _NOT_SENT, "refused", "skipped"})


def report_kw(method: Callable[..., Any], report: BulkReport[Any]) -> dict[str, Any]:
    """``{"report": report}`` when the bulk ``method`` fills a report in place, else ``{}``."""
    try:
        accepts = "report" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        accepts = False
    return {"report": report} if accepts else {}


class _Tracker(Generic[T]):
    """Journals each row as its outcome lands in the report the run fills in place.

    Called from ``progress`` (after each outcome is recorded): the indices not
    journaled yet are looked at, so the cost is the number of rows in flight.
    An engine that fills no report in place (no ``report=``) leaves the rows
    ``sent`` only: a re-run checks or runs them again, as after a kill.
    """

    def __init__(self, job: BulkJob[T], todo: list[T], report: BulkReport[Any]) -> None:
        self.job = job
        self.todo = todo
        self.report = report
        self.in_place = False
        self.pending: set[int] = set()
        self.seen = 0

    def fill(self, method: Callable[..., Any]) -> dict[str, Any]:
        """The keyword that makes ``method`` fill the report in place (if it can)."""
        kw = report_kw(method, self.report)
        self.in_place = bool(kw)
        return kw

    def feed(self) -> Iterator[T]:
        journal = self.job.journal
        for row in self.todo:
            if journal is not None:
                journal.sent(self.job.key(row))  # taken from the input
            yield row

    def scan(self) -> None:
        journal = self.job.journal
        if journal is None or not self.in_place:
            return
        size = min(len(self.report), len(self.todo))
        self.pending.update(range(self.seen, size))
        self.seen = max(self.seen, size)
        for index in sorted(self.pending):
            try:
                kind = self.report[index].kind.value
            except (LookupError, IndexError):
                continue
            self.pending.discard(index)
            key = self.job.key(self.todo[index])
            if kind in _NOT_DONE:
                journal.redo(key)
            else:
                journal.done(key, kind)


def _start_journal(job: BulkJob[T], skipped: dict[str, str]) -> None:
    if job.journal is not None:
        job.journal.start()
        for key, kind in skipped.items():  # checked on the server: done
            job.journal.done(key, kind)


async def _run(settings: Settings, job: BulkJob[T]) -> _Ran[T]:
    """Run what is left of ``job``, journaling each row taken and finished."""
    async with opened(settings) as (client, org):
        todo, skipped = await _resume(job, org)
        report: BulkReport[Any] = BulkReport()
        tracker = _Tracker(job, todo, report)
        _start_journal(job, skipped)
        with Reporter(job.doing, len(todo), client, quiet=settings.quiet) as reporter:

            def progress(done: int, total: int | None) -> None:
                tracker.scan()
                reporter.update(done, total if total is not None else len(todo))

            def fill_in_place(method: Callable[..., Any]) -> dict[str, Any]:
                kw = report_kw(method, report)
                tracker.in_place = bool(kw)
                return kw

            ran: _Ran[T]
            try:
                ran = _Ran(
                    await job.call(org, tracker.feed(), progress, fill_in_place), todo, skipped
                )
            except BulkAborted as exc:
                ran = _Ran(exc.report, todo, skipped, exc)
            except asyncio.CancelledError as exc:  # Ctrl-C, SIGTERM (see common.go)
                partial = getattr(exc, "report", None)
                ran = _Ran(partial if partial is not None else report, todo, skipped, exc)
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
            if ran.report is report:
                tracker.scan()
            how = "stopped by an error" if isinstance(ran.stopped, BulkAborted) else "interrupted"
            reporter.finish(_finished(ran.report), how if ran.stopped is not None else "")
    return ran


def _close_journal(job: BulkJob[T], ran: _Ran[T]) -> None:
    journal = job.journal
    if journal is None:
        return
    report = ran.report
    redo = [job.key(o.row) for o in report.failures() if o.row is not None]
    redo += [job.key(row) for row in report.deferred()]
    redo += [job.key(row) for row, _ in ran.not_done]
    complete = not redo and ran.stopped is None
    journal.finish(redo, complete=complete)
    if not complete:
        err.print(
            f"journal kept: {journal.path} (the same command again resumes: "
            "what was done is not sent again)"
        )


async def run_bulk(settings: Settings, job: BulkJob[T]) -> int:
    """Run ``job``; print what happened; the exit code (:mod:`.exitcodes`)."""
    ran = await _run(settings, job)
    if ran.skipped:
        err.print(f"{plural(len(ran.skipped), 'row')} done in an earlier run (not sent again)")
    code = summary(
        ran.report,
        failed_csv=job.failed_csv,
        label=job.label,
        rerun=job.rerun,
        not_done=[*ran.not_done, *job.refused],
    )
    extra = job.after(ran.report) if job.after is not None else 0
    code = code or extra or (EX_FAILED if job.refused else 0)
    _close_journal(job, ran)
    if isinstance(ran.stopped, BulkAborted):
        raise fail(ran.stopped.error, settings)
    if isinstance(ran.stopped, asyncio.CancelledError):
        return interrupted_code(settings)
    return code


def journal_for(source: str | None, command: str, *, resume: bool) -> Journal | None:
    """The journal beside input file ``source`` (``None`` without a file).

    ``resume=False`` (``--no-resume``) removes an earlier one first. A folder
    that cannot be written keeps no journal, and says so.
    """
    if source is None:
        return None
    journal = Journal.beside(source, command)
    if not os.access(journal.path.parent, os.W_OK):
        err.print(
            f"note: {journal.path.parent} cannot be written: no journal is kept, so a "
            "re-run after an interruption sends every row again"
        )
        return None
    if not resume:
        journal.path.unlink(missing_ok=True)
    return journal


def bulk_command(ctx: Any, job: BulkJob[Any]) -> None:
    """Run ``job`` as the command of ``ctx`` (:func:`.common.go`)."""
    go(ctx, lambda settings: run_bulk(settings, job))
