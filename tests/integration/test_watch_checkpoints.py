"""The watcher's checkpoint when things go wrong (issue 26 #9; review findings 11, 13, 14, 16).

Ids unique after a reset, no event dropped by a failed cursor save, a corrupt
checkpoint named with the way out, one checkpoint per Sentry (scheme, host,
port and path prefix), and a checkpoint written under a watcher refused.
"""

from __future__ import annotations

import errno
import json
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from sentry_members_async import MemberId, Org, SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.transports import MemoryTransport
from sentry_members_async.transports.base import Request, Response
from sentry_members_async.watch import (
    CheckpointCorruptError,
    CheckpointError,
    FileStore,
    MemberWatch,
    MemoryStore,
    WatchOptions,
)


@pytest.fixture
async def served() -> AsyncIterator[tuple[SentryEmulator, Org]]:
    emu = SentryEmulator(seed=5, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 12, pending_ratio=0.0, roles={"member": 1.0})
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        yield emu, client.org("acme")


def a_member(emu: SentryEmulator) -> MemberId:
    row = next(m for m in emu.members("acme") if m["role"] == "member")
    return MemberId(str(row["id"]))


async def test_event_ids_stay_unique_after_the_checkpoint_is_lost_or_reset(
    served: tuple[SentryEmulator, Org], tmp_path: Path
) -> None:
    """Review #11: a consumer deduplicating on ``id`` must never drop a new change."""
    emu, acme = served
    ann = a_member(emu)
    ids: list[str] = []
    for life, role in enumerate(("manager", "member", "manager")):
        # life 0 and 1: a new store each (a lost checkpoint); life 2: reset=True over life 1's
        store = FileStore(tmp_path / ("one" if life == 0 else "two"))
        if life < 2:
            watch = acme.members.watch(store=store, budget=None)
        else:
            assert ids[0] != ids[1]  # a lost checkpoint: revisions start again, ids do not
            watch = MemberWatch(acme, WatchOptions(store=store, budget=None, reset=True))
        assert await watch.poll() == []  # the baseline
        await acme.members.update(ann, role=role)
        (event,) = [e for e in await watch.poll() if e.kind == "role_changed"]
        assert event.member_id == ann
        ids.append(event.id)
        await watch.aclose()
    assert len(set(ids)) == 3, ids  # same member, kind and revision: three ids


class FullDisk(MemoryStore):
    """The checkpoint write works, then the small cursor write fails once (ENOSPC)."""

    fail_cursor = 0

    async def save(self, key: str, data: bytes) -> None:
        if key.endswith(":cursor") and self.fail_cursor:
            self.fail_cursor -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        await super().save(key, data)


async def test_a_failed_cursor_save_gives_the_events_at_the_next_poll(
    served: tuple[SentryEmulator, Org],
) -> None:
    """Review #13: the bot retries ``poll()``; the events come with the retry, once."""
    _, acme = served
    store = FullDisk()
    watch = acme.members.watch(store=store, budget=None)
    await watch.poll()
    await acme.members.invite("ann@newco.example.com")
    await acme.members.invite("bob@newco.example.com")
    store.fail_cursor = 1
    with pytest.raises(OSError, match="No space left"):
        await watch.poll()
    assert watch.stats.events == 0
    events = await watch.poll()
    assert [(e.kind, e.email) for e in events] == [
        ("invited", "ann@newco.example.com"),
        ("invited", "bob@newco.example.com"),
    ]
    assert await watch.poll() == []
    await watch.aclose()
    # ... and the store says they were delivered: a restart hands out nothing again
    again = acme.members.watch(store=store, budget=None)
    assert await again.poll() == []
    await again.aclose()


