"""Two watchers on one checkpoint key (issue 26 #1): never a lost event.

An interactive ``sentry-members members watch`` and a cron ``members watch
--once`` on one host share the default key; a Redis checkpoint is shared by
every host that may take a watcher over. The second watcher on a held key
must refuse to start (:class:`CheckpointBusyError`), or every event must be
delivered exactly once across the two; never may one be lost.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sentry_members_async import MemberEvent, MemberId, MemberWatch, Org, SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.watch import (
    CheckpointBusyError,
    CheckpointConflictError,
    CheckpointStore,
    FileStore,
    MemoryStore,
    RedisStore,
)

REDIS = shutil.which("redis-server")
#: The ports this suite's redis-server may take (the first free one).
REDIS_PORTS = range(27410, 27420)


def _free_port() -> int:
    for port in REDIS_PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {REDIS_PORTS}")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if REDIS is None:
        pytest.skip("redis-server is not installed (.ci/run installs it with apt-get)")
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
async def acme() -> AsyncIterator[tuple[SentryEmulator, Org]]:
    emu = SentryEmulator(seed=26, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 30, pending_ratio=0.0)
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        yield emu, client.org("acme")


STORES = ("file", "redis", "memory")


@pytest.fixture(params=STORES)
def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[CheckpointStore, CheckpointStore]]:
    """Two store objects on one place, as two processes would have."""
    kind = request.param
    if kind == "file":
        yield FileStore(tmp_path), FileStore(tmp_path)
    elif kind == "memory":
        one = MemoryStore()
        yield one, one
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"t{time.monotonic_ns()}:"
        yield RedisStore(url, prefix=prefix), RedisStore(url, prefix=prefix)


async def _close(*stores: CheckpointStore) -> None:
    for store in stores:
        if isinstance(store, RedisStore):
            await store.aclose()


async def _poll(watch: MemberWatch, got: list[MemberEvent]) -> bool:
    """One poll: its events into ``got``; False when the watcher refused (held key)."""
    try:
        got.extend(await watch.poll())
    except CheckpointBusyError:
        return False
    return True


async def test_two_watchers_for_30_polls_deliver_every_event_exactly_once(
    acme: tuple[SentryEmulator, Org], stores: tuple[CheckpointStore, CheckpointStore]
) -> None:
    emu, org = acme
    one, two = stores
    a = org.members.watch(store=one, budget=None, interval=0)
    b = org.members.watch(store=two, budget=None, interval=0)
    assert a.key == b.key  # the default key: what a cron run and a daemon share
    got: list[MemberEvent] = []
    expected: Counter[tuple[str, str]] = Counter()
    seen = {m["email"] for m in emu.members("acme")}

    async def poll(watch: MemberWatch) -> bool:
        """A poll; when it ran, what it must have reported: the change since the last one."""
        nonlocal seen
        if not await _poll(watch, got):
            return False
        now = {m["email"] for m in emu.members("acme")}
        expected.update(("invited", email) for email in now - seen)
        expected.update(("removed", email) for email in seen - now)
        seen = now
        return True

    assert await poll(a)  # the baseline
    assert not expected
    refused = 0
    previous = None
    for i in range(30):
        member = await org.members.invite(f"c{i}@newco.example.com")
        if previous is not None and i % 3 == 0:  # now and then an invite revoked again
            await org.members.remove(MemberId(previous.id))
        previous = member
        if not await poll(a if i % 2 else b):
            refused += 1
    assert await poll(a)
    await a.aclose()
    # the key is free again once the holder closed: the other watcher takes over
    await org.members.invite("last@newco.example.com")
    assert await poll(b)
    await b.aclose()
    await _close(one, two)
    assert refused in (0, 15)  # the second watcher refused every time, or never
    assert Counter((e.kind, e.email) for e in got) == expected
    # 31 invites and 9 revocations; when B refused, A never saw 5 invites revoked
    # before its next poll
    assert sum(expected.values()) == (30 if refused else 40)
    assert len({e.id for e in got}) == len(got)


async def test_a_watcher_that_died_mid_batch_loses_nothing_to_the_next(
    acme: tuple[SentryEmulator, Org], stores: tuple[CheckpointStore, CheckpointStore]
) -> None:
    """The review's reproduction: A delivers, B (stale) writes over it and dies, A restarts."""
    _, org = acme
    one, two = stores
    a = org.members.watch(store=one, budget=None, interval=0)
    b = org.members.watch(store=two, budget=None, interval=0)
    got: list[MemberEvent] = []
    assert await _poll(a, got)
    b_started = await _poll(b, got)
    x = [await org.members.invite(f"x{i}@newco.example.com") for i in range(3)]
    assert await _poll(a, got)
    for member in x:
        await org.members.remove(MemberId(member.id))
    await org.members.invite("y1@newco.example.com")
    if b_started:
        got.append(await b.__anext__())  # B hands y1 out ...
    del b  # ... and its host dies: no aclose, no cursor save
    gc.collect()
    await a.aclose()
    a2 = org.members.watch(store=one, budget=None, interval=0)
    assert await _poll(a2, got)
    assert await _poll(a2, got)
    await a2.aclose()
    await _close(one, two)
    seen = Counter((e.kind, e.email) for e in got)
    wanted = [("invited", f"x{i}@newco.example.com") for i in range(3)]
    wanted += [("removed", f"x{i}@newco.example.com") for i in range(3)]
    wanted += [("invited", "y1@newco.example.com")]
    # never lost; a repeat (a batch handed out but not confirmed) carries the same id
    assert set(seen) == set(wanted), seen
    by_id: dict[str, tuple[str, str]] = {}
    for e in got:
        assert by_id.setdefault(e.id, (e.kind, e.email)) == (e.kind, e.email)
    assert len(by_id) == len(wanted)


