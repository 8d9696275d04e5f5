"""A watcher's checkpoint in Redis: a restarted watcher (another store object) resumes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from sentry_members_async import MemberId, SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.watch import RedisStore

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS is None, reason="redis-server is not installed (.ci/run installs it with apt-get)"
)


@pytest.fixture
def redis_url() -> Iterator[str]:
    assert REDIS is not None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
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


async def test_restart_from_a_redis_checkpoint(redis_url: str) -> None:
    emu = SentryEmulator(seed=3, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 40, pending_ratio=0.0)
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        store = RedisStore(redis_url)
        first = acme.members.watch(store=store)
        assert await first.poll() == []
        await first.aclose()
        await store.aclose()

        leaver = emu.members("acme")[5]
        await acme.members.remove(MemberId(str(leaver["id"])))
        await acme.members.invite("new@acme.example.com")

        store = RedisStore(redis_url)
        second = acme.members.watch(store=store)
        events = await second.poll()
        await store.aclose()
    assert [(e.kind, e.email) for e in events] == [
        ("removed", leaver["email"]),
        ("invited", "new@acme.example.com"),
    ]