async def test_a_corrupt_checkpoint_names_its_file_and_reset_starts_over(
    served: tuple[SentryEmulator, Org], tmp_path: Path
) -> None:
    """Review #14: never a JSONDecodeError, never a silent new baseline."""
    _, acme = served
    store = FileStore(tmp_path)
    first = acme.members.watch(store=store, budget=None)
    await first.poll()
    await first.aclose()
    path = store.path(first.key)
    good = path.read_bytes()
    wrong_shapes = [
        (good[: len(good) // 2], "not JSON"),
        (b"[1, 2]", "not a member-watch checkpoint"),
        (json.dumps({**json.loads(good), "members": [{"nope": 1}]}).encode(), "KeyError"),
        (json.dumps({**json.loads(good), "rev": "x"}).encode(), "ValueError"),
    ]
    for damaged, why in wrong_shapes:
        path.write_bytes(damaged)
        for _ in range(2):  # the same error every time (nothing was written over it)
            watch = acme.members.watch(store=store, budget=None)
            with pytest.raises(CheckpointCorruptError) as caught:
                await watch.poll()
            await watch.aclose()
            message = str(caught.value)
            assert message.startswith(f"the checkpoint {path} is unreadable ({why}")
            assert "reset=True (CLI: --reset)" in message
            assert "\n" not in message
            assert caught.value.where == str(path)
            assert path.read_bytes() == damaged
    fresh = acme.members.watch(store=store, budget=None, reset=True)  # what the message says
    assert await fresh.poll() == []  # a new baseline, written over the damaged file
    await acme.members.invite("after@newco.example.com")
    assert [e.email for e in await fresh.poll()] == ["after@newco.example.com"]
    await fresh.aclose()


async def test_the_default_key_tells_two_sentrys_on_one_host_apart(tmp_path: Path) -> None:
    """Review #16: ``https://sentry.corp.example/eu`` and ``/us`` (and ``http://``) differ."""
    emus: dict[str, tuple[SentryEmulator, str]] = {}
    for i, prefix in enumerate(("eu", "us")):
        emu = SentryEmulator(seed=10 + i, rate_limit=None)
        emu.add_org("acme")
        emu.add_members("acme", 50, pending_ratio=0.0)
        emus[prefix] = (emu, emu.add_token("acme"))

    async def route(request: Request) -> Response:
        prefix, _, rest = request.url.path.lstrip("/").partition("/")
        emu, _ = emus[prefix]
        return await emu.handle(attrs.evolve(request, url=request.url.with_path("/" + rest)))

    keys = []
    for run in range(2):
        for prefix in ("eu", "us"):
            _, token = emus[prefix]
            base = f"https://sentry.corp.example/{prefix}"
            async with SentryClient(token, base_url=base, transport=MemoryTransport(route)) as c:
                watch = c.org("acme").members.watch(store=FileStore(tmp_path), budget=None)
                async with watch:
                    assert await watch.poll() == [], (run, prefix)  # nothing changed anywhere
                keys.append(watch.key)
    assert keys[:2] == [
        "watch:https://sentry.corp.example/eu:acme:members",
        "watch:https://sentry.corp.example/us:acme:members",
    ]
    assert keys[2:] == keys[:2]
    async with SentryClient("t", base_url="http://localhost:9000/eu/") as plain:
        insecure = plain.org("acme").members.watch(teams=True)
        assert insecure.key == "watch:http://localhost:9000/eu:acme:teams"


async def test_one_key_given_to_two_sentrys_is_refused(tmp_path: Path) -> None:
    """A ``key=`` shared by watchers of two Sentrys: the second is told, nothing is diffed."""
    store = FileStore(tmp_path)
    for i, port in enumerate((18001, 18002)):
        emu = SentryEmulator(seed=i, rate_limit=None)
        emu.add_org("acme")
        emu.add_members("acme", 5, pending_ratio=0.0)
        base = f"http://127.0.0.1:{port}"
        client = SentryClient(emu.add_token("acme"), base_url=base, transport=emu.transport())
        async with client:
            watch = client.org("acme").members.watch(store=store, key="one-key", budget=None)
            if i == 0:
                assert await watch.poll() == []
            else:
                with pytest.raises(CheckpointError, match="give this watcher its own key"):
                    await watch.poll()
            await watch.aclose()


async def test_the_checkpoint_under_an_older_default_key_is_taken_over_once(
    served: tuple[SentryEmulator, Org], tmp_path: Path
) -> None:
    """Upgrading changes the default key (#16): the old checkpoint is copied, nothing is lost."""
    _, acme = served
    url = acme.client.base_url
    legacy = f"watch:{url.host}:{url.port}:acme:members"  # host and port only, as before
    store = FileStore(tmp_path)
    old = acme.members.watch(store=store, key=legacy, budget=None, interval=0)
    await old.poll()
    await acme.members.invite("one@newco.example.com")
    await acme.members.invite("two@newco.example.com")
    async for event in old:  # one of the batch of two handed out, then the old release stops
        assert event.email == "one@newco.example.com"
        break
    await old.aclose()
    # what an older release wrote: no epoch, no URL, a cursor without an epoch
    data = json.loads(store.path(legacy).read_bytes())
    del data["epoch"], data["url"]
    store.path(legacy).write_text(json.dumps(data))
    cursor = json.loads(store.path(legacy + ":cursor").read_bytes())
    del cursor["epoch"]
    store.path(legacy + ":cursor").write_text(json.dumps(cursor))

    await acme.members.invite("three@newco.example.com")  # while the upgrade happens
    new = acme.members.watch(store=store, budget=None)
    assert new.key == f"watch:http://{url.host}:{url.port}:acme:members"
    got = [e.email for e in await new.poll()]
    assert got == ["two@newco.example.com", "three@newco.example.com"]
    await new.aclose()
    again = acme.members.watch(store=store, budget=None)
    assert await again.poll() == []
    await again.aclose()
