"""A client whose clock differs from the server's: 200 GETs at the sentry.io profile.

The emulator (``SentryEmulator.sentry_io``: 40 requests per second, 25 in
flight, no ``Retry-After``, 20-50 ms of latency) runs on a clock shifted by
the skew, so the client's clock is that far behind (server ahead) or ahead
(server behind). The client is the default one (default limiter, default
retries). Every run starts at the same point of the server's one-second
window (0.5 s into it), so the runs differ by the skew alone.

Reported per skew: seconds for the 200 requests, the server's count of 429
answers, and the time against the run with no skew (the target: within
10 %). Then the same for 600 requests (one run each): the client learns the
server's clock only to within the second-resolution of ``Date`` at first, and
never places a window's end before the server's, so a skew shifts the whole
schedule once (by at most the part of a second the first answers left
unknown), not once per window: the extra seconds stay the same as the job
grows. Skews: none, 10 minutes either way, and the same plus 0.4 s (a
whole number of seconds keeps the server's second boundaries where the
client's are; 0.4 s does not).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from _common import pick, summary

from sentry_members_async import SentryClient
from sentry_members_async.testing import SentryEmulator

ROUNDS = pick(3, 1)
LONG = pick(600, 0)
#: server clock minus client clock, seconds
SKEWS = (0.0, 600.0, -600.0, 600.4, -600.4)


async def one_run(skew: float, requests: int) -> tuple[float, int, int]:
    """Seconds for the 200 GETs, the server's 429 answers, and the requests that failed."""
    server_clock: Callable[[], float] = lambda: time.time() + skew  # noqa: E731
    emu = SentryEmulator.sentry_io(seed=1, latency=(0.02, 0.05), clock=server_clock)
    emu.add_org("acme")
    token = emu.add_token("acme")
    # Start 0.5 s into a server window, as every other run.
    phase = server_clock() % 1.0
    await asyncio.sleep((0.5 - phase) % 1.0)
    failed = 0
    async with SentryClient(token, base_url="https://sentry.io", transport=emu.transport()) as c:
        acme = c.org("acme")

        async def get() -> None:
            nonlocal failed
            try:
                await acme.members.get("me")
            except Exception:  # counted: the run must show every failure
                failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(get() for _ in range(requests)))
        took = time.perf_counter() - started
    return took, int(emu.stats()["rate_limited"]), failed


async def table(requests: int, rounds: int) -> tuple[float, float, int, int]:
    """Print one table; returns the no-skew time, the worst ratio, 429s and failures."""
    rows: list[tuple[str, float, int, int]] = []
    for skew in SKEWS:
        runs = [await one_run(skew, requests) for _ in range(rounds)]
        rows.append(
            (
                f"{skew:+.1f} s",
                statistics.median(r[0] for r in runs),
                sum(r[1] for r in runs),
                sum(r[2] for r in runs),
            )
        )
    base = rows[0][1]
    print(f"{requests} GETs at the sentry.io profile, median of {rounds} run(s) per skew")
    print(f"{'server - client':>16} {'seconds':>8} {'extra s':>8} {'vs no skew':>11} {'429s':>5}")
    for name, took, limited, failed in rows:
        print(
            f"{name:>16} {took:8.2f} {took - base:+8.2f} {took / base - 1:+10.1%} {limited:5d}"
            f" {failed:3d} failed"
        )
    worst = max(r[1] for r in rows[1:]) / base - 1
    return base, worst, sum(r[2] for r in rows[1:]), sum(r[3] for r in rows[1:])


async def main() -> None:
    base, worst, limited, failed = await table(200, ROUNDS)
    longer = ""
    if LONG:
        _, long_worst, long_limited, long_failed = await table(LONG, 1)
        limited, failed = limited + long_limited, failed + long_failed
        longer = f" ({LONG} GETs: {long_worst:+.1%})"
    summary(
        "clock skew +-10 min, 200 GETs at sentry.io's limits",
        f"worst {worst:+.1%}{longer}, {limited} x 429, {failed} failed",
        f"no skew: {base:.2f} s",
        f"{1 + worst:.2f}x",
        "within 10 % of no skew, no 429",
        worst <= 0.10 and limited == 0 and failed == 0,
    )


if __name__ == "__main__":
    asyncio.run(main())
