"""Checkpoints in files: :class:`FileStore`, one file per key, held with ``flock``.

A write goes to a temporary file in the same directory, is flushed to disk,
then renamed over the old file: a crash leaves the old checkpoint or the new
one, never half of one.

A watcher holds its key with an exclusive ``flock`` on ``<file>.lock``
(released when it closes, when its process dies, and when the watcher is
garbage); a second watcher, in this process or another, refuses to start.
Each save through the lease is also a revision check: the file must still be
the one the lease read or last wrote (same inode, size and modification
time: every write renames a new file in), else nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import tempfile
import weakref
from pathlib import Path

from .errors import CheckpointBusyError, CheckpointConflictError
from .stores import CheckpointLease, default_state_dir, sub_key

__all__ = ["FileStore"]

if sys.platform == "win32":  # pragma: no cover - CI runs on Linux; not tested on Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        """Lock the file's first byte, without waiting; False when another holds it."""
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        """An exclusive ``flock``, without waiting; False when another holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


#: What identifies one written version of a file (``None``: no file).
_Identity = tuple[int, int, int, int] | None


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _stat(path: Path) -> _Identity:
    try:
        return _identity(path.stat())
    except FileNotFoundError:
        return None


def _read(path: Path) -> tuple[bytes | None, _Identity]:
    try:
        with path.open("rb") as handle:
            return handle.read(), _identity(os.fstat(handle.fileno()))
    except FileNotFoundError:
        return None, None


def _write(path: Path, data: bytes) -> tuple[int, int, int, int]:
    """Write ``data`` atomically; the identity of the file now at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            written = _identity(os.fstat(handle.fileno()))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return written


class _FileLease:
    """An exclusive ``flock`` on the key's lock file, and what this holder last saw."""

    def __init__(self, store: FileStore, key: str, fd: int) -> None:
        self.store = store
        self.key = key
        self._seen: dict[str, _Identity] = {}
        # Closing the descriptor drops the lock: on release, at exit, or when
        # the watcher holding this lease is garbage (a finalizer, no warning).
        self._close = weakref.finalize(self, os.close, fd)

    def _held(self, key: str) -> Path:
        sub_key(self.key, key)
        if not self._close.alive:
            raise CheckpointBusyError(
                f"the lock of the checkpoint {self.key!r} was given up",
                key=self.key,
                where=str(self.store.path(self.key)),
            )
        return self.store.path(key)

    async def load(self, key: str) -> bytes | None:
        data, seen = await asyncio.to_thread(_read, self._held(key))
        self._seen[key] = seen
        return data

    async def save(self, key: str, data: bytes) -> None:
        path = self._held(key)

        def write() -> _Identity:
            if key in self._seen and _stat(path) != self._seen[key]:
                raise CheckpointConflictError(
                    f"the checkpoint {path} changed under this watcher (another process wrote "
                    "it while this one held its lock): nothing was written over it",
                    key=self.key,
                    where=str(path),
                )
            return _write(path, data)

        self._seen[key] = await asyncio.to_thread(write)

    async def renew(self) -> None:
        self._held(self.key)

    async def release(self) -> None:
        self._close()


class FileStore:
    """One file per key in ``directory`` (created when needed); writes are atomic.

    A watcher holds its key with an exclusive lock (``flock`` on
    ``<file>.lock``): a second watcher on the key refuses to start with
    :class:`~.errors.CheckpointBusyError`. On a network file system without
    ``flock`` use a :class:`~.redisstore.RedisStore`.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_state_dir()

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        return self.directory / f"{safe[:100]}-{digest}.json"

    def where(self, key: str) -> str:
        """Where ``key`` is kept (for messages): its file."""
        return str(self.path(key))

    async def load(self, key: str) -> bytes | None:
        data, _ = await asyncio.to_thread(_read, self.path(key))
        return data

    async def save(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(_write, self.path(key), data)

    async def lease(self, key: str, *, hold: float = 0.0) -> CheckpointLease:
        """Lock ``key`` for one watcher (:class:`~.errors.CheckpointBusyError` if locked)."""
        path = self.path(key)
        lock = path.with_suffix(".lock")

        def take() -> int:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                locked = _try_lock(fd)
            except BaseException:
                os.close(fd)
                raise
            if not locked:
                os.close(fd)
                raise CheckpointBusyError(
                    f"another watcher holds the checkpoint {path} (its lock {lock.name} is "
                    "taken): run one watcher per key, or give this one its own key",
                    key=key,
                    where=str(path),
                )
            return fd

        # Not in a thread: open and a non-blocking flock do not wait, and a cancel
        # between a thread's lock and this task must not leave a lock nobody holds.
        return _FileLease(self, key, take())
