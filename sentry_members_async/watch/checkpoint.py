"""A watcher's checkpoint: the last snapshot, its revision, and the batch not yet handed out.

The snapshot and the events of a poll are saved together, before any event is
handed out, so a watcher that restarts emits exactly what changed while it was
down. An event counts as delivered when it is handed out; that count (the
*cursor*) is saved apart, small, at the end of each batch, every
:data:`CURSOR_EVERY` events and on close (a crash in between hands the last few
out again, with the same ids).

Every read and write goes through the store's lease (:mod:`.stores`): one
watcher holds a key at a time. The cursor names its batch (the checkpoint's
*epoch* and revision), so a count is never applied to another batch. The
epoch, random, is made with the checkpoint: event ids include it, so ids stay
unique when a checkpoint is lost or reset and revisions start again at 1.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from ..models import MemberId
from .errors import CheckpointCorruptError, CheckpointError
from .events import MemberEvent, MemberState, id_key
from .stores import CheckpointLease, CheckpointStore, lease_of

__all__ = ["CURSOR_EVERY", "Checkpoint"]

_FORMAT = 1
#: Save the delivery count at least every this many events handed out.
CURSOR_EVERY = 100


def new_epoch() -> str:
    """A random name for a new checkpoint (part of every event id from it)."""
    return secrets.token_hex(8)


class Checkpoint:
    """One watcher's state in a :class:`CheckpointStore` under ``key`` (and ``key:cursor``).

    ``url``: the Sentry base URL watched (a checkpoint of another Sentry under
    the same key is refused). ``hold``: the longest the watcher may go between
    two calls on its lease. ``reset``: ignore what the store holds (a new
    baseline, written over it at the first poll). ``legacy_key``: where an
    older release kept this checkpoint (its default key had no scheme nor
    path): with nothing under ``key``, that checkpoint is copied over once.
    """

    def __init__(
        self,
        store: CheckpointStore,
        key: str,
        *,
        org: str,
        teams: bool,
        url: str = "",
        hold: float = 0.0,
        reset: bool = False,
        legacy_key: str | None = None,
    ) -> None:
        self.store = store
        self.legacy_key = legacy_key
        self.key = key
        self.org = org
        self.teams = teams
        self.url = url
        self.hold = hold
        self.reset = reset
        self.loaded = False
        self.lease: CheckpointLease | None = None
        #: The members at the last poll (``None`` before the first).
        self.snapshot: dict[MemberId, MemberState] | None = None
        #: How many snapshots were saved: the ids of the events *from* this one use it.
        self.rev = 0
        #: This checkpoint's random name (``""`` for one saved before epochs existed).
        self.epoch = new_epoch()
        #: The epoch saved with the current batch (``None``: a batch from before epochs).
        self._batch_epoch: str | None = None
        #: Events of the current batch handed out so far.
        self.delivered = 0
        self._saved_delivered = 0

    @property
    def where(self) -> str:
        """Where the store keeps the checkpoint (a path, a Redis key), for messages."""
        where = getattr(self.store, "where", None)
        return str(where(self.key)) if callable(where) else repr(self.key)

    @property
    def unsaved(self) -> int:
        """Events handed out since the cursor was last saved."""
        return self.delivered - self._saved_delivered

    async def load(self) -> list[MemberEvent]:
        """Take the key's lease and read the checkpoint (once): the batch not yet handed out.

        :class:`~.errors.CheckpointBusyError` when another watcher holds the
        key (try again later); :class:`~.errors.CheckpointCorruptError` when
        the stored checkpoint is unreadable. Either way nothing is held after.
        """
        if self.loaded:
            return []
        lease = await lease_of(self.store, self.key, hold=self.hold)
        try:
            raw = await lease.load(self.key)
            cursor = await lease.load(self.key + ":cursor")
            legacy = raw is None and self.legacy_key is not None and not self.reset
            if legacy and self.legacy_key is not None:
                raw = await self.store.load(self.legacy_key)
                cursor = await self.store.load(self.legacy_key + ":cursor")
            batch = [] if raw is None or self.reset else self._read(raw, cursor)
            if legacy and raw is not None:  # read well: copy it over, once
                await lease.save(self.key, raw)
                if cursor is not None:
                    await lease.save(self.key + ":cursor", cursor)
        except BaseException:
            await lease.release()
            raise
        self.lease, self.loaded = lease, True
        return batch

    def _corrupt(self, why: str) -> CheckpointCorruptError:
        return CheckpointCorruptError(
            f"the checkpoint {self.where} is unreadable ({why}): start a new baseline with "
            "reset=True (CLI: --reset), or move it away",
            key=self.key,
            where=self.where,
        )

    def _read(self, raw: bytes, cursor: bytes | None) -> list[MemberEvent]:
        try:
            data = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise self._corrupt(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise self._corrupt("not a member-watch checkpoint")
        self._check_owner(data)
        try:
            rev = int(data["rev"])
            snapshot = {MemberId(r["id"]): MemberState.from_json(r) for r in data["members"]}
            batch = [MemberEvent.from_json(e) for e in data["pending"]]
            epoch = data.get("epoch")
            if epoch is not None and not isinstance(epoch, str):
                raise TypeError("epoch is not a string")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt(f"{type(exc).__name__}: {exc}") from None
        self.rev, self.snapshot = rev, snapshot
        # A checkpoint from before epochs: its batch keeps its ids, later ones get an epoch.
        self.epoch = epoch if epoch else new_epoch()
        self._batch_epoch = epoch
        self.delivered = self._saved_delivered = self._delivered(cursor, epoch, len(batch))
        return batch[self.delivered :]

    def _check_owner(self, data: dict[str, Any]) -> None:
        theirs = data.get("url")
        if data.get("org") == self.org and (theirs is None or not self.url or theirs == self.url):
            return
        raise CheckpointError(
            f"the checkpoint {self.where} is a member-watch checkpoint of {data.get('org')!r}"
            f"{f' on {theirs}' if theirs else ''}, not of {self.org!r}"
            f"{f' on {self.url}' if self.url else ''}: give this watcher its own key",
            key=self.key,
            where=self.where,
        )

    def _delivered(self, raw: bytes | None, epoch: object, batch: int) -> int:
        """How many of the batch the cursor says were handed out (0: another batch's)."""
        if raw is None:
            return 0
        try:
            cursor = json.loads(raw)
            if cursor.get("rev") != self.rev or cursor.get("epoch") != epoch:
                return 0  # the cursor of another batch: none of this one was handed out
            return min(max(0, int(cursor.get("delivered", 0))), batch)
        except (ValueError, TypeError, AttributeError) as exc:
            raise self._corrupt(f"its cursor: {type(exc).__name__}: {exc}") from None

    def _held(self) -> CheckpointLease:
        if self.lease is None:
            raise CheckpointError(
                "the checkpoint was not loaded", key=self.key, where=self.where
            )  # pragma: no cover - the watcher loads first
        return self.lease

    async def save(self, snapshot: dict[MemberId, MemberState], events: list[MemberEvent]) -> None:
        """The next revision: ``snapshot`` and its ``events``, none handed out yet."""
        rev = self.rev + 1
        data: dict[str, Any] = {
            "format": _FORMAT,
            "org": self.org,
            "url": self.url or None,
            "teams": self.teams,
            "epoch": self.epoch,
            "rev": rev,
            "saved_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "members": [snapshot[m].to_json() for m in sorted(snapshot, key=id_key)],
            "pending": [event.to_json() for event in events],
        }
        await self._held().save(self.key, json.dumps(data, separators=(",", ":")).encode())
        self.snapshot, self.rev, self._batch_epoch = snapshot, rev, self.epoch
        self.delivered = self._saved_delivered = 0

    async def save_cursor(self) -> None:
        """Save how many events of the batch were handed out (when that changed)."""
        if not self.unsaved:
            return
        data = {"epoch": self._batch_epoch, "rev": self.rev, "delivered": self.delivered}
        await self._held().save(self.key + ":cursor", json.dumps(data).encode())
        self._saved_delivered = self.delivered

    async def renew(self) -> None:
        """Tell the store this watcher is alive (a poll without changes writes nothing)."""
        await self._held().renew()

    async def release(self) -> None:
        """Give the key up (after the last cursor save)."""
        if self.lease is not None:
            await self.lease.release()
