"""Bulk invite of 2,000 people at 10 requests/s and 400 ms latency: ours vs a sequential loop.

Share of the fair bound (the finishing time of an ideal client sending one
request per invite from the same instant under the same fixed 1 s windows;
see bench_limit: it cannot read above 100 %), and the lost and duplicated
invites counted from the emulator's state. The sequential loop (one POST
after another) is timed over its first 40 invites and its rate extrapolated.

Then ``bulk.invite(via="scim")`` of 2,000 rows (one team each) at the
sentry.io profile (``SentryEmulator.sentry_io()``: 40 requests per 1 s and 25
in flight per token, 400 ms, daily invite quotas on), against the bound of the
requests the server answered on each token (see ``scim_profile``).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from _common import ideal_seconds, pick, summary

from sentry_members_async import InviteRow, OutcomeKind, SentryClient
from sentry_members_async.testing import RateLimit, SentryEmulator

N = pick(2_000, 150)
SCIM_N = pick(2_000, 300)
LATENCY = 0.4
LIMIT = RateLimit(limit=10, window=1.0)
SEQUENTIAL = pick(40, 10)


def rows(n: int) -> list[InviteRow]:
    return [InviteRow(f"hire{i:05d}@example.com", teams=["team-01"]) for i in range(n)]


async def ours(url: str, token: str) -> tuple[int, float, float]:
    wall, started = time.time(), time.perf_counter()
    async with SentryClient(token, base_url=url) as client:
        report = await client.org("acme").bulk.invite(rows(N))
    assert report.counts() == {OutcomeKind.CREATED: N}, report.counts()
    return N, time.perf_counter() - started, wall


async def sequential(url: str, token: str) -> tuple[int, float, float]:
    headers = {"Authorization": f"Bearer {token}"}
    wall, started = time.time(), time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        for row in rows(SEQUENTIAL):
            body = {"email": row.email, "orgRole": "member", "teams": list(row.teams)}
            async with session.post(f"{url}/api/0/organizations/acme/members/", json=body) as resp:
                resp.raise_for_status()
    return SEQUENTIAL, time.perf_counter() - started, wall


async def ours_scim(url: str, token: str, scim_token: str) -> tuple[float, float]:
    wall, started = time.time(), time.perf_counter()
    async with SentryClient(token, base_url=url, scim_token=scim_token) as client:
        report = await client.org("acme").bulk.invite(rows(SCIM_N), via="scim")
    assert report.counts() == {OutcomeKind.CREATED: SCIM_N}, report.counts()
    return time.perf_counter() - started, wall


def scim_profile() -> None:
    """``bulk.invite(via="scim")`` at the sentry.io profile, with one team per row.

    Each row costs a SCIM ``POST Users`` (SCIM token) and a team add (``PUT
    .../members/{id}/teams/{team}/``, user token), plus one team listing per
    run. The emulator keeps a window per token (40 per 1 s, 25 in flight), so
    the bound is the later of two ideal clients, one per token, each sending
    the requests the server saw on that token (answered, not refused) from our
    start instant; it ignores that a team add waits for its POST, so it cannot
    read above 100 %. The "one budget" share charges every request to one
    window of 40 (what a client with one limiter for both tokens can use).
    """
    limit = RateLimit.saas()
    emu = SentryEmulator.sentry_io(seed=3, latency=LATENCY)
    emu.add_org("acme", scim=True)
    emu.add_team("acme", "team-01")
    token = emu.add_token("acme")
    scim_token = emu.add_token("acme", kind="scim")
    with emu.serve_in_thread() as url:
        took, wall = asyncio.run(ours_scim(url, token, scim_token))
    answered = [r for r in emu.requests if r.status != 429]
    on_scim = sum(1 for r in answered if "/scim/v2/" in r.path)
    on_user = len(answered) - on_scim

    def ideal(n: int) -> float:
        return ideal_seconds(n, wall, limit.limit, limit.window, limit.concurrent, LATENCY)

    bound = max(ideal(on_scim), ideal(on_user))
    share = bound / took
    one_budget = ideal(len(answered)) / took
    peak = emu.stats()["peak_concurrency"]
    members = {m["email"]: m for m in emu.members("acme")}
    lost = sum(
        1
        for row in rows(SCIM_N)
        if row.email not in members or "team-01" not in members[row.email]["teams"]
    )
    duplicated = sum(n - 1 for n in emu.invites_created("acme").values())
    limited = emu.stats()["rate_limited"]
    columns = ["client", "rows", "seconds", "rows/s", "requests (SCIM + user token)"]
    columns += ["requests/s", "ideal seconds", "share of bound", "share of one budget"]
    columns += ["peak in flight", "429s", "lost"]
    columns += ["duplicated"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    print(
        f'| bulk.invite(via="scim"), sentry.io profile | {SCIM_N:,} | {took:.1f} '
        f"| {SCIM_N / took:.2f} | {on_scim:,} + {on_user:,} | {len(answered) / took:.1f} "
        f"| {bound:.1f} | {share:.1%} | {one_budget:.1%} | {peak} | {limited} | {lost} "
        f"| {duplicated} |",
        flush=True,
    )
    print(
        "\nsentry.io profile: 40 requests per 1 s and 25 in flight per token, 400 ms latency, "
        "daily invite quotas on (SCIM does not count against them). One team per row. "
        "Share of bound: the later of two ideal clients (one per token, same windows and "
        "cap, the requests the server answered on that token) over ours. Share of one "
        "budget: every request charged to one 40/s window. Lost: rows the server has no "
        "member for, or not in the row's team; duplicated: members created twice "
        "(both from the emulator's state)."
    )
    summary(
        f"6. bulk invite {SCIM_N:,} via SCIM, sentry.io profile (40/s, 25 concurrent, 400 ms)",
        f"{share:.1%} of bound ({one_budget:.1%} of one budget), {limited} 429s, "
        f"{lost} lost, {duplicated} duplicated",
        "-",
        "-",
        ">= 95 % of the SCIM endpoints' bound, 0 lost, 0 duplicated",
        share >= 0.95 and lost == 0 and duplicated == 0,
    )


def main() -> None:
    bound = LIMIT.limit / LIMIT.window
    columns = ["client", "invites", "seconds", "invites/s", "bound/s", "share of bound", "429s"]
    print("| " + " | ".join([*columns, "lost", "duplicated"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    results: dict[str, tuple[float, int, int, int]] = {}
    for label, runner, expected in (
        ("sentry-members-async bulk.invite (defaults)", ours, N),
        ("sequential aiohttp", sequential, SEQUENTIAL),
    ):
        emu = SentryEmulator(seed=2, rate_limit=LIMIT, latency=0.4, retry_after=False)
        emu.add_org("acme")
        emu.add_team("acme", "team-01")
        token = emu.add_token("acme")
        with emu.serve_in_thread() as url:
            count, took, wall = asyncio.run(runner(url, token))
        created = emu.invites_created("acme")
        lost = expected - len(created)
        duplicated = sum(n - 1 for n in created.values())
        rate = count / took
        if runner is sequential:  # extrapolated rate against the long-run bound
            share = rate / bound
        else:
            share = ideal_seconds(count, wall, LIMIT.limit, LIMIT.window, None, 0.4) / took
        print(
            f"| {label} | {count:,} | {took:.1f} | {rate:.2f} | {bound:.0f} | {share:.1%} "
            f"| {emu.stats()['rate_limited']} | {lost} | {duplicated} |",
            flush=True,
        )
        results[label] = (share, emu.stats()["rate_limited"], lost, duplicated)
    print(f"\nThe sequential loop is timed over its first {SEQUENTIAL} invites; rate extrapolated.")
    share, limited, lost, duplicated = results["sentry-members-async bulk.invite (defaults)"]
    seq_share = results["sequential aiohttp"][0]
    summary(
        f"2. bulk invite {N:,}, 10 req/s, 400 ms",
        f"{share:.1%} of bound, {limited} 429s, {lost} lost, {duplicated} duplicated",
        f"sequential: {seq_share:.1%} of bound",
        f"{share / seq_share:.1f}x",
        ">= 95 % of bound, 0 lost, 0 duplicated",
        share >= 0.95 and lost == 0 and duplicated == 0,
    )
    print()
    scim_profile()


if __name__ == "__main__":
    main()
