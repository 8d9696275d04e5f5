"""Listing members under Sentry's rate limits: our client vs a sequential aiohttp loop.

Two profiles, both with 400 ms of server latency:

* ``RateLimit.seed_docs()`` (100 requests per 10 s), 100,000 members (1,000
  pages: at least 10 windows; 20,000 under ``--quick``);
* ``RateLimit.saas()`` (40 requests per s, 25 concurrent), 100,000 members
  (20,000 under ``--quick``), with default settings and with the
  ``rate_limit=(40, 1.0)`` hint and ``members.list(eager=True)`` (the first pages
  sent at once, before the first answer).

**The bound is fair.** Sentry's windows are fixed (epoch-aligned), so a run
that starts late in a window gets that window's whole quota in a fraction of
its length: limit / window overstates nothing but understates what is
possible. The bound here is the finishing time of an ideal client that starts
at the same instant: it sends each page request as soon as the server's
window (``limit`` per window started) and its concurrent cap allow (25 in
flight when the profile has none, as sentry.io), and every answer takes the
latency. The share is ideal time / our time, so no client can
read above 100 %. The windows the run touched (first to last request the
server counted) are shown next to the fewest the pages need.

Time to first member is in round trips (latency). The sequential loop (how
other Sentry clients page: one request, follow the Link header, repeat) is
timed over its first 40 pages; its rate is compared with the long-run bound
(limit / window x 100 members).
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from dataclasses import dataclass

import aiohttp
from _common import QUICK, ideal_seconds, pick, summary

from sentry_members_async import SentryClient
from sentry_members_async.pagination import parse_link_header
from sentry_members_async.testing import RateLimit, SentryEmulator

SEQUENTIAL_PAGES = pick(40, 10)
LATENCY = 0.4
PAGE = 100


@dataclass
class Run:
    members: int
    started: float  # epoch seconds (the emulator's windows are on this clock)
    took: float
    first_member: float  # seconds


async def ours(url: str, token: str, hint: tuple[int, float] | None) -> Run:
    """Our client; told the limit (``hint``), it also asks for the first pages at once."""
    started_wall, started = time.time(), time.perf_counter()
    first = math.nan
    async with SentryClient(token, base_url=url, rate_limit=hint) as client:
        count = 0
        async for _ in client.org("acme").members.list(eager=hint is not None):
            if not count:
                first = time.perf_counter() - started
            count += 1
    return Run(count, started_wall, time.perf_counter() - started, first)


async def sequential(url: str, token: str, hint: object) -> Run:
    headers = {"Authorization": f"Bearer {token}"}
    next_url: str | None = f"{url}/api/0/organizations/acme/members/"
    count = pages = 0
    first = math.nan
    started_wall, started = time.time(), time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        while next_url and pages < SEQUENTIAL_PAGES:
            async with session.get(next_url) as resp:
                resp.raise_for_status()
                count += len(await resp.json())
                link = parse_link_header(resp.headers.get("Link")).get("next")
            if pages == 0:
                first = time.perf_counter() - started
            pages += 1
            next_url = link.url if link is not None and link.results else None
    return Run(count, started_wall, time.perf_counter() - started, first)


def windows_touched(emu: SentryEmulator, limit: RateLimit) -> int:
    """Windows from the first to the last request the server counted (arrival times)."""
    arrivals = [r.at - (LATENCY if r.status == 200 else 0.0) for r in emu.requests]
    first, last = min(arrivals), max(arrivals)
    return math.floor(last / limit.window) - math.floor(first / limit.window) + 1


CLIENTS = (
    ("sentry-members-async (defaults)", ours, None),
    ("sentry-members-async (rate_limit hint, eager)", ours, "hint"),
    ("sequential aiohttp", sequential, None),
)


def profile(name: str, limit: RateLimit, members: int, goal_share: float) -> list[str]:
    rows = []
    seen: dict[str, tuple[float, int, float]] = {}
    for label, runner, hint in CLIENTS:
        if hint is not None and limit.concurrent is None:
            continue  # the hint is about sentry.io's profile
        emu = SentryEmulator(seed=1, rate_limit=limit, latency=LATENCY, retry_after=False)
        emu.add_org("acme")
        emu.add_members("acme", members - 1)
        token = emu.add_token("acme")
        with emu.serve_in_thread() as url:
            run = asyncio.run(
                runner(url, token, (limit.limit, limit.window) if hint else None)  # type: ignore[operator]
            )
        pages = math.ceil(run.members / PAGE)
        ideal = ideal_seconds(
            pages, run.started, limit.limit, limit.window, limit.concurrent, LATENCY
        )
        if runner is sequential:  # extrapolated rate against the long-run bound
            share = run.members / run.took / (limit.limit / limit.window * PAGE)
        else:
            share = ideal / run.took
        stats = emu.stats()
        limited = stats["rate_limited"]
        past_end = stats["by_status"].get(200, 0) - pages
        touched = windows_touched(emu, limit)
        fewest = math.ceil(pages / limit.limit)
        first_rt = run.first_member / LATENCY
        rows.append(
            f"| {name} | {label} | {run.members:,} | {run.took:.1f} | {ideal:.1f} | {share:.1%} | "
            f"{touched} ({fewest}) | {past_end} | {first_rt:.2f} | {limited} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
        seen[label] = (share, limited, first_rt)
    seq_share = seen["sequential aiohttp"][0]
    for label in (
        "sentry-members-async (defaults)",
        "sentry-members-async (rate_limit hint, eager)",
    ):
        if label not in seen:
            continue
        share, limited, first_rt = seen[label]
        which = "hint + eager" if "hint" in label else "defaults"
        SUMMARIES.append(
            (
                f"limits: {name}, {which}",
                f"{share:.1%} of bound, {limited} 429s, first member {first_rt:.2f} RT",
                f"sequential: {seq_share:.1%} of bound",
                f"{share / seq_share:.1f}x",
                f">= {goal_share:.0%} of bound, 0 429s, first member <= 1.2 RT",
                share >= goal_share and limited == 0 and first_rt <= 1.2,
            )
        )
    return rows


SUMMARIES: list[tuple[str, str, str, str, str, bool]] = []


def main() -> None:
    columns = ["profile", "client", "members listed", "seconds", "ideal seconds"]
    columns += ["share of bound", "windows touched (fewest)", "requests past the end"]
    columns += ["first member (round trips)", "429s"]
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    docs = pick(100_000, 20_000)
    saas = pick(100_000, 20_000)
    rows += profile(
        f"seed docs: 100 per 10 s, 400 ms, {docs // 1000}k members",
        RateLimit.seed_docs(),
        docs,
        0.95,
    )
    rows += profile(
        f"sentry.io: 40/s, 25 concurrent, 400 ms, {saas // 1000}k members",
        RateLimit.saas(),
        saas,
        0.97,
    )
    print("\n".join(rows))
    print(
        "\nShare of bound: the finishing time of an ideal client starting at the same instant "
        "(each request as soon as the server's fixed window and concurrent cap allow, answered "
        "after the latency) over ours. Requests past the end: pages fetched beyond the last "
        f"(prefetch). The sequential loop is timed over its first {SEQUENTIAL_PAGES} pages."
        + (" Quick mode: smaller lists." if QUICK else "")
    )
    for row in SUMMARIES:
        summary(*row)


if __name__ == "__main__":
    main()
