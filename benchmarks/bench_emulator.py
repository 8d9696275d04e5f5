"""Emulator CPU cost: listing every page of a 100,000-member organization.

Prints CPU seconds per 100 pages (the emulator's own handler time, through
its in-memory door: no sockets, no client).
"""

from __future__ import annotations

import asyncio
import time

from _common import pick
from yarl import URL

from sentry_members_async.testing import SentryEmulator
from sentry_members_async.transports.base import Request

MEMBERS = pick(100_000, 20_000)


async def main() -> None:
    started = time.process_time()
    emu = SentryEmulator(seed=0, rate_limit=None)
    emu.add_org("acme")
    emu.add_teams("acme", 30)
    emu.add_members("acme", MEMBERS - 1, teams=30)
    seeded = time.process_time() - started
    token = emu.add_token("acme")
    headers = {"Authorization": f"Bearer {token}"}
    base = URL("http://127.0.0.1:8000/api/0/organizations/acme/members/")
    pages = members = 0
    cursor: str | None = None
    started = time.process_time()
    while True:
        url = base.with_query({"cursor": cursor}) if cursor else base
        response = await emu.handle(Request("GET", url, headers))
        pages += 1
        members += response.body.count(b'"inviteStatus"')
        link = response.headers["Link"]
        nxt = link.split(", <", 1)[1]
        if 'results="false"' in nxt:
            break
        cursor = nxt.rsplit('cursor="', 1)[1].rstrip('"')
    cpu = time.process_time() - started
    print("| figure | value |")
    print("|---|---|")
    print(f"| members listed | {members:,} in {pages} pages |")
    print(f"| seeding {MEMBERS:,} members (CPU s) | {seeded:.2f} |")
    print(f"| emulator CPU per 100 pages (s) | {cpu / pages * 100:.3f} |")


if __name__ == "__main__":
    asyncio.run(main())
