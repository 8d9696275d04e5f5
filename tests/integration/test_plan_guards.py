"""Guarded plans, over the emulator on loopback HTTP: a roster cannot wipe an org by accident.

A 3-row roster against an org of 10,000: the README's roster code (a plan
with the defaults, its diff, then apply) invites the 3 and removes nobody;
asked to remove the missing, the plan refuses naming the 10,000 removals and
the flag that allows them, before any write. A plan built on an empty or
shrunken read refuses too.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import pathlib
import re
from collections.abc import AsyncIterator

import pytest

from sentry_members_async import DesiredMember, Org, OutcomeKind, SentryClient
from sentry_members_async.reconcile import (
    ImplausibleReadError,
    MassRemovalError,
    RemoveMember,
    removal_limit,
)
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import Status

ROSTER = [
    DesiredMember("ada@example.com", "member"),
    DesiredMember("grace@example.com", "manager"),
    DesiredMember("linus@example.com", "member"),
]
WRITES = ("POST", "PUT", "DELETE", "PATCH")
ROOT = pathlib.Path(__file__).resolve().parents[2]


def writes(emu: SentryEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.find() if r.method in WRITES]


@pytest.fixture(scope="module")
def big() -> SentryEmulator:
    emu = SentryEmulator(seed=11, rate_limit=None, invite_quotas=False)
    emu.add_org("acme")
    emu.add_members("acme", 10_000, pending_ratio=0.0, roles={"member": 1.0})
    return emu


@pytest.fixture
async def acme(big: SentryEmulator) -> AsyncIterator[Org]:
    token = big.add_token("acme")
    async with big.serve() as url, SentryClient(token, base_url=url) as client:
        big.reset_log()
        yield client.org("acme")


async def test_a_roster_of_3_never_removes_10000_unless_asked(
    big: SentryEmulator, acme: Org
) -> None:
    assert len(big.members("acme")) == 10_001  # the owner (the token's) and 10,000 members

    # Asked to remove the missing: refused before any write, naming the number and the flag.
    with pytest.raises(MassRemovalError) as refused:
        await acme.plan(ROSTER, remove_missing=True)
    error = refused.value
    assert (error.removals, error.org_size, error.limit) == (10_000, 10_001, 1_000)
    message = str(error)
    assert "would remove 10000 of its 10001 members" in message
    assert "max_removals=10000" in message
    assert "allow_mass_removal=True" in message
    assert "--max-removals 10000" in message
    assert writes(big) == []

    # The README's roster code: defaults, the diff printed, a confirmation before removals.
    plan = await acme.plan(ROSTER)
    text = plan.diff()
    assert text.splitlines() == [
        "+ invite ada@example.com as member",
        "+ invite grace@example.com as manager",
        "+ invite linus@example.com as member",
        "3 changes: 3 invites",
    ]
    assert plan.removals == 0
    report = await acme.apply(plan)
    assert [o.kind for o in report] == [OutcomeKind.CREATED] * 3
    assert [m for m, _ in writes(big)] == ["POST"] * 3
    assert not big.find("DELETE")
    assert len(big.members("acme")) == 10_004


@pytest.fixture
def small() -> SentryEmulator:
    """An owner and 100 members: the limit is 25 (10 % of 101 is 10)."""
    emu = SentryEmulator(seed=12, rate_limit=None, invite_quotas=False)
    emu.add_org("acme")
    emu.add_members("acme", 100, pending_ratio=0.0, roles={"member": 1.0})
    return emu


@pytest.fixture
async def small_acme(small: SentryEmulator) -> AsyncIterator[Org]:
    token = small.add_token("acme")
    async with small.serve() as url, SentryClient(token, base_url=url) as client:
        yield client.org("acme")


def roster_keeping(emu: SentryEmulator, n: int) -> list[DesiredMember]:
    """The first ``n`` members of the org (the owner first), as they are."""
    return [DesiredMember(m["email"], m["role"]) for m in emu.members("acme")[:n]]


async def test_max_removals_and_allow_mass_removal_lift_the_limit(
    small: SentryEmulator, small_acme: Org
) -> None:
    assert removal_limit(101) == 25
    roster = roster_keeping(small, 60)  # 41 members missing
    with pytest.raises(MassRemovalError) as refused:
        await small_acme.plan(roster, remove_missing=True)
    assert (refused.value.removals, refused.value.limit) == (41, 25)
    with pytest.raises(MassRemovalError):
        await small_acme.plan(roster, remove_missing=True, max_removals=40)
    plan = await small_acme.plan(roster, remove_missing=True, max_removals=41)
    assert plan.removals == 41
    assert plan.diff().splitlines()[-1] == "41 changes: 41 removals"
    lifted = await small_acme.plan(roster, remove_missing=True, allow_mass_removal=True)
    assert [c.describe() for c in lifted.changes] == [c.describe() for c in plan.changes]
    # 25 removals are within the limit without asking.
    within = await small_acme.plan(roster_keeping(small, 76), remove_missing=True)
    assert within.removals == 25
    assert all(isinstance(c, RemoveMember) for c in within.changes)
    assert writes(small) == []


async def test_an_empty_member_list_is_no_ground_for_removals(
    small: SentryEmulator, small_acme: Org
) -> None:
    # Sentry answers [] to a member query it does not understand (queryset.none()).
    small.inject("GET", "/api/0/organizations/acme/members/", Status(200, []))
    with pytest.raises(ImplausibleReadError) as refused:
        await small_acme.plan(
            roster_keeping(small, 1), remove_missing=True, allow_mass_removal=True
        )
    assert refused.value.org_size == 0
    assert "found no member at all" in str(refused.value)
    # Without removals, the same read only proposes invites (each is checked when sent).
    plan = await small_acme.plan(roster_keeping(small, 1))
    assert plan.counts() == {"Invite": 1}
    assert writes(small) == []


async def test_a_read_under_half_the_last_plans_is_refused(
    small: SentryEmulator, small_acme: Org
) -> None:
    roster = roster_keeping(small, 101)
    first = await small_acme.plan(roster, remove_missing=True)
    assert (first.org_size, len(first)) == (101, 0)
    # The next read finds 40 of the 101 (a filtered or truncated read, say).
    listed = [m for m in small.members("acme")][:40]
    page = [{"id": str(m["id"]), "email": m["email"], "orgRole": m["role"], "role": m["role"],
             "pending": False, "user": {"id": str(m["user_id"])}} for m in listed]  # fmt: skip
    small.inject("GET", "/api/0/organizations/acme/members/", Status(200, page))
    with pytest.raises(ImplausibleReadError) as refused:
        await small_acme.plan(roster[:40], remove_missing=True)
    assert (refused.value.org_size, refused.value.previous_size) == (40, 101)
    assert "found 40 members where the last plan found 101" in str(refused.value)
    # A new process passes the size it kept; allow_mass_removal accepts a real shrink.
    with pytest.raises(ImplausibleReadError):
        await small_acme.plan(roster[:40], remove_missing=True, previous_size=101)
    assert writes(small) == []


def _readme_roster_block() -> str:
    """The README's roster example, as the README prints it."""
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    (block,) = [b for b in blocks if "load_roster(" in b and "acme.apply(plan)" in b]
    return str(block)


