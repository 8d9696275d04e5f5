"""The one executor: runs changes with a fixed pool of workers, one outcome per item.

Input is streamed (the workers pull from the iterable, so a generator of
100,000 rows never sits in memory). For each item, ``prepare`` checks the
row and looks its member up, giving either a change to run or a :class:`Done`
already (``not_found``, ``unchanged``, ``already_invited``); the executor runs
the change, sends invites through the daily quota gate, and records the
outcome at the item's index.

Item errors never abort the run; a configuration error (401, bad token), or an
input iterable that raises, stops it and raises :class:`BulkAborted` carrying
the report (what was sent finishes first).

Cancelling the run stops pulling input and lets the requests already sent
finish (so the report matches the server); then the
:class:`asyncio.CancelledError` goes on unchanged (``asyncio.timeout()`` turns
it into ``TimeoutError``, on every Python from 3.10). The partial report is the
``report`` the caller passed, filled in place. A change not yet sent (an
invite whose lookup was still running, an item still being prepared) is not
sent: it ends ``not_sent``, its row kept to run again. A second cancel stops
at once and marks what was in flight ``failed`` (the server may have applied it).

After a cancel or a configuration error, the items the run never read are read
from the input (not sent) and end ``not_sent`` with their rows, so the report
accounts for every input item: ``report.failed() + report.not_sent()`` is
everything not done. At most :data:`MAX_DRAIN` of them are read: past that (an
endless generator), the rest of the input is left in ``report.unread``. An
input that raised is not read again (an iterator that raised is finished).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence, Sized
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    InviteQuotaError,
    SentryError,
    ValidationError,
)
from .outcomes import BulkAborted, BulkReport, Done, OutcomeKind, Progress, ReportWriter
from .values import Operation, RunContext

if TYPE_CHECKING:
    from ..api.org import OrgContext

__all__ = ["MAX_DRAIN", "Prepare", "execute"]

RowT = TypeVar("RowT")
#: Turns one input item into the change to run, or into what already happened.
Prepare: TypeAlias = Callable[[RowT], Awaitable["Operation | Done"]]

#: After a cancel or an abort, at most this many unread input items are read into
#: the report (``not_sent``); the rest of a longer input stays in ``report.unread``.
MAX_DRAIN = 1_000_000

_FATAL = (AuthenticationError, ConfigurationError)


def _input_failed(exc: Exception, pulled: int) -> SentryError:
    """What stops a run whose input raised: the items before it keep their outcomes."""
    error = SentryError(f"reading the items failed after item {pulled}: {exc!r}")
    error.__cause__ = exc
    return error


def _not_sent(why: str = "cancelled before it was sent") -> Done:
    """A change the run stopped before it sent: ``not_sent``, its row kept to run again."""
    return Done(OutcomeKind.NOT_SENT, error=SentryError(why))


class _QuotaGate:
    """Invites go in parallel until the first :class:`InviteQuotaError`.

    That answer defers its invite and every later one (``deferred``, with
    that error); nothing more is sent through the gate. Invites already sent
    when it came finish as the server answers them (``created``, or
    ``deferred`` when their answer is the quota's too).
    """

    def __init__(self, on_reached: Callable[[InviteQuotaError], None]) -> None:
        self.quota: InviteQuotaError | None = None
        self.closed = False
        self._on_reached = on_reached

    def _deferred(self) -> Done:
        return Done(OutcomeKind.DEFERRED, error=self.quota)

    async def send(self, invite: Callable[[], Awaitable[Done]]) -> Done:
        """Run ``invite``, or defer it once the quota was reached."""
        if self.quota is not None:
            return self._deferred()
        if self.closed:  # the run was cancelled
            return _not_sent()
        try:
            return await invite()
        except InviteQuotaError as exc:
            if self.quota is None:
                self.quota = exc
                self._on_reached(exc)
            return self._deferred()


class _Run(Generic[RowT]):
    """One run: the workers' shared state (input, stop flag, items in flight, report)."""

    def __init__(
        self,
        org: OrgContext,
        items: Iterable[RowT],
        prepare: Prepare[RowT],
        *,
        progress: Progress | None,
        total: int | None,
        report: BulkReport[RowT] | None,
    ) -> None:
        self.writer: ReportWriter[RowT] = ReportWriter(report)
        self.ctx = RunContext(org)
        self.gate = _QuotaGate(self.writer.quota_reached)
        self.items: Iterator[RowT] = iter(items)
        self.prepare = prepare
        self.progress = progress
        self.total = total
        self.stop = False
        self.input_failed = False
        self.done = 0
        self.in_flight: dict[int, RowT] = {}
        self.pulled = 0  # items taken from the input so far

    async def _one(self, row: RowT) -> Done:
        step = await self.prepare(row)
        if isinstance(step, Done):
            return step
        if self.gate.closed:  # cancelled while the item was prepared: not sent
            return _not_sent()
        if step.quota_counted:
            return await self.gate.send(lambda: step.run(self.ctx))
        return await step.run(self.ctx)

    async def _advance(self) -> None:
        self.done += 1
        if self.progress is not None:
            result = self.progress(self.done, self.total)
            if asyncio.iscoroutine(result):
                await result

    def _next(self) -> tuple[int, RowT] | None:
        """The next input item and its index, or ``None`` when the input is over."""
        try:
            row = next(self.items)
        except StopIteration:
            return None
        except Exception as exc:  # the caller's iterable failed
            self.writer.abort(_input_failed(exc, self.pulled))
            self.stop = self.input_failed = True
            return None
        index = self.pulled
        self.pulled += 1
        return index, row

    async def worker(self) -> None:
        while not self.stop:
            item = self._next()
            if item is None:
                return
            index, row = item
            self.in_flight[index] = row
            try:
                done = await self._one(row)
            except _FATAL as exc:
                self.writer.abort(exc)
                self.writer.record(index, row, Done(OutcomeKind.FAILED, error=exc))
                self.stop = True
                return
            except SentryError as exc:
                done = Done(OutcomeKind.FAILED, error=exc)
            finally:
                self.in_flight.pop(index, None)
            self.writer.record(index, row, done)
            await self._advance()

    def drain(self, why: str) -> None:
        """Record the items never read from the input as ``not_sent`` (at most
        :data:`MAX_DRAIN`); the rest of a longer input goes to ``report.unread``."""
        if self.input_failed:
            return
        done = _not_sent(why)
        for _ in range(MAX_DRAIN):
            item = self._next()
            if item is None:
                return
            self.writer.record(item[0], item[1], done)
        try:
            first = next(self.items)
        except StopIteration:
            return
        except Exception:  # what is left cannot be read: nothing more is kept
            return
        self.writer.rest_unread(itertools.chain((first,), self.items))

    async def cancel(self, workers: Sequence[asyncio.Future[None]]) -> None:
        """Stop pulling input; let what was sent finish, unless cancelled again."""
        self.stop = True
        self.gate.closed = True
        self.writer.cancel()
        try:
            # Requests already sent finish, so the report matches the server.
            await asyncio.shield(asyncio.gather(*workers, return_exceptions=True))
        except asyncio.CancelledError:
            lost = dict(self.in_flight)  # the workers forget them as they are cancelled
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            error = SentryError("cancelled while in flight: the server may have applied it")
            for index, row in lost.items():
                self.writer.record(index, row, Done(OutcomeKind.FAILED, error=error))
        self.drain("cancelled before it was sent")


async def execute(
    org: OrgContext,
    items: Iterable[RowT],
    prepare: Prepare[RowT],
    *,
    concurrency: int = 16,
    progress: Progress | None = None,
    total: int | None = None,
    report: BulkReport[RowT] | None = None,
) -> BulkReport[RowT]:
    """Prepare and run every item of ``items`` with ``concurrency`` workers; one outcome each.

    ``report``: a new :class:`BulkReport` to fill in place (else one is made);
    it is how a cancelled run's caller gets the outcomes, since the
    cancellation itself goes on unchanged.
    """
    if concurrency < 1:
        raise ValidationError("concurrency must be at least 1")
    if total is None and isinstance(items, Sized):
        total = len(items)
    run = _Run(org, items, prepare, progress=progress, total=total, report=report)
    workers = [asyncio.ensure_future(run.worker()) for _ in range(concurrency)]
    try:
        # asyncio.wait, not gather: cancelling us must not cancel requests in flight.
        await asyncio.wait(workers)
        for task in workers:
            task.result()  # re-raise anything unexpected
    except asyncio.CancelledError:
        await run.cancel(workers)
        raise  # unchanged: asyncio.timeout() and TaskGroup read it as their own
    result = run.writer.report
    if result.aborted is not None:
        run.drain(f"not sent: the run stopped ({result.aborted})")
        raise BulkAborted(result, result.aborted)
    return result
