"""``Plan.diff()``: one line per change in a stable order (by e-mail, then kind), the
refused ones marked with why and how, the kept members, and one summary line."""

from __future__ import annotations

from sentry_members_async.api.capabilities import Verdict
from sentry_members_async.models import MemberId
from sentry_members_async.reconcile import (
    AddToTeam,
    ChangeRole,
    Invite,
    Plan,
    RemoveMember,
    SetTeamRole,
)

A, B = MemberId("1"), MemberId("2")


def test_diff_is_sorted_marked_and_summed_up() -> None:
    changes = (
        RemoveMember(B, "zed@example.com", "member", idp_fallback="scim"),
        SetTeamRole(A, "Bea@example.com", "backend", "contributor", "admin"),
        Invite("amy@example.com", "manager", {"web": "admin"}),
        ChangeRole(A, "bea@example.com", "member", "manager"),
        AddToTeam(A, "bea@example.com", "web"),
        RemoveMember(MemberId("3"), "cat@example.com", "owner"),
    )
    refused = {5: Verdict(False, "cat is owner, with more access than you", "ask an Owner")}
    plan = Plan("acme", changes, kept=("owner@example.com",), refused=refused)
    assert plan.diff().splitlines() == [
        "+ invite amy@example.com as manager to web (admin)",
        "~ bea@example.com: role member -> manager",
        "+ bea@example.com joins web",
        "~ Bea@example.com: backend role contributor -> admin",
        "! - remove cat@example.com (owner)  [refused: cat is owner, with more access than "
        "you; ask an Owner]",
        "- remove zed@example.com (member) via SCIM (provisioned by the identity provider)",
        "= keep owner@example.com (protected)",
        "6 changes: 1 invite, 1 role change, 1 team join, 1 team role change, 2 removals "
        "(1 refused, 1 kept)",
    ]
    assert plan.removals == 2
    assert str(plan) == plan.diff()


def test_an_empty_plan() -> None:
    plan = Plan("acme", ())
    assert (plan.diff(), bool(plan), len(plan)) == ("no changes", False, 0)
    kept = Plan("acme", (), kept=("owner@example.com",))
    assert kept.diff().splitlines() == [
        "= keep owner@example.com (protected)",
        "0 changes (1 kept)",
    ]