async def _run_block(code: str, acme: Org) -> str:
    namespace: dict[str, object] = {"acme": acme}
    compiled = compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(compiled, namespace)  # noqa: S307 - the README's own code
        if inspect.isawaitable(result):
            await result
    return out.getvalue()


async def test_the_readme_roster_example_as_written_removes_nobody_from_10000(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # examples/data/roster.csv: 3 rows; an org of 10,000 that has none of them.
    monkeypatch.chdir(ROOT)
    emu = SentryEmulator(seed=12, rate_limit=None, invite_quotas=False)
    emu.add_org("acme")
    emu.add_team("acme", "backend")
    emu.add_team("acme", "team-02")
    emu.add_members("acme", 10_000, pending_ratio=0.0, roles={"member": 1.0})
    code = _readme_roster_block()
    async with emu.serve() as url, SentryClient(emu.add_token("acme"), base_url=url) as client:
        acme = client.org("acme")
        out = await _run_block(code, acme)
        assert [r for r in emu.find("DELETE")] == []
        assert sorted(r.method for r in emu.find("POST")) == ["POST"] * 3  # the 3 invites
        assert len(emu.members("acme")) == 10_001 + 3
        assert "{'created': 3}" in out
        # The same code asked to remove the missing: refused, naming the number and the flag.
        asked = code.replace("acme.plan(desired)", "acme.plan(desired, remove_missing=True)")
        assert asked != code
        with pytest.raises(MassRemovalError, match=r"would remove 10000 .*allow_mass_removal=True"):
            await _run_block(asked, acme)
    assert emu.find("DELETE") == []
