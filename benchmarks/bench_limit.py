"""Listing members under Sentry's rate limits: our client vs a sequential aiohttp loop.

Two profiles, both with 400 ms of server latency:

* ``RateLimit.seed_docs()`` (100 requests per 10 s), 20,000 members;
* ``RateLimit.saas()`` (40 requests per s, 25 concurrent), 100,000 members.

The bound is the rate limit times 100 members per page. Our client runs with
default settings. The sequential loop (how other Sentry clients page: one
request, follow the Link header, repeat) is timed over its first 40 pages
and its rate extrapolated: at 400 ms a page it would need minutes more to
finish, at the same rate.
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
from _common import summary

from sentry_members_async import SentryClient
from sentry_members_async.pagination import parse_link_header
from sentry_members_async.testing import RateLimit, SentryEmulator

SEQUENTIAL_PAGES = 40
SUMMARIES: list[tuple[str, str, str, str, str]] = []


async def ours(url: str, token: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with SentryClient(token, base_url=url) as client:
        count = 0
        async for _ in client.org("acme").members.list():
            count += 1
    return count, time.perf_counter() - started


async def sequential(url: str, token: str) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {token}"}
    next_url: str | None = f"{url}/api/0/organizations/acme/members/"
    count = pages = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        while next_url and pages < SEQUENTIAL_PAGES:
            async with session.get(next_url) as resp:
                resp.raise_for_status()
                count += len(await resp.json())
                link = parse_link_header(resp.headers.get("Link")).get("next")
            pages += 1
            next_url = link.url if link is not None and link.results else None
    return count, time.perf_counter() - started


def profile(name: str, limit: RateLimit, members: int) -> list[str]:
    rows = []
    shares: dict[str, tuple[float, int]] = {}
    bound = limit.limit / limit.window * 100
    for label, runner in (
        ("sentry-members-async (defaults)", ours),
        ("sequential aiohttp", sequential),
    ):
        emu = SentryEmulator(seed=1, rate_limit=limit, latency=0.4, retry_after=False)
        emu.add_org("acme")
        emu.add_members("acme", members - 1)
        token = emu.add_token("acme")
        with emu.serve_in_thread() as url:
            count, took = asyncio.run(runner(url, token))
        rate = count / took
        stats = emu.stats()
        rows.append(
            f"| {name} | {label} | {count:,} | {took:.1f} | {rate:,.0f} | {bound:,.0f} | "
            f"{rate / bound:.0%} | {stats['rate_limited']} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
        shares[label] = (rate / bound, stats["rate_limited"])
    ours_share, ours_429 = shares["sentry-members-async (defaults)"]
    seq_share, _ = shares["sequential aiohttp"]
    SUMMARIES.append(
        (
            f"limits: {name}",
            f"{ours_share:.0%} of bound, {ours_429} 429s",
            f"sequential: {seq_share:.0%} of bound",
            f"{ours_share / seq_share:.1f}x",
            ">= 95 % of bound, 0 429s",
        )
    )
    return rows


def main() -> None:
    columns = ["profile", "client", "members listed", "seconds", "members/s", "bound/s"]
    columns += ["share of bound", "429s"]
    rows = ["| " + " | ".join(columns) + " |"]
    rows.append("|---|---|---|---|---|---|---|---|")
    rows += profile("seed docs: 100 per 10 s, 400 ms, 20k members", RateLimit.seed_docs(), 20_000)
    rows += profile(
        "sentry.io: 40/s, 25 concurrent, 400 ms, 100k members", RateLimit.saas(), 100_000
    )
    print("\n".join(rows))
    print(
        f"\nThe sequential loop is timed over its first {SEQUENTIAL_PAGES} pages and its rate "
        "extrapolated."
    )
    for row in SUMMARIES:
        summary(*row)


if __name__ == "__main__":
    main()
