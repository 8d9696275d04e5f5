"""Roster ``plan``/``apply`` on the real server: the changes land, and a second plan is empty."""

from __future__ import annotations

from sentry_members_async import DesiredMember, Org

from .conftest import Checks
from .realserver import RealSentry


async def test_plan_apply_converges(acme: Org, real: RealSentry, check: Checks, uid: str) -> None:
    ids = real.create_members([f"ro{i}-{uid}@example.com" for i in range(3)], teams=["backend"])
    ids |= real.create_members([f"rf{i}-{uid}@example.com" for i in range(2)], teams=["frontend"])
    r0, r1, r2, f0, f1 = (f"{p}-{uid}@example.com" for p in ("ro0", "ro1", "ro2", "rf0", "rf1"))
    n0, n1 = f"new0-{uid}@example.com", f"new1-{uid}@example.com"

    # The whole org as it is (teams left alone), then this roster's changes.
    desired = {
        m.email.lower(): DesiredMember(m.email, role=m.org_role) async for m in acme.members.list()
    }
    desired[r0] = DesiredMember(r0, role="manager", teams={"backend": "admin", "frontend": None})
    desired[r1] = DesiredMember(r1, teams={"backend": "admin"})
    desired[f0] = DesiredMember(f0, teams={})
    desired[f1] = DesiredMember(f1, role="manager")
    del desired[r2]
    desired[n0] = DesiredMember(n0, role="manager", teams={"backend": None})
    desired[n1] = DesiredMember(n1, teams={"frontend": "admin"})

    plan = await acme.plan(desired.values())
    check.eq(
        plan.counts(),
        {"ChangeRole": 2, "SetTeamRole": 2, "AddToTeam": 1, "RemoveFromTeam": 1,
         "RemoveMember": 1, "Invite": 2},
        "plan: the roster's changes, nothing else",
    )  # fmt: skip

    mark = real.log_mark()
    report = await acme.apply(plan)
    check.true(report.ok, f"apply: every change done ({report!r})")
    check.eq((real.role_of(r0), real.held_team_role(ids[r0], "backend"),
              real.team_role(ids[r0], "frontend")), ("manager", "admin", None),
             "r0: manager, backend admin, on frontend")  # fmt: skip
    check.eq(real.held_team_role(ids[r1], "backend"), "admin", "r1: backend admin")
    check.eq(real.team_role(ids[f0], "frontend"), "absent", "f0: off frontend")
    check.eq(real.role_of(f1), "manager", "f1: manager")
    check.eq(real.member_row(r2), None, "r2: removed")
    new0, new1 = real.member_row(n0), real.member_row(n1)
    check.eq(new0 and (new0["role"], new0["pending"]), ("manager", "True"), "n0: a pending manager")
    check.eq(new0 and real.team_role(new0["id"], "backend"), None, "n0: on backend")
    check.eq(new1 and real.held_team_role(new1["id"], "frontend"), "admin", "n1: frontend admin")
    posts = [r.status for r in real.settled_requests_since(mark)
             if r.method == "POST" and r.path == "/api/0/organizations/acme/members/"]  # fmt: skip
    check.eq(posts, [201, 201], "apply: one invite POST each")

    again = await check.ok(acme.plan(desired.values()), "a second plan")
    check.eq([c.describe() for c in again.changes] if again is not None else None, [],
             "a second plan is empty: apply converged")  # fmt: skip
