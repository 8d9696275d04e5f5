"""``review()`` of 100,000 members in 500 teams at the sentry.io profile.

The emulator answers as sentry.io does (``SentryEmulator.sentry_io``: 40
requests per 1 s window and 25 in flight per token) after 400 ms. A review
costs one request per member page, one per team member list page, the teams
list and one re-read of the last member page, and never a member's details
(which would be 100,000 requests). Reported: the requests, the seconds, the
429s and the share of the fair bound (the finishing time of an ideal client
sending the same number of requests from the same instant; bench_limit).
"""

from __future__ import annotations

import asyncio
import math
import os
import time

from _common import emulator_process, ideal_seconds, pick, summary

from sentry_members_async import SentryClient
from sentry_members_async.review import review
from sentry_members_async.testing import RateLimit

MEMBERS = pick(100_000, 10_000)
TEAMS = pick(500, 50)
LATENCY = 0.4


async def _review(env: dict[str, str]) -> tuple[int, int, int, int, int, int]:
    async with SentryClient(env["SENTRY_AUTH_TOKEN"], base_url=env["SENTRY_URL"]) as client:
        result = await review(client.org(env["SENTRY_ORG"]))
        stats = client.stats
    proof = result.completeness
    assert proof is not None
    assert proof.consistent
    assert proof.teams_complete
    members = result.summary.members
    return (
        members,
        proof.member_pages,
        proof.team_pages,
        stats.requests,
        stats.rate_limited,
        stats.retries,
    )


def main() -> None:
    limit = RateLimit.saas()
    args = ["--members", str(MEMBERS - 1), "--teams", str(TEAMS), "--rate-limit", "saas"]
    args += ["--latency", str(LATENCY), "--no-retry-after", "--seed", "3"]
    with emulator_process(*args) as env:
        wall, started = time.time(), time.perf_counter()
        members, member_pages, team_pages, requests, limited, retries = asyncio.run(_review(env))
        took = time.perf_counter() - started
    teams_list_pages = math.ceil((TEAMS + 1) / 100)
    planned = member_pages + team_pages + teams_list_pages + 1
    bound = ideal_seconds(requests, wall, limit.limit, limit.window, limit.concurrent, LATENCY)
    share = bound / took
    load = os.getloadavg()[0]
    print(
        "| review | members | teams | requests | planned | retries | seconds | share of bound "
        "| 429s | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| review() | {members:,} | {TEAMS + 1} | {requests:,} | {planned:,} | {retries} "
        f"| {took:.1f} | {share:.1%} | {limited} | {load:.1f} |"
    )
    print(
        f"\nplanned: {member_pages} member pages (ceil({members:,} / 100) = "
        f"{math.ceil(members / 100)}) + {team_pages} team list pages + {teams_list_pages} "
        "pages of the teams list + the last member page read again. The emulator serves "
        "from its own process (its teams team-01... and 'backend'). Share of bound: an "
        "ideal client's finishing time for the same requests (40 per 1 s window, 25 in "
        "flight, 400 ms) over ours. "
        "Load: the machine's 1-minute load average at the end (2 CPUs)."
    )
    summary(
        f"review() of {MEMBERS // 1000}k members in {TEAMS} teams, sentry.io profile",
        f"{requests:,} requests, {took:.1f} s, {share:.1%} of bound, {limited} 429s",
        f"one details call per member: {members:,} requests",
        f"{members / requests:.0f}x fewer requests",
        ">= 95 % of bound, requests as planned, 0 429s",
        share >= 0.95 and requests - retries == planned and limited == 0,
    )


if __name__ == "__main__":
    main()
