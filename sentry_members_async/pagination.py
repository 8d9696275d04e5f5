"""Streaming pagination: Sentry's Link-header cursors and SCIM ``startIndex`` pages.

* :func:`parse_link_header` (sans-I/O) reads Sentry's ``Link`` header,
  tolerant of spacing, order and ``rel="previous"``.
* :class:`Paginator` is an async iterator of items (``async for member in
  ...``) that also offers :meth:`Paginator.pages`, ``limit=`` and early
  ``break``. It holds at most ``prefetch`` pages. When the cursor is Sentry's
  offset cursor (``{per_page}:{page}:0``), pages are predictable, so it fetches
  up to ``prefetch`` pages concurrently (opening the window 2, 4, 8, ... so
  short lists waste nothing) and still yields in server order;
  it stops at the first page whose next link says ``results="false"`` and
  cancels what is still in flight. SCIM lists fan out by ``startIndex`` once
  ``totalResults`` is known.

Leaving the loop early (``break``), or cancelling the task, cancels in-flight
fetches: deterministically with ``async with paginator:`` or ``await
paginator.aclose()``, and at the latest when the paginator is dropped.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
)
from typing import Any, Generic, TypeVar

import attrs

from ._closing import AsyncClosing
from .errors import PaginationError, ValidationError

__all__ = [
    "Link",
    "Page",
    "Paginator",
    "ScimPage",
    "offset_cursor",
    "parse_link_header",
]

T = TypeVar("T")
P = TypeVar("P")

_LINK_SPLIT = re.compile(r",\s*(?=<)")
_PARAM = re.compile(r';\s*([A-Za-z][\w.-]*)\s*=\s*(?:"([^"]*)"|([^;,\s]*))')
_OFFSET_CURSOR = re.compile(r"([0-9]+):([0-9]+):0")


@attrs.frozen
class Link:
    """One entry of a ``Link`` header."""

    url: str
    rel: str
    results: bool | None = None
    cursor: str | None = None


def parse_link_header(value: str | None) -> dict[str, Link]:
    """The entries of a ``Link`` header by ``rel`` (``"previous"``/``"prev"``, ``"next"``).

    Never raises: malformed entries are skipped.
    """
    links: dict[str, Link] = {}
    if not value:
        return links
    for part in _LINK_SPLIT.split(value.strip()):
        part = part.strip()
        if not part.startswith("<") or ">" not in part:
            continue
        url, _, rest = part[1:].partition(">")
        params: dict[str, str] = {}
        for match in _PARAM.finditer(rest):
            params[match.group(1).lower()] = (
                match.group(2) if match.group(2) is not None else match.group(3)
            )
        rel = params.get("rel")
        if not rel:
            continue
        results_text = params.get("results")
        results = None if results_text is None else results_text.lower() == "true"
        for name in rel.split():
            links[name.lower()] = Link(url.strip(), name.lower(), results, params.get("cursor"))
    return links


def offset_cursor(cursor: str | None) -> tuple[int, int] | None:
    """``(per_page, page)`` when ``cursor`` is Sentry's ``OffsetPaginator`` cursor."""
    if cursor is None:
        return None
    match = _OFFSET_CURSOR.fullmatch(cursor)
    return (int(match.group(1)), int(match.group(2))) if match else None


@attrs.frozen
class Page(Generic[T]):
    """One page of a cursor-paginated list."""

    items: list[T]
    #: The cursor of the next page, or ``None`` on the last page.
    next_cursor: str | None


@attrs.frozen
class ScimPage(Generic[T]):
    """One page of a SCIM list."""

    items: list[T]
    total_results: int
    start_index: int


CursorFetch = Callable[[str | None], Awaitable[Page[T]]]
ScimFetch = Callable[[int, int], Awaitable[ScimPage[T]]]


