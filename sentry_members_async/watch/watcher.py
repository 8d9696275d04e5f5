"""The watcher: :class:`MemberWatch`, an async iterator that polls, diffs and checkpoints.

All work happens inside ``__anext__`` (or :meth:`MemberWatch.poll`), so
``break`` or cancelling the consuming task leaves no task behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections import deque
from typing import Any

import attrs

from .._closing import AsyncClosing
from ..api import MembersAPI, OrgScope, Scope, TeamsAPI
from ..errors import ConfigurationError, ValidationError
from ..models import MemberId
from .budget import BudgetLimiter
from .checkpoint import CURSOR_EVERY, Checkpoint
from .events import MemberEvent, MemberState, diff_members, initial_events
from .filestore import FileStore
from .options import WatchOptions
from .snapshot import SnapshotReader
from .stores import CheckpointStore

__all__ = ["MemberWatch", "WatchStats", "default_key"]

# The documented logger name (the CLI and the guide use it), not this module's.
logger = logging.getLogger("sentry_members_async.watch")


@attrs.define
class WatchStats:
    """Counters of one watcher."""

    polls: int = 0
    #: Requests sent by the watcher (retries included).
    requests: int = 0
    #: Requests of the last poll.
    last_poll_requests: int = 0
    #: Seconds the last poll took.
    last_poll_seconds: float = 0.0
    events: int = 0
    #: The poll interval in use (``interval``, or longer when stretched by the budget).
    interval: float = 0.0
    #: Whether the budget stretched the interval.
    stretched: bool = False
    #: Members recorded by a first poll that found no checkpoint and emitted
    #: nothing (a silent baseline); ``None`` when no poll did.
    baseline: int | None = None


def _base_url(org: OrgScope) -> str:
    """The Sentry watched: scheme, host, port and path prefix (``https://sentry.corp/eu``)."""
    url = org.client.base_url
    port = f":{url.explicit_port}" if url.explicit_port else ""
    return f"{url.scheme}://{url.host or 'sentry'}{port}{url.path.rstrip('/')}"


def _legacy_key(org: OrgScope, teams: bool) -> str | None:
    """The default key of releases before the base URL was in it (``None``: a path prefix).

    That key had the host and port only; with a path prefix it was shared by
    every Sentry on the host, so it is not taken over then.
    """
    url = org.client.base_url
    if url.path.strip("/"):
        return None
    host = url.host or "sentry"
    where = f"{host}:{url.explicit_port}" if url.explicit_port else host
    return f"watch:{where}:{org.slug}:{'teams' if teams else 'members'}"


def default_key(org: OrgScope, teams: bool) -> str:
    """The checkpoint key a watcher of ``org`` gets unless given one.

    From the whole base URL (scheme, host, port and path prefix: two Sentrys on
    one host differ), the org and what is watched:
    ``watch:https://sentry.corp.example/eu:acme:members``.
    """
    return f"watch:{_base_url(org)}:{org.slug}:{'teams' if teams else 'members'}"


class MemberWatch(AsyncClosing):
    """An async iterator of :class:`MemberEvent` for one organization.

    Made by ``acme.members.watch(...)`` (keywords: :class:`WatchOptions`); use
    it as ``async with`` (closing saves the delivery count) and iterate it::

        async with acme.members.watch(interval=30, budget=0.2) as events:
            async for event in events:
                print(event.kind, event.email)

    From its first poll until it is closed the watcher holds its checkpoint's
    key (the store's lease): a second watcher on the key raises
    :class:`~.errors.CheckpointBusyError` at its first poll.
    """

    def __init__(self, org: OrgScope, options: WatchOptions | None = None, **keywords: Any) -> None:
        # ``keywords`` are WatchOptions' (``MemberWatch(org, interval=30)``, as before
        # the settings became a value); checked there.
        if options is not None and keywords:
            raise ValidationError("give a WatchOptions or its keywords, not both")
        self.options = options if options is not None else WatchOptions(**keywords)
        client = org.client
        self.org = org.slug
        self.limiter = BudgetLimiter(client.limiter, self.options.budget)
        self._client = client
        paced = Scope(client.with_limiter(self.limiter), org.slug)
        self._reader = SnapshotReader(
            MembersAPI(paced),
            TeamsAPI(paced),
            teams=self.options.teams,
            prefetch=self.options.prefetch,
        )
        self.store: CheckpointStore = self.options.store or FileStore()
        self.key = self.options.key or default_key(org, self.options.teams)
        self._checkpoint = Checkpoint(
            self.store,
            self.key,
            org=self.org,
            teams=self.teams,
            url=_base_url(org),
            # the lease outlives three intervals (a minute at least) without a call
            hold=max(60.0, 3 * self.configured_interval),
            reset=self.options.reset,
            legacy_key=None if self.options.key else _legacy_key(org, self.options.teams),
        )
        self.stats = WatchStats(interval=self.configured_interval)
        self._queue: deque[MemberEvent] = deque()
        self._next_poll: float | None = None
        self._closed = False
        self._said_stretch: float | None = None

    def __repr__(self) -> str:
        return f"MemberWatch(org={self.org!r}, teams={self.teams}, budget={self.budget})"

    @property
    def teams(self) -> bool:
        return self.options.teams

    @property
    def budget(self) -> float | None:
        return self.options.budget

    @property
    def emit_initial(self) -> bool:
        return self.options.emit_initial

    @property
    def prefetch(self) -> int:
        return self.options.prefetch

    @property
    def configured_interval(self) -> float:
        return float(self.options.interval)

    @property
    def interval(self) -> float:
        """Seconds between polls now (the configured interval, or the stretched one)."""
        return self.stats.interval

    # -- context and iteration --------------------------------------------------

    def __aiter__(self) -> MemberWatch:
        return self

    async def __anext__(self) -> MemberEvent:
        if self._closed:
            raise StopAsyncIteration
        await self._load()
        if self._checkpoint.unsaved >= CURSOR_EVERY:
            await self._checkpoint.save_cursor()  # a long batch: bound what a crash repeats
        while not self._queue:
            await self._checkpoint.save_cursor()
            if self._next_poll is not None:
                delay = self._next_poll - asyncio.get_running_loop().time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self._poll()
        return self._hand_out()

    async def poll(self) -> list[MemberEvent]:
        """Poll once now: the events not yet handed out, then the new ones (all delivered).

        Nothing is lost to a failure: a poll that fails keeps what was queued,
        and when saving the delivery count fails (a full disk, a Redis blip)
        the events go back in the queue and the next ``poll()`` returns them.
        """
        if self._closed:
            raise ConfigurationError("the watch is closed")
        await self._load()
        await self._poll()  # a new batch carries what was still queued
        events = [self._hand_out() for _ in range(len(self._queue))]
        try:
            await self._checkpoint.save_cursor()
        except BaseException:
            self._queue.extendleft(reversed(events))  # not delivered after all
            self._checkpoint.delivered -= len(events)
            self.stats.events -= len(events)
            raise
        return events

    async def aclose(self) -> None:
        """Stop: save how many events were handed out, give the key up. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._checkpoint.loaded:
            try:
                await self._checkpoint.save_cursor()
            finally:
                await self._checkpoint.release()

    def _hand_out(self) -> MemberEvent:
        event = self._queue.popleft()
        self._checkpoint.delivered += 1
        self.stats.events += 1
        return event

    async def _load(self) -> None:
        self._queue.extend(await self._checkpoint.load())

    # -- polling ----------------------------------------------------------------------

    async def _poll(self) -> None:
        if self._client.closed:
            raise ConfigurationError("the client is closed")
        started = asyncio.get_running_loop().time()
        sent_before = self.limiter.sent
        try:
            current, events = await self._read_changes()
        finally:
            self.stats.requests += self.limiter.sent - sent_before  # also for a cut-off poll
        if events or current != self._checkpoint.snapshot:
            # What was still queued (a poll() after a restart) stays in the new batch.
            pending = [*self._queue, *events]
            await self._checkpoint.save(current, pending)
            self._queue = deque(pending)
        else:  # nothing changed, nothing to write (a 100k-member checkpoint is ~20 MB)
            await self._checkpoint.renew()
        self._count_poll(started, self.limiter.sent - sent_before, len(current), len(events))

    async def _read_changes(self) -> tuple[dict[MemberId, MemberState], list[MemberEvent]]:
        """This poll's snapshot, and the events since the last one."""
        current = await self._reader.read()
        observed = dt.datetime.now(dt.timezone.utc)
        before = self._checkpoint.snapshot
        if before is None:
            if not self.emit_initial:
                self.stats.baseline = len(current)
                return current, []
            return current, initial_events(
                current, org=self.org, observed_at=observed, epoch=self._checkpoint.epoch
            )
        current = await self._reader.confirm(before, current)
        events = diff_members(
            before,
            current,
            org=self.org,
            rev=self._checkpoint.rev,
            observed_at=observed,
            epoch=self._checkpoint.epoch,
        )
        return current, events

    def _count_poll(self, started: float, cost: int, members: int, events: int) -> None:
        took = asyncio.get_running_loop().time() - started
        self.stats.polls += 1
        self.stats.last_poll_requests = cost
        self.stats.last_poll_seconds = took
        self._stretch(cost)
        self._next_poll = started + self.stats.interval
        logger.debug(
            "watch %s: poll %d, %d members, %d requests, %.2f s, %d events",
            self.org,
            self.stats.polls,
            members,
            cost,
            took,
            events,
        )

    def _stretch(self, cost: int) -> None:
        """Lengthen the interval when one poll needs more than the budget allows in it."""
        interval = self.configured_interval
        limit, window = self.limiter.limit, self.limiter.window
        per_second: float | None = None
        if self.budget is not None and limit and window:
            per_second = max(1, math.floor(self.budget * limit)) / window
            interval = max(interval, cost / per_second)
        self.stats.interval = interval
        self.stats.stretched = interval > self.configured_interval
        if not self.stats.stretched:
            return
        said = self._said_stretch
        if said is None or abs(interval - said) > 0.25 * interval:
            self._said_stretch = interval
            logger.warning(
                "watch %s: a poll takes %d requests and the budget (%g of %s per %g s) allows "
                "%.1f per second, so polls run every %.1f s instead of every %g s",
                self.org,
                cost,
                self.budget,
                limit,
                window,
                per_second,
                interval,
                self.configured_interval,
            )
