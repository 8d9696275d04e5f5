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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ..bulk import BulkAborted, BulkCancelled, BulkReport
from ..org import Org
from .common import Settings, fail, go, interrupted_code, opened
from .exitcodes import EX_FAILED
from .journal import Journal
from .output import Reporter, err, plural, summary

__all__ = ["BulkJob", "run_bulk"]

T = TypeVar("T")
#: What a bulk operation calls as it goes: done, total.
Progress = Callable[[int, "int | None"], None]


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
    call: Callable[[Org, Iterable[T], Progress], Awaitable[BulkReport[Any]]]
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
    """The rows of ``rows`` the report holds no outcome for."""
    missing = []
    for index, row in enumerate(rows):
        try:
            report[index]
        except (LookupError, IndexError):
            missing.append((row, why))
    return missing


def _finished(report: BulkReport[Any]) -> int:
    return sum(report.counts().values())


@attrs.define
class _Ran(Generic[T]):
    """How a run ended: its report, the rows it had to do, what stopped it."""

    report: BulkReport[Any]
    todo: list[T]
    skipped: dict[str, str]
    stopped: BulkCancelled | BulkAborted | None = None

    @property
    def not_done(self) -> list[tuple[T, str]]:
        if isinstance(self.stopped, BulkCancelled):
            return _not_done(self.todo, self.report, "not sent: the run was interrupted")
        if isinstance(self.stopped, BulkAborted):
            return _not_done(self.todo, self.report, "not sent: the run stopped at an error")
        return []


async def _run(settings: Settings, job: BulkJob[T]) -> _Ran[T]:
    """Run what is left of ``job``, journaling each row taken and finished."""
    async with opened(settings) as (client, org):
        todo, skipped = await _resume(job, org)
        journal = job.journal
        current: dict[asyncio.Task[Any] | None, T] = {}

        def feed() -> Iterator[T]:
            for row in todo:
                # Taken by a worker: the task that reports it done (``progress``).
                current[asyncio.current_task()] = row
                if journal is not None:
                    journal.sent(job.key(row))
                yield row

        if journal is not None:
            journal.start()
            for key in skipped:  # checked on the server: done, for the next run too
                journal.done(key)
        with Reporter(job.doing, len(todo), client, quiet=settings.quiet) as reporter:

            def progress(done: int, total: int | None) -> None:
                row = current.pop(asyncio.current_task(), None)
                if journal is not None and row is not None:
                    journal.done(job.key(row))
                reporter.update(done, total if total is not None else len(todo))

            ran: _Ran[T]
            try:
                ran = _Ran(await job.call(org, feed(), progress), todo, skipped)
            except (BulkCancelled, BulkAborted) as exc:
                ran = _Ran(exc.report, todo, skipped, exc)
            how = {BulkCancelled: "interrupted", BulkAborted: "stopped by an error"}
            reporter.finish(_finished(ran.report), how.get(type(ran.stopped), ""))
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
    if isinstance(ran.stopped, BulkCancelled):
        return interrupted_code(settings)
    return code


def bulk_command(ctx: Any, job: BulkJob[Any]) -> None:
    """Run ``job`` as the command of ``ctx`` (:func:`.common.go`)."""
    go(ctx, lambda settings: run_bulk(settings, job))
