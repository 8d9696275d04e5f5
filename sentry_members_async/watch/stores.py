"""Where a watcher keeps its checkpoint: bytes under a key, in a file, in Redis or in memory.

The watcher writes one checkpoint (its snapshot and the events not yet handed
out) and a small cursor (how many of them were handed out) per key; a store
needs only ``load`` and ``save``, so any key-value store can serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigurationError

__all__ = ["CheckpointStore", "FileStore", "MemoryStore", "RedisStore", "default_state_dir"]


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
