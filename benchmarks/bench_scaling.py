"""How the cost of ``members.list()`` grows: 1k, 10k, 100k and 1M members.

No latency, no rate limit. The pages come from a dedicated server (its own
process, aiohttp) that answers page ``k`` with a page of 100 realistic members
generated once by the emulator (the same bytes for every page, ids included;
the last page holds the remainder) and Sentry's ``Link`` header: seeding the
emulator with a million members costs minutes of its CPU, and at 1M its own
per-page cost grows, so it would measure the emulator, not the client. Each
size runs in a fresh client process, so peak RSS is that size's own. Per
size: seconds, members/s, the client process's CPU per member
(``time.process_time()``; the server's CPU is in the other process) and peak
RSS growth over the RSS just before the listing. Goal: CPU per member flat
within 20 % from 10k to 1M; RSS growth under 10 MB at 1M. ``--quick`` stops
at 10k.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from _common import QUICK, summary

MEMBERS_PATH = "/api/0/organizations/acme/members/"

SIZES = (1_000, 10_000) if QUICK else (1_000, 10_000, 100_000, 1_000_000)


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def child(n: int, url: str, token: str) -> dict[str, float]:
    from sentry_members_async import SentryClient

    async with SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        await acme.members.get("me")  # warm up: connections, imports, converter
        before = rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        count = 0
        async for _ in acme.members.list():
            count += 1
        took, used = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert count == n, (count, n)
    return {"before": before, "peak": peak, "seconds": took, "cpu": used}


async def template_page() -> list[object]:
    from yarl import URL

    from sentry_members_async.testing import SentryEmulator
    from sentry_members_async.transports.base import Request

    emu = SentryEmulator(seed=0, rate_limit=None)
    emu.add_org("acme")
    emu.add_teams("acme", 1)
    emu.add_members("acme", 299, teams=1)
    token = emu.add_token("acme")
    url = URL(f"http://127.0.0.1{MEMBERS_PATH}?cursor=100:1:0")
    response = await emu.handle(Request("GET", url, {"Authorization": f"Bearer {token}"}))
    page: list[object] = json.loads(response.body)
    return page


async def serve_pages(n: int) -> None:
    """Sentry's member list of ``n`` members, page by page (``OffsetPaginator`` cursors)."""
    from aiohttp import web

    members = await template_page()
    full = json.dumps(members, separators=(",", ":")).encode()
    pages = math.ceil(n / 100)
    rest = json.dumps(members[: n - 100 * (pages - 1)], separators=(",", ":")).encode()

    async def members_page(request: web.Request) -> web.Response:
        cursor = request.query.get("cursor", "100:0:0")
        k = int(cursor.split(":")[1])
        body = full if k < pages - 1 else rest if k == pages - 1 else b"[]"
        base = f"{request.url.with_query(None)}?&cursor="
        link = (
            f'<{base}100:{k - 1}:1>; rel="previous"; results="{str(k > 0).lower()}"; '
            f'cursor="100:{k - 1}:1", <{base}100:{k + 1}:0>; rel="next"; '
            f'results="{str(k + 1 < pages).lower()}"; cursor="100:{k + 1}:0"'
        )
        return web.Response(body=body, content_type="application/json", headers={"Link": link})

    async def me(request: web.Request) -> web.Response:
        return web.json_response(members[0])

    app = web.Application()
    app.router.add_get(MEMBERS_PATH, members_page)
    app.router.add_get(MEMBERS_PATH + "me/", me)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


@contextlib.contextmanager
def page_server(n: int) -> Iterator[str]:
    proc = subprocess.Popen(  # noqa: S603 - this script
        [sys.executable, __file__, "--serve", str(n)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def run(n: int) -> dict[str, float]:
    with page_server(n) as url:
        done = subprocess.run(  # noqa: S603 - this script
            [sys.executable, __file__, "--child", str(n), url, "token"],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    print("| members | seconds | members/s | client CPU per member (us) | peak RSS growth (MB) |")
    print("|---|---|---|---|---|")
    cpu: dict[int, float] = {}
    growth: dict[int, float] = {}
    for n in SIZES:
        r = run(n)
        cpu[n] = r["cpu"] / n * 1e6
        growth[n] = r["peak"] - r["before"]
        print(
            f"| {n:,} | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | {cpu[n]:.1f} | "
            f"{growth[n]:.1f} |",
            flush=True,
        )
    base, top = SIZES[1], SIZES[-1]
    spread = max(cpu[n] for n in SIZES[1:]) / min(cpu[n] for n in SIZES[1:]) - 1
    summary(
        f"5. scaling, members.list() {base // 1000}k to {top:,}",
        f"CPU/member {cpu[base]:.1f} -> {cpu[top]:.1f} us (spread {spread:.0%})",
        f"RSS growth at {top:,}: {growth[top]:.1f} MB",
        f"{cpu[top] / cpu[base]:.2f}x CPU/member",
        "CPU/member flat within 20 % from 10k to 1M; RSS growth < 10 MB at 1M",
        None if QUICK else (spread <= 0.20 and growth[top] < 10),
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        asyncio.run(serve_pages(int(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child":
        n, url, token = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        print(json.dumps(asyncio.run(child(n, url, token))))
    else:
        main()
