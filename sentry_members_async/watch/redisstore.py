"""Checkpoints in Redis: :class:`RedisStore` (extra ``redis``), held with a fenced lease.

A watcher holds its key with a lease: ``<key>:lease`` set to a random token
with a time limit (``SET NX PX``), renewed at every poll and every write. A
second watcher on the key refuses to start while the lease runs. Every save
is one Lua script (atomic in Redis): it writes only while the lease is this
watcher's (or ran out with nobody writing since) and ``<key>:version``, a
counter bumped by every write, is still the one this watcher last saw; else
nothing is written and the watcher stops. A watcher that dies without
closing holds its key until the lease runs out (``lease_ttl``, or longer when
the watcher's interval is longer).
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from ..errors import ConfigurationError
from .errors import CheckpointBusyError, CheckpointConflictError
from .stores import CheckpointLease, sub_key

__all__ = ["RedisStore"]

# KEYS: lease, version. ARGV: token, ttl ms, the version last seen ('' before any).
# Returns nil when the lease is (again) this holder's, else a reply for the caller.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'busy', redis.call('PTTL', KEYS[1])} end
if not holder and ARGV[3] ~= '' and (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then
  return {'conflict'}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return nil
"""
_FENCE = (
    "local function hold()" + _HOLD + "end\nlocal held = hold()\nif held then return held end\n"
)
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'ok', redis.call('GET', KEYS[2]) or '0'}
end
return {'busy', redis.call('PTTL', KEYS[1])}
"""
# KEYS: lease, version, data.
_LOAD = _FENCE + "return {'ok', redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3])}"
# KEYS: lease, version, data. ARGV[4]: the bytes.
_SAVE = (
    _FENCE
    + """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return {'conflict'} end
redis.call('SET', KEYS[3], ARGV[4])
return {'ok', tostring(redis.call('INCR', KEYS[2]))}
"""
)
_RENEW = _FENCE + "return {'ok'}"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return {'ok'}
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    return value.encode() if isinstance(value, str) else bytes(value)


class _RedisLease:
    def __init__(self, store: RedisStore, key: str, token: str, ttl_ms: int, seen: str) -> None:
        self.store = store
        self.key = key
        self.token = token
        self.ttl_ms = ttl_ms
        self.seen = seen
        self.released = False
        base = store.prefix + key
        self._fence = [base + ":lease", base + ":version"]

    def _refused(self, reply: list[Any], *, starting: bool = False) -> Exception:
        where = self.store.prefix + self.key
        if _text(reply[0]) == "busy":
            left = max(0, int(reply[1])) / 1000 if len(reply) > 1 else 0.0
            what = "holds" if starting else "took"
            then = (
                "run one watcher per key, or give this one its own key"
                if starting
                else ("this one stops")
            )
            return CheckpointBusyError(
                f"another watcher {what} the checkpoint {where} (its lease runs "
                f"{left:.0f} s more): {then}",
                key=self.key,
                where=where,
            )
        return CheckpointConflictError(
            f"the checkpoint {where} changed under this watcher (its lease ran out and "
            "another watcher wrote): nothing was written over it",
            key=self.key,
            where=where,
        )

    async def _run(self, script: Any, keys: list[str], *args: Any) -> list[Any]:
        if self.released:
            raise CheckpointBusyError(
                f"the lease of the checkpoint {self.key!r} was given up",
                key=self.key,
                where=self.store.prefix + self.key,
            )
        reply = list(await script(keys=keys, args=[self.token, self.ttl_ms, self.seen, *args]))
        if _text(reply[0]) != "ok":
            raise self._refused(reply)
        return reply

    async def load(self, key: str) -> bytes | None:
        data_key = self.store.prefix + sub_key(self.key, key)
        reply = await self._run(self.store.scripts["load"], [*self._fence, data_key])
        self.seen = _text(reply[1])
        return _bytes(reply[2]) if len(reply) > 2 else None

    async def save(self, key: str, data: bytes) -> None:
        data_key = self.store.prefix + sub_key(self.key, key)
        reply = await self._run(self.store.scripts["save"], [*self._fence, data_key], data)
        self.seen = _text(reply[1])

    async def renew(self) -> None:
        await self._run(self.store.scripts["renew"], self._fence)

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        await self.store.scripts["release"](keys=self._fence[:1], args=[self.token])


class RedisStore:
    """Checkpoints in Redis (extra ``redis``): ``RedisStore("redis://localhost:6379/0")``.

    Takes a URL or a ``redis.asyncio.Redis`` client (then the caller closes
    it). A watcher holds its key with a lease of at least ``lease_ttl``
    seconds, renewed at each poll: a watcher on another host takes over once
    the holder closed, or once its lease ran out (it died).
    """

    def __init__(
        self, redis: Any, *, prefix: str = "sentry-members:watch:", lease_ttl: float = 120.0
    ) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - the extra is installed in CI
            raise ConfigurationError(
                "RedisStore needs the redis extra: pip install 'sentry-members-async[redis]'"
            ) from None
        if isinstance(lease_ttl, bool) or not isinstance(lease_ttl, int | float):
            raise ConfigurationError("lease_ttl must be a number of seconds")
        if not math.isfinite(lease_ttl) or lease_ttl < 1:
            raise ConfigurationError("lease_ttl must be at least 1 second")
        if isinstance(redis, str):
            self._redis = aioredis.Redis.from_url(redis)
            self._owns = True
        else:
            self._redis = redis
            self._owns = False
        self.prefix = prefix
        self.lease_ttl = float(lease_ttl)
        self.scripts = {
            name: self._redis.register_script(source)
            for name, source in (
                ("acquire", _ACQUIRE),
                ("load", _LOAD),
                ("save", _SAVE),
                ("renew", _RENEW),
                ("release", _RELEASE),
            )
        }

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r}, lease_ttl={self.lease_ttl})"

    def where(self, key: str) -> str:
        """Where ``key`` is kept (for messages): its Redis key."""
        return self.prefix + key

    async def load(self, key: str) -> bytes | None:
        return _bytes(await self._redis.get(self.prefix + key))

    async def save(self, key: str, data: bytes) -> None:
        await self._redis.set(self.prefix + key, data)

    async def lease(self, key: str, *, hold: float = 0.0) -> CheckpointLease:
        """Take the lease of ``key`` (:class:`~.errors.CheckpointBusyError` while it is held)."""
        ttl_ms = max(1000, math.ceil(max(self.lease_ttl, hold) * 1000))
        token = secrets.token_hex(16)
        base = self.prefix + key
        reply = list(
            await self.scripts["acquire"](
                keys=[base + ":lease", base + ":version"], args=[token, ttl_ms]
            )
        )
        lease = _RedisLease(self, key, token, ttl_ms, "")
        if _text(reply[0]) != "ok":
            raise lease._refused(reply, starting=True)
        lease.seen = _text(reply[1])
        return lease

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()
