"""Privilege alerts in the feed (issue 29 #3): an owner granted, 2FA turned off, an SSO link lost.

The emulator's state is changed between two polls as Sentry's database would
be (a role set by another owner, a user who removed their authenticator, an
SSO identity unlinked); the watcher must report each once, from the same list
pages as a poll without alerts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from sentry_members_async import Org, SentryClient
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.state import Member
from sentry_members_async.watch import MemoryStore


@pytest.fixture
def emu() -> SentryEmulator:
    emu = SentryEmulator(seed=29, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 240, pending_ratio=0.05, roles={"member": 1.0})  # 3 pages
    return emu


@pytest.fixture
async def acme(emu: SentryEmulator) -> AsyncIterator[Org]:
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        yield client.org("acme")


def three_members(emu: SentryEmulator) -> tuple[Member, Member, Member]:
    """Three accepted members: one to promote, one with 2FA, one linked to SSO."""
    rows = [m for m in emu.members("acme") if not m["pending"] and m["role"] == "member"]
    found = [emu.member("acme", str(row["email"])) for row in rows[10:13]]
    promoted, two_fa, linked = (m for m in found if m is not None)
    assert two_fa.user_id is not None
    emu.state.users[two_fa.user_id].has_2fa = True
    linked.flags["sso:linked"] = True
    return promoted, two_fa, linked


def poll_requests(emu: SentryEmulator, since: int) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.params) for r in emu.requests[since:]]


async def test_one_alert_each_and_no_request_more(emu: SentryEmulator, acme: Org) -> None:
    promoted, two_fa, linked = three_members(emu)
    watch = acme.members.watch(store=MemoryStore(), budget=None)
    assert await watch.poll() == []  # the baseline
    mark = len(emu.requests)
    assert await watch.poll() == []  # a poll with nothing to say
    quiet = poll_requests(emu, mark)
    # the list's pages (prefetched: one may be past the end), nothing else
    assert len(quiet) >= -(-len(emu.members("acme")) // 100) == 3
    assert {path for _, path, _ in quiet} == {"/api/0/organizations/acme/members/"}

    promoted.role = "owner"  # another owner made them one
    assert two_fa.user_id is not None
    emu.state.users[two_fa.user_id].has_2fa = False  # the authenticator was removed
    linked.flags["sso:linked"] = False  # the SSO identity was unlinked
    mark = len(emu.requests)
    events = await watch.poll()
    assert poll_requests(emu, mark) == quiet  # the same pages, nothing more

    alerts = [(e.kind, e.member_id) for e in events if e.is_alert]
    assert sorted(alerts) == sorted(
        [
            ("role_raised", str(promoted.id)),
            ("2fa_disabled", str(two_fa.id)),
            ("sso_link_lost", str(linked.id)),
        ]
    )
    assert [(e.kind, e.member_id) for e in events if not e.is_alert] == [
        ("role_changed", str(promoted.id))
    ]
    raised = next(e for e in events if e.kind == "role_raised")
    assert raised.describe().endswith(": member -> owner")
    lost = next(e for e in events if e.kind == "sso_link_lost")
    assert lost.before is not None
    assert lost.before.sso_linked
    assert lost.member is not None
    assert not lost.member.sso_linked
    assert await watch.poll() == []  # once each

    # SSO link invalid, then IdP flags: one alert each too
    linked.flags["sso:linked"] = True
    assert await watch.poll() == []  # linked again: not an alert
    linked.flags["sso:invalid"] = True
    promoted.flags["idp:provisioned"] = True
    events = await watch.poll()
    assert sorted((e.kind, e.member_id) for e in events) == sorted(
        [("sso_link_lost", str(linked.id)), ("idp_changed", str(promoted.id))]
    )
    assert all(e.is_alert for e in events)
    await watch.aclose()


def test_cli_alerts_prints_only_the_alerts(emu: SentryEmulator, tmp_path: object) -> None:
    promoted, two_fa, _ = three_members(emu)
    token = emu.add_token("acme")
    with emu.serve_in_thread() as url:
        env = {**os.environ, "SENTRY_URL": url, "SENTRY_ORG": "acme", "SENTRY_AUTH_TOKEN": token}
        state = str(tmp_path)

        def watch(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "sentry_members_async", "members", "watch", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        first = watch("--once", "--alerts", "--state-dir", state)
        assert (first.returncode, first.stdout) == (0, ""), first.stderr
        promoted.role = "manager"
        assert two_fa.user_id is not None
        emu.state.users[two_fa.user_id].has_2fa = False
        emu.sso_login("acme", "newcomer@acme.example.com")  # joined: not an alert
        second = watch("--once", "--alerts", "--state-dir", state)
        assert second.returncode == 0, second.stderr
        lines = [json.loads(line) for line in second.stdout.splitlines()]
        assert all(e["alert"] for e in lines)  # jq 'select(.alert)' on a full feed
        assert sorted((e["kind"], e["member_id"]) for e in lines) == sorted(
            [("role_raised", str(promoted.id)), ("2fa_disabled", str(two_fa.id))]
        )
        third = watch("--once", "--state-dir", state)  # nothing held back for later
        assert (third.returncode, third.stdout) == (0, ""), third.stderr
