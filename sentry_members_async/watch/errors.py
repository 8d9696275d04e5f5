"""What can go wrong with a watcher's checkpoint: held by another watcher, moved, unreadable.

Each is a :class:`~sentry_members_async.errors.ConfigurationError` (the CLI
prints one line and exits 2; ``members watch`` exits 75, "try again later",
when the key is held), raised before anything is handed out.
"""

from __future__ import annotations

from ..errors import ConfigurationError

__all__ = [
    "CheckpointBusyError",
    "CheckpointConflictError",
    "CheckpointCorruptError",
    "CheckpointError",
]


class CheckpointError(ConfigurationError):
    """The checkpoint under a key cannot be used by this watcher."""

    def __init__(self, message: str, *, key: str, where: str) -> None:
        super().__init__(message)
        #: The checkpoint's key, and where the store keeps it (a path, a Redis key).
        self.key = key
        self.where = where


class CheckpointBusyError(CheckpointError):
    """Another watcher holds the key (its lock or lease): this one refuses to start.

    Two watchers on one checkpoint would overwrite each other's snapshot and
    delivery count and lose events; run one per key, or give each its own
    ``key=``.
    """


class CheckpointConflictError(CheckpointError):
    """The checkpoint changed under this watcher (its lease ran out and another wrote).

    Nothing was written over it; the watcher stops. A new watcher resumes from
    what the store holds.
    """


class CheckpointCorruptError(CheckpointError):
    """The stored checkpoint is unreadable (torn, edited, or not a member-watch checkpoint).

    Start a new baseline with ``reset=True`` (CLI: ``--reset``), or move the
    file (the Redis key) away.
    """