async def test_a_redis_lease_that_ran_out_is_fenced(
    acme: tuple[SentryEmulator, Org], redis_url: str
) -> None:
    """A's lease runs out (deleted here, as its time limit would); B takes over and writes.

    A's next write is refused: while B holds the key (busy), and after B
    closed (the version moved: conflict). Nothing A wrote lands over B's.
    """
    import redis.asyncio as aioredis

    _, org = acme
    prefix = f"fence{time.monotonic_ns()}:"
    raw = aioredis.Redis.from_url(redis_url)
    one, two = RedisStore(raw, prefix=prefix), RedisStore(raw, prefix=prefix)
    a = org.members.watch(store=one, budget=None)
    assert await a.poll() == []
    await raw.delete(prefix + a.key + ":lease")  # A's lease ran out
    b = org.members.watch(store=two, budget=None)
    assert await b.poll() == []  # B takes the key over
    await org.members.invite("p@newco.example.com")
    assert [e.email for e in await b.poll()] == ["p@newco.example.com"]
    stored = await raw.get(prefix + a.key)
    await org.members.invite("q@newco.example.com")
    with pytest.raises(CheckpointBusyError, match="another watcher took the checkpoint"):
        await a.poll()
    await b.aclose()
    with pytest.raises(CheckpointConflictError, match="changed under this watcher"):
        await a.poll()
    assert await raw.get(prefix + a.key) == stored  # A wrote nothing over B's checkpoint
    await a.aclose()
    c = org.members.watch(store=RedisStore(raw, prefix=prefix), budget=None)
    assert [e.email for e in await c.poll()] == ["q@newco.example.com"]  # B's, then q
    await c.aclose()
    await raw.aclose()


async def test_a_checkpoint_file_replaced_under_its_holder_is_not_written_over(
    acme: tuple[SentryEmulator, Org], tmp_path: Path
) -> None:
    """A writer that ignores the lock (an older release, a hand edit): the holder stops."""
    _, org = acme
    store = FileStore(tmp_path)
    watch = org.members.watch(store=store, budget=None)
    assert await watch.poll() == []
    path = store.path(watch.key)
    await store.save(watch.key, path.read_bytes())  # the same bytes, a new file
    replaced = path.read_bytes()
    await org.members.invite("r@newco.example.com")
    with pytest.raises(CheckpointConflictError, match="changed under this watcher"):
        await watch.poll()
    assert path.read_bytes() == replaced
    await watch.aclose()


def test_a_second_process_on_a_held_file_key_refuses(tmp_path: Path) -> None:
    """``flock`` holds across processes: a Python child cannot lease the key either."""

    store = FileStore(tmp_path)
    child = (
        "import asyncio, sys\n"
        "from sentry_members_async.watch import CheckpointBusyError, FileStore\n"
        "async def main():\n"
        "    try:\n"
        f"        await FileStore({str(tmp_path)!r}).lease('k', hold=1)\n"
        "    except CheckpointBusyError as exc:\n"
        "        print('busy', exc)\n"
        "asyncio.run(main())\n"
    )

    async def hold_then_run() -> tuple[str, str]:
        lease = await store.lease("k", hold=1)
        held = await asyncio.to_thread(run_child)
        await lease.release()
        return held, await asyncio.to_thread(run_child)

    def run_child() -> str:
        done = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    held, free = asyncio.run(hold_then_run())
    assert held.startswith(f"busy another watcher holds the checkpoint {store.path('k')}")
    assert free == ""


async def test_a_redis_client_that_decodes_answers_works_too(
    acme: tuple[SentryEmulator, Org], redis_url: str
) -> None:
    """The caller's own client with ``decode_responses=True``: the scripts' answers are str."""
    import redis.asyncio as aioredis

    _, org = acme
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore(raw, prefix=f"decoded{time.monotonic_ns()}:")
    watch = org.members.watch(store=store, budget=None)
    assert await watch.poll() == []
    await org.members.invite("d@newco.example.com")
    assert [e.email for e in await watch.poll()] == ["d@newco.example.com"]
    with pytest.raises(CheckpointBusyError, match=r"lease runs \d+ s more"):
        await org.members.watch(store=store, budget=None).poll()
    await watch.aclose()
    again = org.members.watch(store=store, budget=None)
    assert await again.poll() == []
    await again.aclose()
    await raw.aclose()
