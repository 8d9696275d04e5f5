"""A watcher's checkpoint: the last snapshot, its revision, and the batch not yet handed out.

The snapshot and the events of a poll are saved together, before any event is
handed out, so a watcher that restarts emits exactly what changed while it was
down. An event counts as delivered when it is handed out; that count (the
*cursor*) is saved apart, small, at the end of each batch, every
:data:`CURSOR_EVERY` events and on close (a crash in between hands the last few
out again, with the same ids).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..errors import ConfigurationError
from ..models import MemberId
from .events import MemberEvent, MemberState, id_key
from .stores import CheckpointStore

__all__ = ["CURSOR_EVERY", "Checkpoint"]

_FORMAT = 1
#: Save the delivery count at least every this many events handed out.
CURSOR_EVERY = 100


class Checkpoint:
    """One watcher's state in a :class:`CheckpointStore` under ``key`` (and ``key:cursor``)."""

    def __init__(self, store: CheckpointStore, key: str, *, org: str, teams: bool) -> None:
        self.store = store
        self.key = key
        self.org = org
        self.teams = teams
        self.loaded = False
        #: The members at the last poll (``None`` before the first).
        self.snapshot: dict[MemberId, MemberState] | None = None
        #: How many snapshots were saved: the ids of the events *from* this one use it.
        self.rev = 0
        #: Events of the current batch handed out so far.
        self.delivered = 0
        self._saved_delivered = 0

    @property
    def unsaved(self) -> int:
        """Events handed out since the cursor was last saved."""
        return self.delivered - self._saved_delivered

    async def load(self) -> list[MemberEvent]:
        """Read the checkpoint (once): the events of its batch not yet handed out."""
        if self.loaded:
            return []
        raw = await self.store.load(self.key)
        self.loaded = True
        if raw is None:
            return []
        data = json.loads(raw)
        if data.get("format") != _FORMAT or data.get("org") != self.org:
            raise ConfigurationError(
                f"the checkpoint under {self.key!r} is not a member-watch checkpoint "
                f"of {self.org!r}"
            )
        self.rev = int(data["rev"])
        self.snapshot = {MemberId(row["id"]): MemberState.from_json(row) for row in data["members"]}
        batch = [MemberEvent.from_json(e) for e in data["pending"]]
        self.delivered = self._saved_delivered = await self._load_cursor(len(batch))
        return batch[self.delivered :]

    async def _load_cursor(self, batch: int) -> int:
        raw = await self.store.load(self.key + ":cursor")
        if raw is None:
            return 0
        cursor = json.loads(raw)
        if cursor.get("rev") != self.rev:
            return 0  # the cursor of an older batch: none of this one was handed out
        return min(int(cursor.get("delivered", 0)), batch)

    async def save(self, snapshot: dict[MemberId, MemberState], events: list[MemberEvent]) -> None:
        """The next revision: ``snapshot`` and its ``events``, none handed out yet."""
        rev = self.rev + 1
        data: dict[str, Any] = {
            "format": _FORMAT,
            "org": self.org,
            "teams": self.teams,
            "rev": rev,
            "saved_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "members": [snapshot[m].to_json() for m in sorted(snapshot, key=id_key)],
            "pending": [event.to_json() for event in events],
        }
        await self.store.save(self.key, json.dumps(data, separators=(",", ":")).encode())
        self.snapshot, self.rev = snapshot, rev
        self.delivered = self._saved_delivered = 0

    async def save_cursor(self) -> None:
        """Save how many events of the batch were handed out (when that changed)."""
        if not self.unsaved:
            return
        data = {"rev": self.rev, "delivered": self.delivered}
        await self.store.save(self.key + ":cursor", json.dumps(data).encode())
        self._saved_delivered = self.delivered
