"""Bulk invites, quota-aware and parallel: three rows, each checked on the emulator's log.

1. ``bulk.invite`` of 2,000 rows (one team each) at 10 requests/s and 400 ms:
   share of the fair bound (``_common.ideal_seconds`` of one request per
   invite from our start instant, the same fixed 1 s windows; the lookups and
   the team listing are ours to pay), lost and duplicated invites from the
   emulator's state.
2. The same 2,000 rows again: the invite POSTs the server received (goal: 0)
   and the requests per 100 rows (goal: at most 1).
3. 300 invites at the sentry.io profile (``SentryEmulator.sentry_io()``: 40
   requests per 1 s, 25 in flight, 400 ms, the daily invite quotas of
   src/sentry/ratelimits/utils.py): created, deferred, and the POSTs the
   server refused past the quota (goal: 100, 200, at most 25).

Run alone: ``python benchmarks/bench_invites_quota.py`` (``BENCH_QUICK=1``:
smaller sizes).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from _common import ideal_seconds, pick, summary

from sentry_members_async import InviteRow, OutcomeKind, SentryClient
from sentry_members_async.testing import RateLimit, SentryEmulator

N = pick(2_000, 200)
QUOTA_N = 300
LATENCY = 0.4
LIMIT = RateLimit(limit=10, window=1.0)
MEMBERS = "/api/0/organizations/acme/members/"


def rows(n: int) -> list[InviteRow]:
    return [InviteRow(f"hire{i:05d}@example.com", teams=["team-01"]) for i in range(n)]


async def invite(url: str, token: str, n: int) -> tuple[dict[OutcomeKind, int], float, float]:
    wall, started = time.time(), time.perf_counter()
    async with SentryClient(token, base_url=url) as client:
        report = await client.org("acme").bulk.invite(rows(n))
    return report.counts(), time.perf_counter() - started, wall


def parallel_and_rerun() -> None:
    emu = SentryEmulator(seed=2, rate_limit=LIMIT, latency=LATENCY, retry_after=False)
    emu.add_org("acme")
    emu.add_team("acme", "team-01")
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        counts, took, wall = asyncio.run(invite(url, token, N))
        first_requests = len(emu.requests)
        again, rerun_took, _ = asyncio.run(invite(url, token, N))
    assert counts == {OutcomeKind.CREATED: N}, counts
    assert again == {OutcomeKind.ALREADY_INVITED: N}, again
    created = emu.invites_created("acme")
    lost = N - len(created)
    duplicated = sum(n - 1 for n in created.values())
    posts = Counter(r.json()["email"] for r in emu.find("POST", MEMBERS))
    bound = ideal_seconds(N, wall, LIMIT.limit, LIMIT.window, None, LATENCY)
    share = bound / took
    rerun = emu.requests[first_requests:]
    rerun_posts = sum(1 for r in rerun if r.method == "POST")
    per_100 = len(rerun) / (N / 100)
    print("| run | rows | seconds | requests | invite POSTs | share of bound | lost | duplicated |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| first run, 10 req/s, 400 ms | {N:,} | {took:.1f} | {first_requests:,} "
        f"| {sum(posts.values()):,} | {share:.1%} | {lost} | {duplicated} |"
    )
    print(
        f"| re-run of the same rows | {N:,} | {rerun_took:.1f} | {len(rerun)} | {rerun_posts} "
        f"| - | - | - |\n"
    )
    summary(
        f"Q1. bulk invite {N:,}, 10 req/s, 400 ms, parallel (lookups first)",
        f"{share:.1%} of bound, {lost} lost, {duplicated} duplicated",
        "-",
        "-",
        ">= 95 % of bound, 0 lost, 0 duplicated",
        share >= 0.95 and lost == 0 and duplicated == 0,
    )
    summary(
        f"Q2. re-run of the same {N:,} rows",
        f"{rerun_posts} invite POSTs, {len(rerun)} requests ({per_100:.2f} per 100 rows), "
        f"{rerun_took:.1f} s",
        "-",
        "-",
        "0 invite POSTs, at most 1 request per 100 rows",
        rerun_posts == 0 and per_100 <= 1.0,
    )


def quota_profile() -> None:
    emu = SentryEmulator.sentry_io(seed=3, latency=LATENCY)
    emu.add_org("acme")
    emu.add_team("acme", "team-01")
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        counts, took, _ = asyncio.run(invite(url, token, QUOTA_N))
    statuses = Counter(r.status for r in emu.find("POST", MEMBERS))
    past = statuses.get(429, 0)
    created = counts.get(OutcomeKind.CREATED, 0)
    deferred = counts.get(OutcomeKind.DEFERRED, 0)
    per_address = Counter(r.json()["email"] for r in emu.find("POST", MEMBERS))
    print("| rows | created | deferred | POSTs 201 | POSTs 429 (past the quota) | seconds |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {QUOTA_N} | {created} | {deferred} | {statuses.get(201, 0)} | {past} | {took:.1f} |\n"
    )
    summary(
        f"Q3. {QUOTA_N} invites at the sentry.io profile (daily quota 100)",
        f"{created} created, {deferred} deferred, {past} POSTs past the quota, "
        f"{max(per_address.values())} POST per address at most",
        "-",
        "-",
        "100 created, 200 deferred, at most 25 POSTs past the quota",
        created == 100 and deferred == 200 and past <= 25 and max(per_address.values()) == 1,
    )


def main() -> None:
    parallel_and_rerun()
    quota_profile()


if __name__ == "__main__":
    main()
