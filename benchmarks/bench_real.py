"""On a real Sentry 23.7.1 (tools/live/harness.py): ours beside a sequential client, one run.

Two rows, each measured side by side on the same server in the same run:

- enumerate the whole seeded org (251 members, 3 pages of 100), median of
  ``ROUNDS`` runs each; the sequential client follows the Link header one page
  after another (what other Sentry clients do);
- invite 100 people: ``bulk.invite`` (defaults, and ``quota_aware=False``)
  against one POST after another. The
  server renders the invite e-mail inline (0.35-1.8 s an invite) with 2 uWSGI
  workers, so the server, not the client, sets the ceiling. The daily invite
  quota (100 per user a day) is reset in Redis between the two.

Counted on the server afterwards: the invites in its database (no duplicate,
none lost). The server is the harness's instance 2 (its own database and
port); when it cannot run here the script says why and prints no row.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
from _common import pick, summary

from sentry_members_async import InviteRow, OutcomeKind, SentryClient
from sentry_members_async.pagination import parse_link_header

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tools" / "live" / "harness.py"
ROUNDS = pick(15, 3)
INVITES = pick(100, 20)
ENV = {**os.environ, "SMA_LIVE_INSTANCE": "2"}


def harness(command: str) -> int:
    return subprocess.run(  # noqa: S603 - our own harness
        [sys.executable, str(HARNESS), command], env=ENV, check=False
    ).returncode


def state() -> dict[str, object]:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import harness;"
        " print(harness.state_file(harness.cache_dir()))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(HARNESS.parent)],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: dict[str, object] = json.loads(Path(out.stdout.strip()).read_text())
    return loaded


def session_for(token: str) -> aiohttp.ClientSession:
    # A fresh connection per request: uWSGI closes kept-alive connections
    # between requests, and a plain pooled session would fail on them.
    return aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}"},
        connector=aiohttp.TCPConnector(force_close=True),
    )


async def ours_enumerate(url: str, token: str) -> int:
    async with SentryClient(token, base_url=url) as client:
        return sum([1 async for _ in client.org("acme").members.list()])


async def ours_eager_enumerate(url: str, token: str) -> int:
    async with SentryClient(token, base_url=url) as client:
        return sum([1 async for _ in client.org("acme").members.list(eager=True)])


async def sequential_enumerate(url: str, token: str) -> int:
    count = 0
    next_url: str | None = f"{url}/api/0/organizations/acme/members/"
    async with session_for(token) as session:
        while next_url:
            async with session.get(next_url) as resp:
                resp.raise_for_status()
                count += len(await resp.json())
                link = parse_link_header(resp.headers.get("Link")).get("next")
            next_url = link.url if link is not None and link.results else None
    return count


async def ours_invite(url: str, token: str, emails: list[str], quota_aware: bool = True) -> int:
    async with SentryClient(token, base_url=url) as client:
        report = await client.org("acme").bulk.invite(
            [InviteRow(e) for e in emails], quota_aware=quota_aware
        )
    return report.counts().get(OutcomeKind.CREATED, 0)


async def ours_parallel_invite(url: str, token: str, emails: list[str]) -> int:
    return await ours_invite(url, token, emails, quota_aware=False)


async def sequential_invite(url: str, token: str, emails: list[str]) -> int:
    created = 0
    endpoint = f"{url}/api/0/organizations/acme/members/"
    async with session_for(token) as session:
        for email in emails:
            body = {"email": email, "role": "member", "orgRole": "member", "sendInvite": True}
            async with session.post(endpoint, json=body) as resp:
                created += resp.status == 201
    return created


def timed(coro: object) -> tuple[float, int]:
    started = time.perf_counter()
    result = asyncio.run(coro)  # type: ignore[arg-type]
    return time.perf_counter() - started, int(result)


def invites_held(server: dict[str, object], emails: list[str]) -> int:
    listed = ",".join(f"'{e}'" for e in emails)  # our own generated addresses
    query = f"SELECT count(*) FROM sentry_organizationmember WHERE email IN ({listed})"  # noqa: S608
    psql = [str(server["psql"]), "-h", "127.0.0.1", "-p", str(server["pg_port"]), "-U", "postgres"]
    out = subprocess.run(  # noqa: S603
        [*psql, "-d", str(server["database"]), "-tAc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def reset_quota(server: dict[str, object]) -> None:
    script = "for _,k in ipairs(redis.call('keys','rl:*')) do redis.call('del',k) end return 1"
    subprocess.run(  # noqa: S603
        ["redis-cli", "-p", str(server["redis_port"]), "EVAL", script, "0"],  # noqa: S607
        check=True,
        capture_output=True,
    )


def enumerate_row(url: str, token: str) -> None:
    print("| client | members | median seconds | min | max |")
    print("|---|---|---|---|---|")
    medians = {}
    runners = (
        ("ours", ours_enumerate),
        ("ours, eager=True", ours_eager_enumerate),
        ("sequential", sequential_enumerate),
    )
    for label, runner in runners:
        runs = [timed(runner(url, token)) for _ in range(ROUNDS)]
        seconds = [s for s, _ in runs]
        medians[label] = statistics.median(seconds)
        print(
            f"| {label} | {runs[0][1]} | {medians[label]:.3f} | {min(seconds):.3f} "
            f"| {max(seconds):.3f} |"
        )
    print(
        "\nThree pages: the defaults fetch the first page, then the next two together "
        "(two round trips for the sequential client's three); eager=True asks for "
        "pages 2 to `prefetch` with the first one, before any answer."
    )
    eager = medians["ours, eager=True"]
    summary(
        "R1. enumerate the real 23.7.1 org (251 members)",
        f"{medians['ours']:.2f} s, eager {eager:.2f} s (medians of {ROUNDS})",
        f"sequential: {medians['sequential']:.2f} s",
        f"{medians['sequential'] / medians['ours']:.1f}x, {medians['sequential'] / eager:.1f}x",
        "faster than sequential",
        min(medians["ours"], eager) < medians["sequential"],
    )


def invite_row(server: dict[str, object], url: str, token: str) -> None:
    run_id = uuid.uuid4().hex[:8]
    print("\n| client | invites | seconds | invites/s | held by the server |")
    print("|---|---|---|---|---|")
    took = {}
    runners = {
        "ours": ours_invite,
        "ours, quota_aware=False": ours_parallel_invite,
        "sequential": sequential_invite,
    }
    for n, (label, runner) in enumerate(runners.items()):
        emails = [f"bench-{n}-{run_id}-{i:03d}@example.com" for i in range(INVITES)]
        reset_quota(server)
        took[label], created = timed(runner(url, token, emails))
        held = invites_held(server, emails)
        print(f"| {label} | {created} | {took[label]:.1f} | {created / took[label]:.1f} | {held} |")
    print(
        "\nThe defaults send invites one at a time while a daily quota may be in force "
        "(quota_aware: until more than 100 were created), so 100 invites go as the "
        "sequential client sends them; quota_aware=False sends them concurrently. The "
        "server renders each invite's e-mail inline on 2 uWSGI workers: its ceiling "
        "is about 2 invites in parallel."
    )
    fastest = took["ours, quota_aware=False"]
    summary(
        f"R2. invite {INVITES} people on the real 23.7.1",
        f"{took['ours']:.1f} s (defaults), {fastest:.1f} s (quota_aware=False)",
        f"sequential: {took['sequential']:.1f} s",
        f"{took['sequential'] / took['ours']:.1f}x, {took['sequential'] / fastest:.1f}x",
        "quota_aware=False faster than sequential",
        fastest < took["sequential"],
    )


def main() -> int:
    if harness("up") != 0:
        print("real Sentry unavailable here (the harness said why above): no rows")
        return 0
    try:
        server = state()
        url = str(server["url"])
        token = str(dict(server["tokens"])["owner"])  # type: ignore[call-overload]
        enumerate_row(url, token)
        invite_row(server, url, token)
    finally:
        harness("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