class Paginator(AsyncClosing, Generic[T]):
    """Async iterator over the items of a paginated list.

    Built by the resource APIs (``acme.members.list(...)``); not usually
    constructed directly.
    """

    def __init__(
        self,
        *,
        cursor_fetch: CursorFetch[T] | None = None,
        scim_fetch: ScimFetch[T] | None = None,
        page_size: int = 100,
        prefetch: int = 4,
        limit: int | None = None,
        eager: bool = False,
    ) -> None:
        if (cursor_fetch is None) == (scim_fetch is None):
            raise TypeError("give exactly one of cursor_fetch and scim_fetch")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValidationError("page_size must be a positive integer")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 1:
            raise ValidationError("prefetch must be a positive integer")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValidationError("limit must be a non-negative integer or None")
        self._cursor_fetch = cursor_fetch
        self._scim_fetch = scim_fetch
        self.page_size = page_size
        self.prefetch = prefetch
        self.limit = limit
        #: Fetch pages 2 to ``prefetch`` with the first, guessing Sentry's offset cursor.
        self.eager = bool(eager)
        self._tasks: deque[asyncio.Task[Any]] = deque()
        #: Fetches cancelled and not yet awaited (``aclose`` waits for them).
        self._stopping: list[asyncio.Task[Any]] = []
        self._items: AsyncIterator[T] | None = None
        self._started = False
        #: Pages fetched so far (for progress reporting and tests).
        self.pages_fetched = 0

    # -- item iteration ------------------------------------------------------

    def __aiter__(self) -> Paginator[T]:
        return self

    async def __anext__(self) -> T:
        if self._items is None:
            self._items = self._iter_items()
        return await self._items.__anext__()

    async def _iter_items(self) -> AsyncIterator[T]:
        remaining = self.limit
        if remaining == 0:
            return
        pages = self.pages()
        try:
            async for page in pages:
                for item in page:
                    yield item
                    if remaining is not None:
                        remaining -= 1
                        if remaining == 0:
                            await self._stop_tasks()
                            return
        finally:
            await pages.aclose()

    async def collect(self) -> list[T]:
        """Every item in a list (only for lists you know are small)."""
        return [item async for item in self]

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self.collect().__await__()

    # -- page iteration ------------------------------------------------------

    def pages(self) -> AsyncGenerator[list[T], None]:
        """The pages, in server order, as lists of items."""
        if self._started:
            raise RuntimeError("a paginator can be iterated once; call list() again")
        self._started = True
        if self._scim_fetch is not None:
            return self._scim_pages(self._scim_fetch)
        assert self._cursor_fetch is not None
        return self._cursor_pages(self._cursor_fetch)

    async def _cursor_pages(self, fetch: CursorFetch[T]) -> AsyncGenerator[list[T], None]:
        try:
            guess = self._guess_pages(fetch)
            page = await fetch(None)
            self.pages_fetched += 1
            yield page.items
            predictable = offset_cursor(page.next_cursor)
            if predictable is not None and predictable[0] == self.page_size and self.prefetch > 1:
                per_page, next_index = predictable
                if guess != (per_page, next_index):
                    self._cancel_all()  # the guessed cursors were not Sentry's: drop them
                window = self.prefetch if guess else min(2, self.prefetch)
                async for items in self._parallel(
                    lambda k: fetch(f"{per_page}:{k}:0"), next_index, window
                ):
                    yield items
                return
            self._cancel_all()  # a last page, or cursors that cannot be guessed
            # A cursor seen before would loop forever: every cursor is kept (a few
            # bytes a page) so a cycle of any length is caught.
            seen: set[str] = set()
            while page.next_cursor is not None:
                cursor = page.next_cursor
                if cursor in seen:
                    raise _cursor_loop(cursor)
                seen.add(cursor)
                page = await fetch(cursor)
                self.pages_fetched += 1
                yield page.items
        finally:
            self._cancel_all()

    def _guess_pages(self, fetch: CursorFetch[T]) -> tuple[int, int] | None:
        """With ``eager``, start pages 2 to ``prefetch`` now, before the first answer.

        Sentry's member list uses ``OffsetPaginator`` (cursor ``{per_page}:{page}:0``;
        getsentry/sentry ``src/sentry/api/paginator.py``), so the next pages'
        cursors are known in advance. The first answer confirms the guess (its next
        cursor is ``{per_page}:1:0``); otherwise the guessed fetches are dropped.
        A list shorter than ``prefetch`` pages costs the requests past its end.
        """
        if not self.eager or self.prefetch < 2:
            return None
        pages = self.prefetch - 1
        if self.limit is not None:
            pages = min(pages, -(-self.limit // self.page_size) - 1)
        for k in range(1, pages + 1):
            self._tasks.append(asyncio.ensure_future(fetch(f"{self.page_size}:{k}:0")))
        return (self.page_size, 1) if pages > 0 else None

    async def _parallel(
        self, fetch_index: Callable[[int], Awaitable[Page[T]]], first: int, window: int
    ) -> AsyncIterator[list[T]]:
        """Fetch pages ``first, first+1, ...`` concurrently, yield them in order,
        until a page says it is the last; pages already in flight (``eager``) come first."""
        current = first

        def last(page: Page[T]) -> bool:
            nonlocal current
            following = offset_cursor(page.next_cursor)
            if following is not None and following[1] <= current:
                # Page ``current`` points back at itself or an earlier page.
                raise _cursor_loop(page.next_cursor)
            current += 1
            return page.next_cursor is None

        indexes = itertools.count(first + len(self._tasks))
        fetches = (functools.partial(fetch_index, index) for index in indexes)
        async for page in self._ahead(fetches, last, window):
            yield page.items

    async def _scim_pages(self, fetch: ScimFetch[T]) -> AsyncGenerator[list[T], None]:
        count = self.page_size
        try:
            page = await fetch(1, count)
            self.pages_fetched += 1
            yield page.items
            if not page.items:
                return
            # Planned lazily: ``totalResults`` comes from the server and may be
            # anything; only ``prefetch`` pages (and none past ``limit``) are ever
            # planned ahead.
            end = page.total_results + 1
            if self.limit is not None:
                end = min(end, self.limit + 1)
            starts = range(1 + count, max(end, 1), count)
            fetches = (functools.partial(fetch, start, count) for start in starts)
            async for nxt in self._ahead(
                fetches, lambda page: not page.items, min(2, self.prefetch)
            ):
                yield nxt.items
        finally:
            self._cancel_all()

    async def _ahead(
        self,
        fetches: Iterator[Callable[[], Awaitable[P]]],
        is_last: Callable[[P], bool],
        window: int,
    ) -> AsyncIterator[P]:
        """Run ``fetches`` ahead of the reader and yield their pages in order.

        The window of pages in flight (fetches already started count) opens like
        TCP's slow start (``window``, then doubling up to ``prefetch``), so a
        short list wastes no requests, and no rate-limit budget, on pages past
        its end. The next fetches start before a page is handed over (they run
        while the reader works), except after the last page, when whatever is
        still in flight is cancelled.
        """
        self._fill(fetches, window)
        while self._tasks:
            page: P = await self._tasks[0]
            self._tasks.popleft()
            self.pages_fetched += 1
            if is_last(page):
                self._cancel_all()
                yield page
                return
            window = min(self.prefetch, window * 2)
            self._fill(fetches, window)
            yield page

    def _fill(self, fetches: Iterator[Callable[[], Awaitable[Any]]], window: int) -> None:
        """Start fetches until ``window`` are in flight (or none are left)."""
        while len(self._tasks) < window:
            fetch = next(fetches, None)
            if fetch is None:
                return
            self._tasks.append(asyncio.ensure_future(fetch()))

    # -- cleanup -------------------------------------------------------------

    def _cancel_all(self) -> None:
        while self._tasks:
            task = self._tasks.popleft()
            if not task.done():
                task.cancel()
                self._stopping.append(task)
            else:
                # Retrieve the outcome so a failed prefetch is not reported as lost.
                if not task.cancelled():
                    task.exception()

    async def _stop_tasks(self) -> None:
        tasks = list(self._tasks)
        self._cancel_all()
        tasks += self._stopping
        self._stopping = []
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel in-flight fetches and wait until they have stopped."""
        await self._stop_tasks()
        if self._items is not None:
            items, self._items = self._items, None
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()

    def __del__(self) -> None:
        tasks = getattr(self, "_tasks", None)
        if tasks:
            for task in tasks:
                if not task.done():
                    task.cancel()


def _cursor_loop(cursor: str | None) -> PaginationError:
    return PaginationError(
        f"the server sent the cursor {cursor!r} again: its pagination does not move "
        "forward, so the list would never end",
        cursor=cursor,
    )
