"""Client overhead: 5,000 GETs (no latency, no limit) through our client vs bare aiohttp.

Both with 16 concurrent tasks against the emulator in its own process. Ours is
the whole pipeline (limiter, retry policy, hooks, error classification); the
comparison reads the same bytes with one ``aiohttp.ClientSession``. Best of
three runs each, interleaved.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from _common import emulator_process, summary

from sentry_members_async import SentryClient

N = 5_000
CONCURRENCY = 16
PATH = "/api/0/organizations/acme/members/me/"


async def drive(call: object) -> float:
    queue = list(range(N))

    async def worker() -> None:
        while queue:
            queue.pop()
            await call()  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


async def ours(url: str, token: str) -> float:
    async with SentryClient(token, base_url=url) as client:

        async def call() -> None:
            response = await client.request("GET", PATH)
            assert response.status == 200

        return await drive(call)


async def bare(url: str, token: str) -> float:
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
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(3):
            times["bare"].append(asyncio.run(bare(url, token)))
            times["ours"].append(asyncio.run(ours(url, token)))
    best = {name: min(values) for name, values in times.items()}
    ratio = best["ours"] / best["bare"]
    print("| client | best of 3 (s) | requests/s |")
    print("|---|---|---|")
    for name, label in (("ours", "sentry-members-async"), ("bare", "bare aiohttp")):
        print(f"| {label} | {best[name]:.2f} | {N / best[name]:,.0f} |")
    summary(
        f"4. client overhead, {N:,} GETs, {CONCURRENCY} tasks",
        f"{best['ours']:.2f} s",
        f"bare aiohttp {best['bare']:.2f} s",
        f"{ratio:.2f}x",
        "<= 1.15x",
    )


if __name__ == "__main__":
    main()
