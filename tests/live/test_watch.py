"""``members.watch()`` on the real server: exactly what changed between two polls."""

from __future__ import annotations

from sentry_members_async import MemberId, Org
from sentry_members_async.watch import MemoryStore

from .conftest import Checks
from .realserver import RealSentry


async def test_watch_sees_exactly_the_changes(
    acme: Org, real: RealSentry, check: Checks, uid: str
) -> None:
    ids = real.create_members([f"w{i}-{uid}@example.com" for i in range(2)])
    promoted, leaver = f"w0-{uid}@example.com", f"w1-{uid}@example.com"
    accepting = f"wacc-{uid}@example.com"
    invite = await acme.members.invite(accepting)
    new = [f"wnew{i}-{uid}@example.com" for i in range(2)]

    async with acme.members.watch(interval=0.5, store=MemoryStore()) as events:
        baseline = await events.poll()
        check.eq(baseline, [], "the first poll is a baseline: no events")

        for email in new:
            await acme.members.invite(email)
        real.accept_invite(accepting)
        await acme.members.update(MemberId(ids[promoted]), role="manager")
        await acme.members.remove(MemberId(ids[leaver]))

        mark = real.log_mark()
        seen = await events.poll()
        got = sorted((e.kind, e.email.lower()) for e in seen if not e.is_alert)
        wanted = sorted(
            [("invited", e) for e in new]
            + [("joined", accepting), ("role_changed", promoted), ("removed", leaver)]
        )
        check.eq(got, wanted, "the second poll: exactly the invites, the acceptance, the role "
                 "change and the removal")  # fmt: skip
        alerts = [(e.kind, e.email.lower()) for e in seen if e.is_alert]
        check.eq(alerts, [("role_raised", promoted)], "one privilege alert: member -> manager")
        by_kind = {e.kind: e for e in seen}
        changed = by_kind.get("role_changed")
        roles = changed and tuple(s.role if s else None for s in (changed.before, changed.member))
        check.eq(roles, ("member", "manager"), "role_changed: before and after")
        joined = by_kind.get("joined")
        check.eq(joined and joined.member_id, invite.id, "joined: the invite's member id")
        methods = {r.method for r in real.settled_requests_since(mark)}
        check.eq(methods, {"GET"}, "the watcher only reads")

        check.eq(await events.poll(), [], "a third poll: nothing new")
        check.eq(len({e.id for e in seen}), len(seen), "event ids distinct")
