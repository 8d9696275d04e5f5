"""One poll of ``acme.members.watch()`` on a 100,000-member org at the sentry.io profile.

``RateLimit.saas()`` (40 requests per s, 25 concurrent) with 400 ms of server
latency, 20 teams. A poll lists every member (100 a page); with
``teams=True`` it also lists the teams and every team's members. The poll is
timed with the whole limit (``budget=1.0``); under ``--quick`` also with the
default share (``budget=0.2``: what a bot beside a bulk job gets), which checks
that a poll then takes requests / (0.2 x 40/s). The first poll (the baseline)
is timed, as it costs what every poll costs.
The figure to keep in mind is the requests: a budget turns them into time
(requests / (budget x 40/s)), which is the interval the watcher stretches to.

``BENCH_QUICK=1`` (``benchmarks/run.py --quick``): 5,000 members, for a smoke run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time

from _common import QUICK, summary

from sentry_members_async import SentryClient
from sentry_members_async.testing import RateLimit, SentryEmulator
from sentry_members_async.watch import FileStore

MEMBERS = 5_000 if QUICK else 100_000
TEAMS = 20
LIMIT = RateLimit.saas()


async def one_poll(url: str, token: str, *, teams: bool, budget: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as state:
        async with SentryClient(token, base_url=url) as client:
            watch = client.org("acme").members.watch(
                teams=teams, budget=budget, store=FileStore(state)
            )
            # The first poll (the baseline) costs what every poll costs: the whole list.
            started = time.perf_counter()
            events = await watch.poll()
            took = time.perf_counter() - started
            size = sum(entry.stat().st_size for entry in os.scandir(state))
            return {
                "requests": watch.stats.requests,
                "seconds": took,
                "events": len(events),
                "checkpoint_mb": size / 1e6,
            }


def main() -> None:
    emu = SentryEmulator(seed=4, rate_limit=LIMIT, latency=0.4, retry_after=False)
    emu.add_org("acme")
    emu.add_teams("acme", TEAMS)
    emu.add_members("acme", MEMBERS - 1, teams=TEAMS)
    token = emu.add_token("acme")
    memberships = sum(len(m["teams"]) for m in emu.members("acme"))
    print(
        f"{MEMBERS:,} members, {TEAMS} teams, {memberships:,} team memberships; "
        "sentry.io profile: 40 requests/s, 25 concurrent, 400 ms latency\n"
    )
    print(
        "| poll | budget | requests | seconds | requests/s | interval at budget 0.2 (s) "
        "| checkpoint (MB) | 429s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    results: dict[tuple[bool, float], dict[str, float]] = {}
    with emu.serve_in_thread() as url:
        polls = [(False, 1.0), (True, 1.0)] + ([(False, 0.2)] if QUICK else [])
        for teams, budget in polls:
            emu.reset_log()
            got = asyncio.run(one_poll(url, token, teams=teams, budget=budget))
            results[(teams, budget)] = got
            label = "members + teams (teams=True)" if teams else "members"
            print(
                f"| {label} | {budget:g} | {got['requests']:,.0f} | {got['seconds']:.1f} | "
                f"{got['requests'] / got['seconds']:.1f} | {got['requests'] / 8:.0f} | "
                f"{got['checkpoint_mb']:.1f} | {emu.stats()['rate_limited']} |",
                flush=True,
            )
    plain, with_teams = results[(False, 1.0)], results[(True, 1.0)]
    # At budget 0.2 a poll takes its requests / 8 per s (measured under --quick).
    shared = results.get((False, 0.2), {"seconds": plain["requests"] / 8})
    print(
        f"\nAt budget 0.2 (8 requests/s) a members poll takes {shared['seconds']:.0f} s, "
        f"a poll with teams about {with_teams['requests'] / 8:.0f} s: the interval the "
        "watcher stretches to (and logs)."
    )
    summary(
        f"watch: one poll of {MEMBERS // 1000}k members, sentry.io profile",
        f"{plain['requests']:,.0f} requests, {plain['seconds']:.0f} s; teams=True: "
        f"{with_teams['requests']:,.0f} requests, {with_teams['seconds']:.0f} s",
        f"budget 0.2: {shared['seconds']:.0f} s a poll",
        f"teams x{with_teams['requests'] / plain['requests']:.1f} requests",
        "1 request a page, 0 429s",
    )


if __name__ == "__main__":
    main()
