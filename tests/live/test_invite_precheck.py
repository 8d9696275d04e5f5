"""``bulk.invite``'s read before it sends, and the parallel quota stop, on the real 23.7.1.

What the emulator's tests assume, checked here against the server: lookups of
many addresses in one ``query=email:...`` request (its ``Link`` header repeats
the query twice: under aiohttp's 8,190-byte header line), pending invites and
members both found by it, a re-run that sends no POST, ``isInvited:true`` for
``members.invites()``, and a parallel run that stops at the daily quota with
each address POSTed at most once.
"""

from __future__ import annotations

from collections import Counter

from sentry_members_async import InviteQuotaError, InviteRow, Org

from .conftest import Checks
from .realserver import RealSentry

MEMBERS = "/api/0/organizations/acme/members/"


async def test_a_rerun_of_100_rows_is_looked_up_and_not_posted(
    acme: Org, real: RealSentry, check: Checks, uid: str
) -> None:
    rows = [InviteRow(f"pre{i:03d}-{uid}@newco.example.com") for i in range(12)]
    first = await acme.bulk.invite(rows)
    check.eq(dict(first.counts()), {"created": 12}, "the first run creates the 12")
    accepted = sorted(real.create_members([f"acc{i}-{uid}@example.com" for i in range(3)]))
    again_rows = [*rows, *(InviteRow(e) for e in accepted)]
    again_rows += [InviteRow(f"pad{i:03d}-{uid}@example.com") for i in range(100 - len(again_rows))]
    mark = real.log_mark(quiet=0.5)  # the first run's last lines are written after its answers
    again = await acme.bulk.invite(again_rows[:100], send_invite=False)
    seen = real.settled_requests_since(mark)
    kinds = [str(o.kind) for o in again]
    check.eq(kinds[:12], ["already_invited"] * 12, "pending invites found before any POST")
    check.eq(kinds[12:15], ["already_member"] * 3, "accepted members found before any POST")
    check.eq(kinds[15:], ["created"] * 85, "the new ones created")
    gets = [r for r in seen if r.method == "GET" and r.path.startswith(MEMBERS)]
    # 100 addresses of 30-odd characters: two lookups (changes/existing.py QUERY_BUDGET)
    check.eq([r.status for r in gets], [200, 200], "two lookups answered for the 100 rows")
    posts = [r for r in seen if r.method == "POST"]
    check.eq(len(posts), 85, "a POST for the 85 new rows only")
    invites = [i async for i in acme.members.invites()]
    ours = {i.email for i in invites if uid in i.email}
    check.eq(len(ours), 97, "members.invites() lists this run's pending invites")
    check.true(all(i.age is not None for i in invites), "each with its age")


async def test_parallel_invites_stop_at_the_daily_quota(
    acme: Org, real: RealSentry, check: Checks, uid: str
) -> None:
    real.prefill_invite_quota(94)
    rows = [InviteRow(f"qp{i:02d}-{uid}@example.com") for i in range(14)]
    mark = real.log_mark()
    report = await acme.bulk.invite(rows, send_invite=False)
    seen = real.settled_requests_since(mark)
    counts = {str(k): n for k, n in report.counts().items()}
    check.eq(counts, {"created": 6, "deferred": 8}, "6 created up to the quota, 8 deferred")
    check.true(isinstance(report.quota, InviteQuotaError), "report.quota holds the 429")
    check.true(report.quota_resets_at is not None, "and says when the window starts again")
    statuses = Counter(r.status for r in seen if r.method == "POST")
    check.eq(statuses[201], 6, "the server created 6")
    check.true(1 <= statuses[429] <= 8, "and refused at most the rows in flight past it")
    stored = [real.member_row(r.email) is not None for r in rows]
    created = [o.kind.value == "created" for o in report]
    check.eq(stored, created, "the server holds exactly the rows reported created")
