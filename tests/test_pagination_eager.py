"""``eager``: the first ``prefetch`` pages go out together, before the first answer."""

from __future__ import annotations

import asyncio

import pytest

from sentry_members_async import SentryClient
from sentry_members_async.pagination import Page, Paginator
from sentry_members_async.testing import SentryEmulator


class FakeList:
    """A list of ``total`` ints served in pages of 2, with a chosen cursor scheme."""

    def __init__(self, total: int, *, offset_cursors: bool = True) -> None:
        self.total = total
        self.offset_cursors = offset_cursors
        self.requested: list[str | None] = []
        self.first_answered = asyncio.Event()
        self.asked_before_first_answer: list[str | None] = []

    def _index(self, cursor: str | None) -> int:
        if cursor is None:
            return 0
        if cursor.startswith("opaque-"):
            return int(cursor.removeprefix("opaque-"))
        return int(cursor.split(":")[1])

    async def fetch(self, cursor: str | None) -> Page[int]:
        self.requested.append(cursor)
        index = self._index(cursor)
        if cursor is None:
            await asyncio.sleep(0.01)  # every guessed page is sent while this one waits
            self.asked_before_first_answer = list(self.requested)
            self.first_answered.set()
        start = index * 2
        items = list(range(start, min(start + 2, self.total)))
        more = start + 2 < self.total
        following = index + 1
        nxt = (
            (f"2:{following}:0" if self.offset_cursors else f"opaque-{following}") if more else None
        )
        return Page(items, nxt)


async def test_eager_sends_the_first_prefetch_pages_before_the_first_answer() -> None:
    source = FakeList(40)
    paginator = Paginator(cursor_fetch=source.fetch, page_size=2, prefetch=5, eager=True)
    assert await paginator.collect() == list(range(40))
    assert source.asked_before_first_answer == [None, "2:1:0", "2:2:0", "2:3:0", "2:4:0"]
    assert sorted(source.requested, key=source._index) == [None] + [
        f"2:{k}:0" for k in range(1, 20)
    ]


async def test_without_eager_the_first_page_goes_alone() -> None:
    source = FakeList(40)
    paginator = Paginator(cursor_fetch=source.fetch, page_size=2, prefetch=5)
    assert await paginator.collect() == list(range(40))
    assert source.asked_before_first_answer == [None]


async def test_a_wrong_guess_is_dropped_and_the_real_cursors_followed() -> None:
    source = FakeList(7, offset_cursors=False)
    paginator = Paginator(cursor_fetch=source.fetch, page_size=2, prefetch=4, eager=True)
    assert await paginator.collect() == [0, 1, 2, 3, 4, 5, 6]  # nothing doubled, nothing lost
    assert source.asked_before_first_answer == [None, "2:1:0", "2:2:0", "2:3:0"]
    assert source.requested[4:] == ["opaque-1", "opaque-2", "opaque-3"]


async def test_a_one_page_list_yields_its_page_once() -> None:
    source = FakeList(2)
    paginator = Paginator(cursor_fetch=source.fetch, page_size=2, prefetch=4, eager=True)
    assert await paginator.collect() == [0, 1]
    await paginator.aclose()
    assert source.asked_before_first_answer == [None, "2:1:0", "2:2:0", "2:3:0"]


@pytest.mark.parametrize(("limit", "guessed"), [(2, []), (3, ["2:1:0"]), (100, ["2:1:0", "2:2:0"])])
async def test_limit_bounds_the_guess(limit: int, guessed: list[str]) -> None:
    source = FakeList(40)
    paginator = Paginator(
        cursor_fetch=source.fetch, page_size=2, prefetch=3, eager=True, limit=limit
    )
    assert await paginator.collect() == list(range(min(limit, 40)))
    assert source.asked_before_first_answer == [None, *guessed]


async def test_members_list_eager_against_the_emulator() -> None:
    emu = SentryEmulator(seed=3)
    emu.add_org("acme")
    emu.add_members("acme", 549)
    token = emu.add_token("acme")
    async with (
        emu.serve() as url,
        SentryClient(token, base_url=url) as client,
    ):
        members = [m async for m in client.org("acme").members.list(eager=True, prefetch=8)]
    assert len(members) == 550
    assert len({m.id for m in members}) == 550
    cursors = [dict(r.params).get("cursor") for r in emu.requests]  # in order of completion
    assert cursors.count(None) == 1
    pages = sorted(int(c.split(":")[1]) for c in cursors if c)
    # 6 pages of 100 (indices 0-5); each page asked for once; the window of 8 may
    # have sent up to 8 pages past the last one before its answer came back.
    assert pages == list(range(1, pages[-1] + 1))
    assert 5 <= pages[-1] <= 5 + 8
