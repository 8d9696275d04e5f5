"""The default transport on the real server: 1,000 sequential GETs and 100 team
creates/deletes, with no retry and no lost answer, and each request seen once.

uWSGI (as Sentry runs it) closes a kept-alive connection between requests; the
next request on it fails before any byte of answer. A client must open a fresh
connection then, as curl and urllib3 do, never retry blindly (a POST!) nor
report the answer lost.
"""

from __future__ import annotations

import time
from collections import Counter

from sentry_members_async import ResponseLostError, SentryClient
from sentry_members_async.pipeline import RetryEvent

from .conftest import Checks
from .realserver import RealSentry

GETS = 1000
TEAMS = 100


async def test_sequential_gets_and_team_writes(real: RealSentry, check: Checks, uid: str) -> None:
    retries: list[RetryEvent] = []
    lost: Counter[str] = Counter()
    other: Counter[str] = Counter()
    async with SentryClient(real.tokens["owner"], base_url=real.url, on_retry=retries.append) as c:
        acme = c.org(real.org)
        mark = real.log_mark()
        started = time.monotonic()
        for i in range(GETS):
            try:
                if i % 2:
                    await acme.teams.get("backend")
                else:
                    await acme.members.get("me")
            except ResponseLostError:
                lost["GET"] += 1
            except Exception as exc:
                other[type(exc).__name__] += 1
        get_seconds = time.monotonic() - started
        gets = [r for r in real.settled_requests_since(mark) if r.method == "GET"]
        check.eq((lost["GET"], dict(other)), (0, {}), f"{GETS} GETs: no lost answer, no error")
        check.eq(c.stats.retries, 0, f"{GETS} GETs: no retry (stats)")
        check.eq(len(retries), 0, f"{GETS} GETs: no retry (on_retry)")
        check.eq(len(gets), GETS, f"{GETS} GETs: the server saw each once")
        check.eq(Counter(r.status for r in gets), Counter({200: GETS}), "every GET answered 200")

        mark = real.log_mark()
        slugs = [f"load-{uid}-{i:03d}" for i in range(TEAMS)]
        created: dict[str, str] = {}
        started = time.monotonic()
        for slug in slugs:
            try:
                team = await acme.teams.create(slug)
                created[slug] = team.id
            except ResponseLostError:
                lost["POST"] += 1
            except Exception as exc:
                other[type(exc).__name__] += 1
            try:
                await acme.teams.delete(slug)
            except ResponseLostError:
                lost["DELETE"] += 1
            except Exception as exc:
                other[type(exc).__name__] += 1
        write_seconds = time.monotonic() - started
        seen = real.settled_requests_since(mark)
        check.eq((dict(lost), dict(other)), ({}, {}), f"{TEAMS} creates/deletes: nothing lost")
        check.eq((c.stats.retries, len(retries)), (0, 0), f"{TEAMS} creates/deletes: no retry")
        posts = Counter(r.status for r in seen if r.method == "POST")
        deletes = Counter(r.status for r in seen if r.method == "DELETE")
        check.eq(posts, Counter({201: TEAMS}), "the server saw each POST exactly once (201)")
        check.eq(deletes, Counter({204: TEAMS}), "the server saw each DELETE exactly once (204)")
        check.eq(len(created), TEAMS, "every create answered with its team")
        statuses = Counter(real.team_status(i) for i in created.values())
        check.eq(statuses, Counter({1: TEAMS}), "the database: every team pending deletion")
        check.eq([s for s in slugs if real.team(s)], [], "no team left active")
    print(f"\n{GETS} GETs in {get_seconds:.1f} s; {TEAMS} creates/deletes in {write_seconds:.1f} s")
