"""Where a watcher keeps its checkpoint: bytes under a key, held by one watcher at a time.

The watcher writes one checkpoint (its snapshot and the events not yet handed
out) and a small cursor (how many of them were handed out, ``key:cursor``).
A store needs only ``load`` and ``save``, so any key-value store can serve;
the stores of this package also give a *lease* (:class:`LeasingStore`): one
watcher holds a key, and a second one on it refuses to start
(:class:`~.errors.CheckpointBusyError`) instead of overwriting the first's
snapshot and delivery count, which loses events (issue 26 #1). Each save
through a lease is also a compare-and-swap on what the lease last read or
wrote (:class:`~.errors.CheckpointConflictError` when it moved).

Here: the protocols, :class:`MemoryStore` and :func:`lease_of`; the file and
Redis stores have a module each (:mod:`.filestore`, :mod:`.redisstore`).
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Protocol, runtime_checkable

from .errors import CheckpointBusyError, CheckpointConflictError

__all__ = [
    "CheckpointLease",
    "CheckpointStore",
    "LeasingStore",
    "MemoryStore",
    "default_state_dir",
    "lease_of",
    "sub_key",
]


@runtime_checkable
class CheckpointStore(Protocol):
    """Where a watcher keeps its checkpoint: bytes under a key."""

    async def load(self, key: str) -> bytes | None: ...

    async def save(self, key: str, data: bytes) -> None: ...


class CheckpointLease(Protocol):
    """One watcher's hold on a key and its sub-keys (``key:cursor``).

    ``load`` and ``save`` read and write through the hold; ``save`` writes
    only while the lease is held and the stored value is the one this lease
    last read or wrote (else :class:`~.errors.CheckpointBusyError` or
    :class:`~.errors.CheckpointConflictError`, and nothing is written).
    """

    async def load(self, key: str) -> bytes | None: ...

    async def save(self, key: str, data: bytes) -> None: ...

    async def renew(self) -> None:
        """Say the holder is alive (a lease that runs out is renewed; a lost one raises)."""

    async def release(self) -> None:
        """Give the key up (idempotent)."""


@runtime_checkable
class LeasingStore(CheckpointStore, Protocol):
    """A store that lets one watcher at a time hold a key."""

    async def lease(self, key: str, *, hold: float) -> CheckpointLease:
        """Hold ``key``; :class:`~.errors.CheckpointBusyError` when another holder has it.

        ``hold``: the longest the holder may go between two calls on the lease
        (a lease with a time limit lasts at least that long).
        """
        ...


def sub_key(base: str, key: str) -> str:
    """``key`` when it is ``base`` or one of its sub-keys (``base:...``), else a ValueError."""
    if key != base and not key.startswith(base + ":"):
        raise ValueError(f"the lease of {base!r} does not cover {key!r}")
    return key


class _Unleased:
    """A plain store seen as a lease: no hold, no check (one watcher per key is the user's)."""

    def __init__(self, store: CheckpointStore, key: str) -> None:
        self.store = store
        self.key = key

    async def load(self, key: str) -> bytes | None:
        return await self.store.load(sub_key(self.key, key))

    async def save(self, key: str, data: bytes) -> None:
        await self.store.save(sub_key(self.key, key), data)

    async def renew(self) -> None:
        return None

    async def release(self) -> None:
        return None


async def lease_of(store: CheckpointStore, key: str, *, hold: float) -> CheckpointLease:
    """The store's lease on ``key``, or (a store without leases) a view with no hold."""
    if isinstance(store, LeasingStore):
        return await store.lease(key, hold=hold)
    return _Unleased(store, key)


class _MemoryLease:
    def __init__(self, store: MemoryStore, key: str) -> None:
        self.store = store
        self.key = key
        self.released = False
        self._seen: dict[str, int] = {}

    def _check(self, key: str) -> str:
        sub_key(self.key, key)
        if self.released:
            raise CheckpointBusyError(
                f"the lease of the checkpoint {self.key!r} was given up",
                key=self.key,
                where="memory",
            )
        return key

    # Through the store's own load and save: a subclass's (failures injected in
    # a test, say) are what the watcher meets.
    async def load(self, key: str) -> bytes | None:
        self._seen[self._check(key)] = self.store.versions.get(key, 0)
        return await self.store.load(key)

    async def save(self, key: str, data: bytes) -> None:
        version = self.store.versions.get(self._check(key), 0)
        if key in self._seen and self._seen[key] != version:
            raise CheckpointConflictError(
                f"the checkpoint {key!r} changed under this watcher", key=self.key, where="memory"
            )
        await self.store.save(key, data)
        self._seen[key] = self.store.versions.get(key, 0)

    async def renew(self) -> None:
        self._check(self.key)

    async def release(self) -> None:
        if not self.released:
            self.released = True
            if self.store.holders.get(self.key) is self:
                del self.store.holders[self.key]


class MemoryStore:
    """A checkpoint store in this process (tests; a watcher that need not survive a restart).

    One watcher at a time holds a key; a watcher that is closed, or no longer
    referenced anywhere (garbage), holds nothing.
    """

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        #: How many times each key was written.
        self.versions: dict[str, int] = {}
        self.holders: weakref.WeakValueDictionary[str, _MemoryLease] = weakref.WeakValueDictionary()

    async def load(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def save(self, key: str, data: bytes) -> None:
        self.data[key] = bytes(data)
        self.versions[key] = self.versions.get(key, 0) + 1

    async def lease(self, key: str, *, hold: float = 0.0) -> CheckpointLease:
        """Hold ``key`` in this process (:class:`~.errors.CheckpointBusyError` if held)."""
        held = self.holders.get(key)
        if held is not None and not held.released:
            raise CheckpointBusyError(
                f"another watcher in this process holds the checkpoint {key!r}",
                key=key,
                where="memory",
            )
        lease = _MemoryLease(self, key)
        self.holders[key] = lease
        return lease


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
