"""The one executor: runs changes with a fixed pool of workers, one outcome per item.

Input is streamed (the workers pull from the iterable, so a generator of
100,000 rows never sits in memory). For each item, ``prepare`` checks the
row and looks its member up, giving either a change to run or a :class:`Done`
already (``not_found``, ``unchanged``); the executor runs the change, sends
invites through the daily quota gate, and records the outcome at the item's
index.

Item errors never abort the run; a configuration error (401, bad token), or an
input iterable that raises, stops it at once and raises :class:`BulkAborted`
carrying the report so far (what was sent finishes first).
Cancelling the run stops pulling input, lets the requests already sent finish
(so the report matches the server) and raises :class:`BulkCancelled` (a
``CancelledError``) carrying the report; a change not yet sent (an invite
waiting its turn at the quota gate, an item still being looked up) is not
sent: it ends ``failed`` with "cancelled before it was sent", its row kept to
run again. A second cancel stops at once and marks what was in flight as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
    Sized,
)
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    InviteQuotaError,
    SentryError,
    ValidationError,
)
from .outcomes import (
    BulkAborted,
    BulkCancelled,
    BulkReport,
    Done,
    OutcomeKind,
    Progress,
    ReportWriter,
)
from .values import Operation, RunContext

if TYPE_CHECKING:
    from ..api.org import OrgAPI

__all__ = ["QUOTA_PROBE", "Prepare", "execute"]

RowT = TypeVar("RowT")
#: Turns one input item into the change to run, or into what already happened.
Prepare: TypeAlias = Callable[[RowT], Awaitable["Operation | Done"]]

#: Sentry's daily invite quota per user or token (100 per 24 h): once a run
#: created more than this many, no quota is in force.
QUOTA_PROBE = 100

_FATAL = (AuthenticationError, ConfigurationError)


def _input_failed(exc: Exception, pulled: int) -> SentryError:
    """What stops a run whose input raised: the items before it keep their outcomes."""
    error = SentryError(f"reading the items failed after item {pulled}: {exc!r}")
    error.__cause__ = exc
    return error


def _not_sent() -> Done:
    """A change the run was cancelled before it sent: failed, its row kept to run again."""
    return Done(OutcomeKind.FAILED, error=SentryError("cancelled before it was sent"))


class _QuotaGate:
    """Invites one at a time while a daily quota may be in force, then in parallel.

    The first :class:`InviteQuotaError` defers its invite and every later one
    (``deferred``, with that error); nothing more is sent through the gate.
    Once the run is cancelled (``closed``), an invite still waiting its turn
    is not sent.
    """

    def __init__(self, *, serial: bool, on_reached: Callable[[InviteQuotaError], None]) -> None:
        self.serial = serial
        self.created = 0
        self.quota: InviteQuotaError | None = None
        self.closed = False
        self._on_reached = on_reached
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if not self.serial or self.created > QUOTA_PROBE:
            yield
            return
        async with self._lock:
            yield

    def reached(self) -> bool:
        return self.quota is not None

    def _deferred(self) -> Done:
        return Done(OutcomeKind.DEFERRED, error=self.quota)

    async def send(self, invite: Callable[[], Awaitable[Done]]) -> Done:
        """Run ``invite``, or defer it once the quota was reached."""
        if self.reached():
            return self._deferred()
        try:
            async with self._turn():
                if self.reached():  # reached while this invite waited its turn
                    return self._deferred()
                if self.closed:  # the run was cancelled while it waited
                    return _not_sent()
                done = await invite()
        except InviteQuotaError as exc:
            if self.quota is None:
                self.quota = exc
                self._on_reached(exc)
            return self._deferred()
        if done.kind is OutcomeKind.CREATED:
            self.created += 1
        return done


class _Run(Generic[RowT]):
    """One run: the workers' shared state (input, stop flag, items in flight, report)."""

    def __init__(
        self,
        org: OrgAPI,
        items: Iterable[RowT],
        prepare: Prepare[RowT],
        *,
        progress: Progress | None,
        total: int | None,
        serial_invites: bool,
    ) -> None:
        self.writer: ReportWriter[RowT] = ReportWriter()
        self.ctx = RunContext(org)
        self.gate = _QuotaGate(serial=serial_invites, on_reached=self.writer.quota_reached)
        self.source: Iterator[tuple[int, RowT]] = enumerate(items)
        self.prepare = prepare
        self.progress = progress
        self.total = total
        self.stop = False
        self.done = 0
        self.in_flight: dict[int, RowT] = {}
        self.pulled = 0  # items taken from the input so far

    async def _one(self, row: RowT) -> Done:
        step = await self.prepare(row)
        if isinstance(step, Done):
            return step
        if self.gate.closed:  # cancelled while the item was looked up: not sent
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

    async def worker(self) -> None:
        while not self.stop:
            try:
                index, row = next(self.source)
            except StopIteration:
                return
            except Exception as exc:  # the caller's iterable failed
                self.writer.abort(_input_failed(exc, self.pulled))
                self.stop = True
                return
            self.pulled = index + 1
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


async def execute(
    org: OrgAPI,
    items: Iterable[RowT],
    prepare: Prepare[RowT],
    *,
    concurrency: int = 16,
    progress: Progress | None = None,
    total: int | None = None,
    serial_invites: bool = True,
) -> BulkReport[RowT]:
    """Prepare and run every item of ``items`` with ``concurrency`` workers; one outcome each.

    ``serial_invites``: invites go one at a time until more than
    :data:`QUOTA_PROBE` were created (a daily quota may be in force until then).
    """
    if concurrency < 1:
        raise ValidationError("concurrency must be at least 1")
    if total is None and isinstance(items, Sized):
        total = len(items)
    run = _Run(org, items, prepare, progress=progress, total=total, serial_invites=serial_invites)
    workers = [asyncio.ensure_future(run.worker()) for _ in range(concurrency)]
    try:
        # asyncio.wait, not gather: cancelling us must not cancel requests in flight.
        await asyncio.wait(workers)
        for task in workers:
            task.result()  # re-raise anything unexpected
    except asyncio.CancelledError:
        await run.cancel(workers)
        raise BulkCancelled(run.writer.report) from None
    report = run.writer.report
    if report.aborted is not None:
        raise BulkAborted(report, report.aborted)
    return report
