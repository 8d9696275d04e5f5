"""Client overhead: 5,000 GETs (no latency, no limit) through our client vs bare aiohttp.

Both with 16 concurrent tasks against the emulator in its own process. Ours is
the whole pipeline (limiter, retry policy, hooks, error classification); the
comparison reads the same bytes with one ``aiohttp.ClientSession``. Best of
five runs each, interleaved. Two figures: wall-clock, and the client
process's own CPU time (``time.process_time()``; the emulator's CPU is in the
other process), which is what the pipeline adds. On a shared 2-core machine
the wall-clock figure mostly measures the emulator and the neighbours.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from _common import QUICK, emulator_process, pick, summary

from sentry_members_async import SentryClient

N = pick(5_000, 1_500)
ROUNDS = 3 if QUICK else 5
CONCURRENCY = 16
PATH = "/api/0/organizations/acme/members/me/"


async def drive(call: object) -> tuple[float, float]:
    """Wall-clock and client CPU seconds for N calls."""
    queue = list(range(N))

    async def worker() -> None:
        while queue:
            queue.pop()
            await call()  # type: ignore[operator]

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, time.process_time() - cpu


async def ours(url: str, token: str) -> tuple[float, float]:
    async with SentryClient(token, base_url=url) as client:

        async def call() -> None:
            response = await client.request("GET", PATH)
            assert response.status == 200

        return await drive(call)


async def bare(url: str, token: str) -> tuple[float, float]:
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}"},
        connector=aiohttp.TCPConnector(limit=100),
    ) as session:

        async def call() -> None:
            async with session.get(url + PATH) as resp:
                await resp.read()
                assert resp.status == 200

        return await drive(call)


def main() -> None:
    with emulator_process("--members", "10", "--rate-limit", "none") as env:
        url, token = env["SENTRY_URL"], env["SENTRY_AUTH_TOKEN"]
        wall: dict[str, list[float]] = {"ours": [], "bare": []}
        cpu: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(ROUNDS):
            for name, runner in (("bare", bare), ("ours", ours)):
                took, used = asyncio.run(runner(url, token))
                wall[name].append(took)
                cpu[name].append(used)
    best = {name: min(values) for name, values in wall.items()}
    best_cpu = {name: min(values) for name, values in cpu.items()}
    ratio = best["ours"] / best["bare"]
    cpu_ratio = best_cpu["ours"] / best_cpu["bare"]
    print(f"{N:,} GETs, {CONCURRENCY} tasks, best of {ROUNDS} (interleaved).\n")
    print("| client | wall (s) | requests/s | client CPU (s) | client CPU per request (us) |")
    print("|---|---|---|---|---|")
    for name, label in (("ours", "sentry-members-async"), ("bare", "bare aiohttp")):
        print(
            f"| {label} | {best[name]:.2f} | {N / best[name]:,.0f} | {best_cpu[name]:.2f} | "
            f"{best_cpu[name] / N * 1e6:.0f} |"
        )
    summary(
        f"4. client CPU per request, {N:,} GETs, {CONCURRENCY} tasks",
        f"{best_cpu['ours'] / N * 1e6:.0f} us",
        f"bare aiohttp {best_cpu['bare'] / N * 1e6:.0f} us",
        f"{cpu_ratio:.2f}x",
        "<= 1.15x",
        cpu_ratio <= 1.15,
    )
    summary(
        f"4. client wall-clock, {N:,} GETs, {CONCURRENCY} tasks",
        f"{best['ours']:.2f} s",
        f"bare aiohttp {best['bare']:.2f} s",
        f"{ratio:.2f}x",
        "<= 1.10x",
        ratio <= 1.10,
    )


if __name__ == "__main__":
    main()
