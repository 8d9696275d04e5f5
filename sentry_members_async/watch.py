"""Membership changes as a feed: ``acme.members.watch()``.

Sentry sends no webhook when an invite is accepted, a member is removed or a
role changes (the integration guide says to poll the member list on a
schedule). :class:`MemberWatch` does that polling and diffing once, right:

* **Typed events** (:class:`MemberEvent`): ``invited``, ``joined`` (an invite
  was accepted, by the e-mail link or by SSO login), ``removed``,
  ``role_changed``, ``teams_changed`` (``teams=True``: one more list per team)
  and ``invite_expired``, each with the member now and before, and a stable
  ``id`` a consumer can deduplicate on.
* **A baseline**: the first poll with an empty store records the org and emits
  nothing (``emit_initial=True`` emits every member instead).
* **Checkpoints** in a :class:`CheckpointStore` (a :class:`FileStore` by
  default, :class:`RedisStore` with the ``redis`` extra): the snapshot and the
  events not yet handed out are saved before any of them is handed out, so a
  watcher that restarts emits exactly what changed while it was down. An event
  counts as delivered when it is handed out; the count is saved at the end of
  each batch, every 100 events and on :meth:`MemberWatch.aclose` (a crash in
  between hands the last few out again, with the same ids).
* **A budget**: the watcher's requests pass a gate that lets through at most
  ``budget`` of the server's limit per rate-limit window, then the client's
  own limiter (so they also count against the whole limit). A bulk job on the
  same client keeps the rest. When one poll needs more requests than the
  budget allows in ``interval``, the interval stretches, and the watcher says
  so (a log line, and :attr:`MemberWatch.interval` / :attr:`MemberWatch.stats`).
* **Nothing in the background**: all work happens inside ``__anext__`` (or
  :meth:`MemberWatch.poll`), so ``break`` or cancelling the consuming task
  leaves no task behind.

Listing is offset-paginated (``order_by("id")`` with Sentry's
``OffsetPaginator``, sentry-behaviour §1), so a member removed while a poll
pages through the list can shift another row past a page boundary. A member
missing from a poll is therefore confirmed with one ``GET members/{id}/``
before ``removed`` is emitted; a team change is confirmed the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import hashlib
import json
import logging
import math
import os
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, TypeVar, runtime_checkable

import attrs

from .api.org import OrgAPI
from .errors import ConfigurationError, NotFoundError, ValidationError
from .models import Member, MemberId, UserId
from .ratelimit import Limiter, RateLimiter
from .transports.base import Headers

if TYPE_CHECKING:
    from .pipeline import BaseClient

__all__ = [
    "EVENT_KINDS",
    "BudgetLimiter",
    "CheckpointStore",
    "EventKind",
    "FileStore",
    "MemberEvent",
    "MemberState",
    "MemberWatch",
    "MemoryStore",
    "RedisStore",
    "WatchStats",
    "diff_members",
]

logger = logging.getLogger("sentry_members_async.watch")
T = TypeVar("T")

EventKind: TypeAlias = Literal[
    "invited", "joined", "removed", "role_changed", "teams_changed", "invite_expired"
]
#: Every event kind, in the order events of one member are emitted.
EVENT_KINDS: tuple[EventKind, ...] = (
    "invited",
    "joined",
    "role_changed",
    "teams_changed",
    "invite_expired",
    "removed",
)
_KIND_ORDER = {kind: i for i, kind in enumerate(EVENT_KINDS)}
_FORMAT = 1
#: Save the delivery count at least every this many events handed out.
_CURSOR_EVERY = 100


# -- values ---------------------------------------------------------------------------


def _user_id(value: object) -> UserId | None:
    return None if value is None else UserId(str(value))


def _teams_tuple(value: Any) -> tuple[tuple[str, str | None], ...] | None:
    if value is None:
        return None
    return tuple(sorted((str(slug), None if role is None else str(role)) for slug, role in value))


@attrs.frozen(kw_only=True)
class MemberState:
    """What the watcher knows of one member (kept in the checkpoint)."""

    id: MemberId = attrs.field(converter=MemberId)
    email: str
    name: str = ""
    role: str = "member"
    pending: bool = False
    expired: bool = False
    user_id: UserId | None = attrs.field(default=None, converter=_user_id)
    #: Who sent the invite (``None`` for SSO just-in-time members and SCIM pushes).
    inviter: str | None = None
    sso_linked: bool = False
    #: ``(team slug, team role)`` pairs, sorted; ``None`` when teams are not watched.
    teams: tuple[tuple[str, str | None], ...] | None = attrs.field(
        default=None, converter=_teams_tuple
    )

    @classmethod
    def from_member(
        cls, member: Member, teams: Iterable[tuple[str, str | None]] | None = None
    ) -> MemberState:
        return cls(
            id=member.id,
            email=member.email,
            name=member.name,
            role=member.org_role,
            pending=member.pending,
            expired=member.expired,
            user_id=member.user_id,
            inviter=member.inviter_name,
            sso_linked=member.flags.sso_linked,
            teams=None if teams is None else tuple(teams),
        )

    @property
    def team_slugs(self) -> frozenset[str]:
        return frozenset(slug for slug, _ in self.teams or ())

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        if self.teams is not None:
            data["teams"] = [list(pair) for pair in self.teams]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberState:
        return cls(**data)


@attrs.frozen(kw_only=True)
class MemberEvent:
    """One change of the org's membership.

    ``member`` is the member now (``None`` for ``removed``); ``before`` what the
    watcher saw at the previous poll (``None`` when it is new). ``id`` is
    stable: the same change, handed out again after a restart, has the same id.
    """

    id: str
    kind: EventKind
    org: str
    member_id: MemberId = attrs.field(converter=MemberId)
    member: MemberState | None
    before: MemberState | None
    observed_at: dt.datetime

    @property
    def email(self) -> str:
        state = self.member or self.before
        return state.email if state is not None else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "org": self.org,
            "member_id": str(self.member_id),
            "email": self.email,
            "member": self.member.to_json() if self.member is not None else None,
            "before": self.before.to_json() if self.before is not None else None,
            "observed_at": self.observed_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberEvent:
        return cls(
            id=data["id"],
            kind=data["kind"],
            org=data["org"],
            member_id=data["member_id"],
            member=MemberState.from_json(data["member"]) if data.get("member") else None,
            before=MemberState.from_json(data["before"]) if data.get("before") else None,
            observed_at=dt.datetime.fromisoformat(data["observed_at"]),
        )

    def describe(self) -> str:
        """One readable line (what the CLI prints on a terminal)."""
        now, before = self.member, self.before
        who = f"{self.email} (member {self.member_id})"
        detail = ""
        if self.kind == "role_changed" and now is not None and before is not None:
            detail = f": {before.role} -> {now.role}"
        elif self.kind == "teams_changed" and now is not None and before is not None:
            added = sorted(now.team_slugs - before.team_slugs)
            left = sorted(before.team_slugs - now.team_slugs)
            parts = [f"+{s}" for s in added] + [f"-{s}" for s in left]
            detail = f": {' '.join(parts) or 'team roles changed'}"
        elif self.kind in ("invited", "joined") and now is not None:
            detail = f" as {now.role}"
        elif self.kind == "removed" and before is not None and before.pending:
            detail = " (invite revoked)"
        stamp = self.observed_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {self.org} {self.kind:<14} {who}{detail}"


def _event_id(org: str, rev: int, kind: str, member_id: str) -> str:
    raw = f"{org}\x00{rev}\x00{kind}\x00{member_id}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def diff_members(
    before: Mapping[MemberId, MemberState],
    after: Mapping[MemberId, MemberState],
    *,
    org: str,
    rev: int,
    observed_at: dt.datetime,
) -> list[MemberEvent]:
    """The events that turn ``before`` into ``after`` (pure; ordered by member id, kind).

    ``rev`` is the revision of ``before`` in the checkpoint: it makes event ids
    stable. A member new since ``before`` who is already accepted and has an
    inviter was invited *and* joined between the two polls: both events.
    """
    events: list[tuple[int, int, MemberEvent]] = []

    def add(
        kind: EventKind, mid: MemberId, now: MemberState | None, was: MemberState | None
    ) -> None:
        event = MemberEvent(
            id=_event_id(org, rev, kind, mid),
            kind=kind,
            org=org,
            member_id=mid,
            member=now,
            before=was,
            observed_at=observed_at,
        )
        events.append((_id_key(mid), _KIND_ORDER[kind], event))

    for mid, now in after.items():
        was = before.get(mid)
        if was is None:
            if now.pending:
                add("invited", mid, now, None)
                if now.expired:
                    add("invite_expired", mid, now, None)
            else:
                if now.inviter is not None:
                    add("invited", mid, now, None)
                add("joined", mid, now, None)
            continue
        if was.pending and not now.pending:
            add("joined", mid, now, was)
        if was.role != now.role:
            add("role_changed", mid, now, was)
        if (
            was.teams is not None
            and now.teams is not None
            and not was.pending
            and not now.pending
            and was.teams != now.teams
        ):
            add("teams_changed", mid, now, was)
        if now.pending and now.expired and not was.expired:
            add("invite_expired", mid, now, was)
    for mid, was in before.items():
        if mid not in after:
            add("removed", mid, None, was)
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]


def _initial_events(
    after: Mapping[MemberId, MemberState], *, org: str, observed_at: dt.datetime
) -> list[MemberEvent]:
    """``emit_initial=True``: one ``invited`` or ``joined`` per member of the first poll."""
    out: list[MemberEvent] = []
    for mid in sorted(after, key=_id_key):
        now = after[mid]
        kind: EventKind = "invited" if now.pending else "joined"
        out.append(
            MemberEvent(
                id=_event_id(org, 0, kind, mid),
                kind=kind,
                org=org,
                member_id=mid,
                member=now,
                before=None,
                observed_at=observed_at,
            )
        )
    return out


def _id_key(member_id: str) -> int:
    return int(member_id) if member_id.isdigit() else -1


# -- checkpoint stores ----------------------------------------------------------------


@runtime_checkable
class CheckpointStore(Protocol):
    """Where a watcher keeps its checkpoint: bytes under a key."""

    async def load(self, key: str) -> bytes | None: ...

    async def save(self, key: str, data: bytes) -> None: ...


class MemoryStore:
    """A checkpoint store in this process (tests; a watcher that need not survive a restart)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def load(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def save(self, key: str, data: bytes) -> None:
        self.data[key] = bytes(data)


def default_state_dir() -> Path:
    """Where checkpoints go by default.

    ``$SENTRY_MEMBERS_STATE_DIR``, else ``$XDG_STATE_HOME/sentry-members``,
    else ``~/.local/state/sentry-members``.
    """
    explicit = os.environ.get("SENTRY_MEMBERS_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "sentry-members"


class FileStore:
    """One file per key in ``directory`` (created when needed); writes are atomic.

    A write goes to a temporary file in the same directory, is flushed to disk,
    then renamed over the old file: a crash leaves the old checkpoint or the
    new one, never half of one.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_state_dir()

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        return self.directory / f"{safe[:100]}-{digest}.json"

    async def load(self, key: str) -> bytes | None:
        path = self.path(key)

        def read() -> bytes | None:
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(read)

    async def save(self, key: str, data: bytes) -> None:
        path = self.path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

        await asyncio.to_thread(write)


class RedisStore:
    """Checkpoints in Redis (extra ``redis``): ``RedisStore("redis://localhost:6379/0")``.

    Takes a URL or a ``redis.asyncio.Redis`` client (then the caller closes it).
    """

    def __init__(self, redis: Any, *, prefix: str = "sentry-members:watch:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - the extra is installed in CI
            raise ConfigurationError(
                "RedisStore needs the redis extra: pip install 'sentry-members-async[redis]'"
            ) from None
        if isinstance(redis, str):
            self._redis = aioredis.Redis.from_url(redis)
            self._owns = True
        else:
            self._redis = redis
            self._owns = False
        self.prefix = prefix

    async def load(self, key: str) -> bytes | None:
        value = await self._redis.get(self.prefix + key)
        if value is None:
            return None
        return value.encode() if isinstance(value, str) else bytes(value)

    async def save(self, key: str, data: bytes) -> None:
        await self._redis.set(self.prefix + key, data)

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()


# -- the budget -----------------------------------------------------------------------

_REMAINING = "x-sentry-rate-limit-remaining"


class BudgetLimiter:
    """A share of the rate limit, then the client's limiter.

    ``gate`` is a :class:`RateLimiter` run at ``safety=share``: it learns the
    server's limit and windows from the answers, and lets at most
    ``floor(share * limit)`` requests through per window. It is shown the
    answers without ``X-Sentry-Rate-Limit-Remaining``, so it counts only the
    requests that passed through it, not the whole token's use (a bulk job on
    the same token must not eat the watcher's share, nor the watcher the bulk
    job's). Every request then waits for the parent limiter too.
    """

    def __init__(self, parent: Limiter, share: float | None) -> None:
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1
        ):
            raise ValidationError("budget must be within (0, 1], or None for no budget")
        self.parent = parent
        self.share = share
        self.gate = RateLimiter(safety=float(share)) if share is not None else None
        #: Requests let through (attempts, retries included).
        self.sent = 0

    def __repr__(self) -> str:
        return f"BudgetLimiter(share={self.share}, parent={self.parent!r})"

    @property
    def limit(self) -> int | None:
        """The server's limit per window, once an answer said it."""
        source = self.gate if self.gate is not None else self.parent
        return getattr(source, "limit", None)

    @property
    def window(self) -> float | None:
        """The window's length in seconds, once two answers showed it."""
        source = self.gate if self.gate is not None else self.parent
        return getattr(source, "window", None)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if self.gate is not None:
                await stack.enter_async_context(self.gate.acquire())
            await stack.enter_async_context(self.parent.acquire())
            self.sent += 1
            yield

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        self.parent.observe(status, headers)
        if self.gate is not None:
            own = Headers([(k, v) for k, v in headers.items() if k.lower() != _REMAINING])
            self.gate.observe(status, own)


def _client_view(client: BaseClient, limiter: Limiter) -> BaseClient:
    """The same client (token, transport, hooks, retry policy, stats) with another limiter."""
    view = copy.copy(client)
    view.limiter = limiter
    view._owns_transport = False  # the original client closes the transport
    return view


# -- the watcher ----------------------------------------------------------------------


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


class MemberWatch:
    """An async iterator of :class:`MemberEvent` for one organization.

    Made by ``acme.members.watch(...)``; use it as ``async with`` (closing saves
    the delivery count) and iterate it::

        async with acme.members.watch(interval=30, budget=0.2) as events:
            async for event in events:
                print(event.kind, event.email)

    :param interval: seconds between the starts of two polls (stretched when
        a poll needs more requests than the budget allows in that time).
    :param teams: watch team memberships too (``teams_changed``): one more
        list per team and poll.
    :param budget: share of the rate limit the watcher may use (``None``: no
        share of its own, the client's limiter only).
    :param store: a :class:`CheckpointStore`; default a :class:`FileStore` in
        :func:`default_state_dir`.
    :param key: the checkpoint's key; default from the Sentry host, the org and
        ``teams``.
    :param emit_initial: on the first poll with an empty store, emit every
        member (``invited`` or ``joined``) instead of recording a silent baseline.
    :param prefetch: pages fetched concurrently while listing.
    """

    def __init__(
        self,
        org: OrgAPI,
        *,
        interval: float = 60.0,
        teams: bool = False,
        budget: float | None = 0.2,
        store: CheckpointStore | None = None,
        key: str | None = None,
        emit_initial: bool = False,
        prefetch: int = 8,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise ValidationError("interval must be a number of seconds")
        if not math.isfinite(interval) or interval < 0:
            raise ValidationError("interval must be a finite number of seconds, at least 0")
        for name, flag in (("teams", teams), ("emit_initial", emit_initial)):
            if not isinstance(flag, bool):
                raise ValidationError(f"{name} must be a bool")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 1:
            raise ValidationError("prefetch must be a positive integer")
        if store is not None and not isinstance(store, CheckpointStore):
            raise ValidationError("store must have async load(key) and save(key, data)")
        if key is not None and (not isinstance(key, str) or not key):
            raise ValidationError("key must be a non-empty string")
        client = org.client
        self.org = org.slug
        self.teams = teams
        self.emit_initial = emit_initial
        self.prefetch = prefetch
        self.configured_interval = float(interval)
        self.limiter = BudgetLimiter(client.limiter, budget)
        self.budget = budget
        self._client = client
        self._org = OrgAPI(_client_view(client, self.limiter), org.slug)
        self.store: CheckpointStore = store if store is not None else FileStore()
        host = client.base_url.host or "sentry"
        port = client.base_url.explicit_port
        where = f"{host}:{port}" if port else host
        self.key = key or f"watch:{where}:{org.slug}:{'teams' if teams else 'members'}"
        self.stats = WatchStats(interval=self.configured_interval)
        self._loaded = False
        self._snapshot: dict[MemberId, MemberState] | None = None
        self._rev = 0
        self._batch_len = 0
        self._delivered = 0
        self._saved_delivered = 0
        self._queue: deque[MemberEvent] = deque()
        self._next_poll: float | None = None
        self._closed = False
        self._said_stretch: float | None = None

    def __repr__(self) -> str:
        return f"MemberWatch(org={self.org!r}, teams={self.teams}, budget={self.budget})"

    @property
    def interval(self) -> float:
        """Seconds between polls now (the configured interval, or the stretched one)."""
        return self.stats.interval

    # -- context and iteration --------------------------------------------------

    async def __aenter__(self) -> MemberWatch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> MemberWatch:
        return self

    async def __anext__(self) -> MemberEvent:
        if self._closed:
            raise StopAsyncIteration
        await self._load()
        if self._delivered - self._saved_delivered >= _CURSOR_EVERY:
            await self._save_cursor()  # a long batch: bound what a crash would repeat
        while not self._queue:
            await self._save_cursor()
            if self._next_poll is not None:
                delay = self._next_poll - asyncio.get_running_loop().time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self._poll()
        return self._hand_out()

    async def poll(self) -> list[MemberEvent]:
        """Poll once now: the events not yet handed out, then the new ones (all delivered)."""
        if self._closed:
            raise ConfigurationError("the watch is closed")
        await self._load()
        queued = list(self._queue)
        self._queue.clear()
        try:
            await self._poll()
        except BaseException:
            self._queue.extendleft(reversed(queued))  # nothing is lost to a failed poll
            raise
        events = queued + [self._hand_out() for _ in range(len(self._queue))]
        self.stats.events += len(queued)
        await self._save_cursor()
        return events

    async def aclose(self) -> None:
        """Stop: save how many events were handed out. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._loaded:
            await self._save_cursor()

    def _hand_out(self) -> MemberEvent:
        event = self._queue.popleft()
        self._delivered += 1
        self.stats.events += 1
        return event

    # -- checkpoint -----------------------------------------------------------------

    async def _load(self) -> None:
        if self._loaded:
            return
        raw = await self.store.load(self.key)
        self._loaded = True
        if raw is None:
            return
        data = json.loads(raw)
        if data.get("format") != _FORMAT or data.get("org") != self.org:
            raise ConfigurationError(
                f"the checkpoint under {self.key!r} is not a member-watch checkpoint "
                f"of {self.org!r}"
            )
        self._rev = int(data["rev"])
        self._snapshot = {
            MemberId(row["id"]): MemberState.from_json(row) for row in data["members"]
        }
        batch = [MemberEvent.from_json(e) for e in data["pending"]]
        self._batch_len = len(batch)
        delivered = 0
        cursor_raw = await self.store.load(self.key + ":cursor")
        if cursor_raw is not None:
            cursor = json.loads(cursor_raw)
            if cursor.get("rev") == self._rev:
                delivered = min(int(cursor.get("delivered", 0)), len(batch))
        self._delivered = self._saved_delivered = delivered
        self._queue.extend(batch[delivered:])

    async def _save_checkpoint(self, events: list[MemberEvent]) -> None:
        assert self._snapshot is not None
        data = {
            "format": _FORMAT,
            "org": self.org,
            "teams": self.teams,
            "rev": self._rev,
            "saved_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "members": [self._snapshot[m].to_json() for m in sorted(self._snapshot, key=_id_key)],
            "pending": [event.to_json() for event in events],
        }
        await self.store.save(self.key, json.dumps(data, separators=(",", ":")).encode())
        self._batch_len = len(events)
        self._delivered = self._saved_delivered = 0

    async def _save_cursor(self) -> None:
        if self._delivered == self._saved_delivered:
            return
        data = {"rev": self._rev, "delivered": self._delivered}
        await self.store.save(self.key + ":cursor", json.dumps(data).encode())
        self._saved_delivered = self._delivered

    # -- polling ----------------------------------------------------------------------

    async def _poll(self) -> None:
        if self._client.closed:
            raise ConfigurationError("the client is closed")
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent_before = self.limiter.sent
        try:
            current = await self._fetch()
            observed = dt.datetime.now(dt.timezone.utc)
            if self._snapshot is None:
                events = (
                    _initial_events(current, org=self.org, observed_at=observed)
                    if self.emit_initial
                    else []
                )
            else:
                current = await self._confirm(self._snapshot, current)
                events = diff_members(
                    self._snapshot, current, org=self.org, rev=self._rev, observed_at=observed
                )
        finally:
            self.stats.requests += self.limiter.sent - sent_before  # also for a cut-off poll
        if events or current != self._snapshot:
            self._snapshot = current
            self._rev += 1
            await self._save_checkpoint(events)
            self._queue.extend(events)
        # else: nothing changed, nothing to write (a 100k-member checkpoint is ~20 MB)
        took = loop.time() - started
        cost = self.limiter.sent - sent_before
        self.stats.polls += 1
        self.stats.last_poll_requests = cost
        self.stats.last_poll_seconds = took
        self._stretch(cost)
        self._next_poll = started + self.stats.interval
        logger.debug(
            "watch %s: poll %d, %d members, %d requests, %.2f s, %d events",
            self.org,
            self.stats.polls,
            len(current),
            cost,
            took,
            len(events),
        )

    def _stretch(self, cost: int) -> None:
        """Lengthen the interval when one poll needs more than the budget allows in it."""
        interval = self.configured_interval
        limit, window = self.limiter.limit, self.limiter.window
        if self.budget is not None and limit and window:
            per_second = max(1, math.floor(self.budget * limit)) / window
            interval = max(interval, cost / per_second)
        self.stats.interval = interval
        self.stats.stretched = interval > self.configured_interval
        if self.stats.stretched and (
            self._said_stretch is None or abs(interval - self._said_stretch) > 0.25 * interval
        ):
            self._said_stretch = interval
            logger.warning(
                "watch %s: a poll takes %d requests and the budget (%g of %s per %g s) allows "
                "%.1f per second, so polls run every %.1f s instead of every %g s",
                self.org,
                cost,
                self.budget,
                limit,
                window,
                max(1, math.floor((self.budget or 1) * (limit or 1))) / (window or 1),
                interval,
                self.configured_interval,
            )

    async def _fetch(self) -> dict[MemberId, MemberState]:
        org = self._org
        members: dict[MemberId, Member] = {}
        async with org.members.list(prefetch=self.prefetch) as listing:
            async for member in listing:
                members[member.id] = member
        if not self.teams:
            return {mid: MemberState.from_member(m) for mid, m in members.items()}
        on_teams: dict[MemberId, list[tuple[str, str | None]]] = {}
        async with org.teams.list(detailed=False, prefetch=self.prefetch) as team_list:
            slugs = [team.slug async for team in team_list]
        # Several teams at once, each with a short prefetch: most teams are a few
        # pages, and a long prefetch would fetch pages past their end.
        gate = asyncio.Semaphore(max(1, self.prefetch // 2))

        async def read(slug: str) -> list[tuple[MemberId, str | None]]:
            async with gate, org.teams.members(slug, prefetch=2) as team_members:
                return [(m.id, m.team_role) async for m in team_members]

        lists = await _gather_all([read(slug) for slug in slugs])
        for slug, rows in zip(slugs, lists, strict=True):
            for mid, team_role in rows:
                on_teams.setdefault(mid, []).append((slug, team_role))
        return {
            mid: MemberState.from_member(m, () if m.pending else on_teams.get(mid, ()))
            for mid, m in members.items()
        }

    async def _confirm(
        self, before: Mapping[MemberId, MemberState], current: dict[MemberId, MemberState]
    ) -> dict[MemberId, MemberState]:
        """Confirm disappearances and team changes with one ``GET members/{id}/`` each.

        A row can slip past a page boundary when another row is removed while
        the poll pages through the list; the detail shows whether it is gone.
        """
        doubtful = [
            mid
            for mid, was in before.items()
            if (now := current.get(mid)) is None
            or (
                self.teams
                and not was.pending
                and not now.pending
                and was.team_slugs != now.team_slugs
            )
        ]
        gate = asyncio.Semaphore(self.prefetch)

        async def detail(mid: MemberId) -> Member | None:
            async with gate:
                try:
                    return await self._org.members.get(mid)
                except NotFoundError:
                    return None

        details = await _gather_all([detail(mid) for mid in doubtful])
        for mid, found in zip(doubtful, details, strict=True):
            was, now = before[mid], current.get(mid)
            if found is None:
                current.pop(mid, None)
            elif now is None:
                current[mid] = MemberState.from_member(found, was.teams if self.teams else None)
            else:
                roles = dict(now.teams or ())
                old_roles = dict(was.teams or ())
                teams_now = [(s, roles.get(s, old_roles.get(s))) for s in found.teams]
                current[mid] = attrs.evolve(now, teams=teams_now)
        return current


async def _gather_all(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """``gather`` that leaves nothing running when one fails or we are cancelled."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
