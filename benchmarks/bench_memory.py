"""Memory: peak RSS of the client process streaming 1,000 vs 100,000 members.

Two operations, each in a fresh process (peak RSS only grows), against the
emulator in a process of its own: ``members.list()`` over the whole org, and
``bulk.invite()`` fed by a generator. The figure is the client's peak RSS
minus its RSS just before the work starts; the goal is that 100,000 items
cost less than 10 MB more than 1,000.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time

from _common import QUICK, emulator_process, summary

SIZES = (1_000, 10_000) if QUICK else (1_000, 100_000)


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def child(op: str, n: int, url: str, token: str) -> dict[str, float]:
    from sentry_members_async import InviteRow, SentryClient

    async with SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        await acme.members.get("me")  # warm up: connections, imports, converter
        before = rss_mb()
        started = time.perf_counter()
        if op == "list":
            count = 0
            async for _ in acme.members.list():
                count += 1
        else:
            rows = (InviteRow(f"bulk{i:06d}@example.com") for i in range(n))
            report = await acme.bulk.invite(rows)
            count = len(report)
        took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert count == n, (count, n)
    return {"before": before, "peak": peak, "seconds": took}


def run(op: str, n: int) -> dict[str, float]:
    members = str(n - 1) if op == "list" else "0"
    with emulator_process("--members", members, "--teams", "1", "--rate-limit", "none") as env:
        done = subprocess.run(  # noqa: S603 - this script
            [
                sys.executable,
                __file__,
                "--child",
                op,
                str(n),
                env["SENTRY_URL"],
                env["SENTRY_AUTH_TOKEN"],
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    print("| operation | items | seconds | RSS before (MB) | peak RSS (MB) | growth (MB) |")
    print("|---|---|---|---|---|---|")
    growth: dict[tuple[str, int], float] = {}
    for op in ("list", "invite"):
        for n in SIZES:
            r = run(op, n)
            growth[(op, n)] = r["peak"] - r["before"]
            label = "members.list()" if op == "list" else "bulk.invite(generator)"
            print(
                f"| {label} | {n:,} | {r['seconds']:.1f} | {r['before']:.1f} | {r['peak']:.1f} "
                f"| {growth[(op, n)]:.1f} |",
                flush=True,
            )
    for op, label in (("list", "members.list()"), ("invite", "bulk.invite(generator)")):
        small, large = growth[(op, SIZES[0])], growth[(op, SIZES[1])]
        summary(
            f"5. memory, {label}",
            f"{SIZES[1] // 1000}k: +{large:.1f} MB",
            f"1k: +{small:.1f} MB",
            f"difference {large - small:.1f} MB",
            "< 10 MB",
            large - small < 10,
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        op, n, url, token = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        print(json.dumps(asyncio.run(child(op, n, url, token))))
    else:
        main()
