"""Link header parsing and the paginator's scheduling, sans-I/O."""

from __future__ import annotations

import asyncio

import pytest

from sentry_members_async import ValidationError
from sentry_members_async.pagination import (
    Link,
    Page,
    Paginator,
    ScimPage,
    offset_cursor,
    parse_link_header,
)

SENTRY = (
    '<https://sentry.io/api/0/organizations/acme/members/?&cursor=100:-1:1>; rel="previous"; '
    'results="false"; cursor="100:-1:1", '
    '<https://sentry.io/api/0/organizations/acme/members/?&cursor=100:1:0>; rel="next"; '
    'results="true"; cursor="100:1:0"'
)


def test_sentry_link_header() -> None:
    links = parse_link_header(SENTRY)
    assert links["previous"] == Link(
        "https://sentry.io/api/0/organizations/acme/members/?&cursor=100:-1:1",
        "previous",
        False,
        "100:-1:1",
    )
    assert links["next"].cursor == "100:1:0"
    assert links["next"].results is True


def test_tolerant_of_spacing_order_and_case() -> None:
    value = (
        '<https://x/?cursor=a>;rel=next;RESULTS="FALSE" ; cursor="a" ,'
        '   <https://x/?cursor=b> ; cursor=b; rel="prev"'
    )
    links = parse_link_header(value)
    assert links["next"] == Link("https://x/?cursor=a", "next", False, "a")
    assert links["prev"] == Link("https://x/?cursor=b", "prev", None, "b")


@pytest.mark.parametrize("value", [None, "", "garbage", "<unterminated", '<x>; results="true"'])
def test_malformed_headers_give_no_links(value: str | None) -> None:
    assert parse_link_header(value) == {}


def test_offset_cursor() -> None:
    assert offset_cursor("100:7:0") == (100, 7)
    assert offset_cursor("100:7:1") is None
    assert offset_cursor("1700000000000:0:0") == (1700000000000, 0)
    assert offset_cursor("abc") is None
    assert offset_cursor(None) is None


async def test_sequential_cursors_are_followed() -> None:
    calls: list[str | None] = []

    async def fetch(cursor: str | None) -> Page[int]:
        calls.append(cursor)
        pages = {None: ([1, 2], "v:1"), "v:1": ([3], "v:2"), "v:2": ([4], None)}
        items, nxt = pages[cursor]
        return Page(items, nxt)

    assert await Paginator(cursor_fetch=fetch, page_size=2).collect() == [1, 2, 3, 4]
    assert calls == [None, "v:1", "v:2"]


async def test_offset_cursors_fan_out_and_keep_order() -> None:
    in_flight = 0
    peak = 0
    total_pages = 20

    async def fetch(cursor: str | None) -> Page[int]:
        nonlocal in_flight, peak
        page = 0 if cursor is None else int(cursor.split(":")[1])
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * ((page * 7) % 5))  # finish out of order
        in_flight -= 1
        items = [page * 10 + i for i in range(10)] if page < total_pages else []
        nxt = f"10:{page + 1}:0" if page + 1 < total_pages else None
        return Page(items, nxt)

    paginator = Paginator(cursor_fetch=fetch, page_size=10, prefetch=5)
    assert await paginator.collect() == list(range(200))
    assert 2 <= peak <= 5  # the window opens 2, 4, 5 as pages come back
    assert paginator.pages_fetched == 20


async def test_scim_fan_out() -> None:
    starts: list[int] = []

    async def fetch(start: int, count: int) -> ScimPage[int]:
        starts.append(start)
        items = list(range(start, min(start + count, 24)))
        return ScimPage(items, 23, start)

    assert await Paginator(scim_fetch=fetch, page_size=5, prefetch=3).collect() == list(
        range(1, 24)
    )
    assert starts == [1, 6, 11, 16, 21]


@pytest.mark.parametrize(
    "kwargs", [{"page_size": 0}, {"page_size": -1}, {"prefetch": 0}, {"limit": -1}]
)
def test_bad_arguments(kwargs: dict[str, int]) -> None:
    async def fetch(cursor: str | None) -> Page[int]:
        raise AssertionError

    with pytest.raises(ValidationError):
        Paginator(cursor_fetch=fetch, **kwargs)  # type: ignore[arg-type]
