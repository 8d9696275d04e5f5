"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import subprocess
import sys
from collections.abc import Iterator

#: ``nox -s bench -- --quick``: smaller sizes, same measures (``run.py`` sets it).
#: Quick sizes: ``BENCH_QUICK=1`` (set by ``run.py --quick``), or ``--quick`` given by hand.
QUICK = os.environ.get("BENCH_QUICK") == "1" or "--quick" in sys.argv[1:]


IDEAL_CONCURRENCY = 25


def ideal_seconds(
    requests: int,
    started: float,
    limit: int,
    window: float,
    concurrent: int | None,
    latency: float,
) -> float:
    """When an ideal client starting at ``started`` has the answer to its ``requests``-th request.

    It sends each request as soon as the server allows: at most ``limit``
    counted per fixed (epoch-aligned) window of ``window`` seconds, at most
    ``concurrent`` in flight (25, as on sentry.io, when the profile sets no cap).
    This is the fair bound: a run that starts late in a window gets that
    window's whole quota, and so does the ideal client.
    """
    cap = concurrent or IDEAL_CONCURRENCY
    free: list[float] = [started] * cap  # when each concurrent slot is free again
    heapq.heapify(free)
    used: dict[int, int] = {}
    finish = started
    for _ in range(requests):
        at = heapq.heappop(free)
        while used.get(math.floor(at / window), 0) >= limit:
            at = (math.floor(at / window) + 1) * window
        index = math.floor(at / window)
        used[index] = used.get(index, 0) + 1
        finish = max(finish, at + latency)
        heapq.heappush(free, at + latency)
    return finish - started


def pick(full: int, quick: int) -> int:
    """``full`` normally, ``quick`` under ``--quick``."""
    return quick if QUICK else full


def summary(
    benchmark: str, ours: str, comparison: str, ratio: str, goal: str, met: bool | None = None
) -> None:
    """One row of the summary table that ``benchmarks/run.py`` assembles.

    ``met`` says whether this run met ``goal`` (``None``: no verdict, e.g. a skipped row).
    """
    verdict = "n/a" if met is None else ("met" if met else "**missed**")
    print(f"SUMMARY| {benchmark} | {ours} | {comparison} | {ratio} | {goal} | {verdict} |")
    sys.stdout.flush()


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[dict[str, str]]:
    """Serve the emulator from its own process (the client's process stays alone).

    Yields the settings it prints: SENTRY_URL, SENTRY_ORG, SENTRY_AUTH_TOKEN, ...
    """
    proc = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "sentry_members_async.testing", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(5)]
        # "export NAME=value" lines (shell-sourceable); older emulators print "NAME=value"
        yield dict(line.removeprefix("export ").split("=", 1) for line in lines[1:])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
