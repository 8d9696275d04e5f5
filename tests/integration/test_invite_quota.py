"""The daily invite quota (sentry.io) and SCIM provisioning, over HTTP.

Sentry: ``for_organization_member_invite`` and ``DEFAULT_CONFIG`` in
src/sentry/ratelimits/utils.py (100 invites per user or token and per
organization per 24 h, 10 per address per organization), applied in
``OrganizationMemberIndexEndpoint.post`` after validation; SCIM ``POST Users``
does not go through it.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from sentry_members_async import (
    BadRequestError,
    DesiredMember,
    InviteQuotaError,
    InviteRow,
    OutcomeKind,
    RateLimitedError,
    SentryClient,
)
from sentry_members_async.reconcile import AddToTeam, ChangeRole, Invite
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import ResetAfter

M = "/api/0/organizations/acme/members/"
QUOTA = {"detail": "You are being rate limited for too many invitations."}


def _sentry_io() -> SentryEmulator:
    emu = SentryEmulator.sentry_io(seed=11)
    emu.add_org("acme", scim=True)
    return emu


def _rows(n: int, start: int = 0) -> list[InviteRow]:
    return [InviteRow(f"person{i:04d}@example.com") for i in range(start, start + n)]


def _statuses(emu: SentryEmulator, start: int = 0) -> list[int | None]:
    return [r.status for r in emu.find("POST", M)][start:]


async def test_bulk_invite_of_300_creates_100_and_defers_200() -> None:
    emu = _sentry_io()
    token = emu.add_token("acme")
    rows = _rows(300)
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        report = await acme.bulk.invite(rows)
        posts = _statuses(emu)
        # In parallel from the start: the invites in flight when the first quota
        # answer came are refused too (at most one per worker), then nothing is sent.
        assert posts.count(201) == 100
        assert 1 <= posts.count(429) <= 16
        assert len(posts) == 100 + posts.count(429)
        assert report.counts() == {OutcomeKind.CREATED: 100, OutcomeKind.DEFERRED: 200}
        assert isinstance(report.quota, InviteQuotaError)
        assert report.quota.retry_after is None
        assert report.quota_resets_at is not None
        assert report.quota_resets_at.timestamp() % 86400 == 0  # 00:00 UTC: Sentry's window
        assert 0 < report.quota_resets_at.timestamp() - time.time() <= 86400
        assert not report.ok
        deferred = report.deferred()
        assert len(deferred) == 200
        created = {o.index for o in report if o.kind is OutcomeKind.CREATED}
        assert {r.email for r in deferred} == {rows[i].email for i in range(300)} - {
            rows[i].email for i in created
        }
        assert all(report[i].error is report.quota for i in range(300) if i not in created)
        assert client.stats.retries == 0  # the quota answer was never retried
        # One POST per address at most, and none for the deferred rows never sent.
        per_address = Counter(r.json()["email"] for r in emu.find("POST", M))
        assert set(per_address.values()) == {1}

        # The same day, a re-run is refused at once: nothing created.
        sent = len(posts)
        again = await acme.bulk.invite(deferred)
        assert again.counts() == {OutcomeKind.DEFERRED: 200}
        assert set(_statuses(emu, sent)) == {429}
        assert 1 <= len(_statuses(emu, sent)) <= 16

        # A day later the quotas are lifted: the next 100 are created.
        sent = len(_statuses(emu))
        emu.advance(days=1)
        next_day = await acme.bulk.invite(deferred)
        assert next_day.counts() == {OutcomeKind.CREATED: 100, OutcomeKind.DEFERRED: 100}
        assert _statuses(emu, sent).count(201) == 100
        assert _statuses(emu, sent).count(429) <= 16
    invited = {m["email"] for m in emu.members("acme") if m["pending"]}
    assert len(invited) == 200
    assert all(n == 1 for n in emu.invites_created("acme").values())


async def test_bulk_invite_via_scim_creates_all_300_at_once() -> None:
    emu = _sentry_io()
    token = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    async with (
        emu.serve() as url,
        SentryClient(token, base_url=url, scim_token=scim) as client,
    ):
        report = await client.org("acme").bulk.invite(_rows(300), via="scim")
    assert report.counts() == {OutcomeKind.CREATED: 300}
    assert report.ok
    assert emu.find("POST", M) == []
    posts = emu.find("POST", "/api/0/organizations/acme/scim/v2/Users")
    assert {r.status for r in posts} == {201}
    assert len(posts) == 300
    state = [m for m in emu.members("acme") if m["pending"]]
    assert len(state) == 300
    assert all(m["flags"]["idp:provisioned"] for m in state)
    assert [o.member_id for o in report] == [
        str(emu.member("acme", r.email).id)  # type: ignore[union-attr]
        for r in _rows(300)
    ]


async def test_scim_provision_exactly_once_and_409_outcomes() -> None:
    emu = _sentry_io()
    token = emu.add_token("acme")
    scim = emu.add_token("acme", kind="scim")
    users = "/api/0/organizations/acme/scim/v2/Users"
    emu.inject("POST", users, ResetAfter(), calls={1})
    emu.add_members("acme", 1, pending_ratio=0.0)
    accepted = emu.members("acme")[-1]["email"]
    async with (
        emu.serve() as url,
        SentryClient(token, base_url=url, scim_token=scim) as client,
    ):
        acme = client.org("acme")
        await acme.members.invite("pending@example.com")
        report = await acme.bulk.invite(
            [
                {"email": "lost@example.com"},  # the answer is lost, the POST applied
                {"email": "pending@example.com"},
                {"email": accepted},
                {"email": "boss@example.com", "role": "owner"},
                {"email": "mgr@example.com", "role": "manager"},
            ],
            via="scim",
            concurrency=1,
        )
    assert [o.kind for o in report] == [
        OutcomeKind.CREATED,
        OutcomeKind.ALREADY_INVITED,
        OutcomeKind.ALREADY_MEMBER,
        OutcomeKind.FAILED,
        OutcomeKind.CREATED,
    ]
    assert "SCIM cannot provision owners" in str(report[3].error)
    assert emu.invites_created("acme")["lost@example.com"] == 1
    posts = [(r.json()["userName"], r.status) for r in emu.find("POST", users)]
    assert posts == [  # the two already there were found before: no POST for them
        ("lost@example.com", None),
        ("mgr@example.com", 201),
    ]
    assert emu.find("POST", users)[-1].json() == {
        "userName": "mgr@example.com",
        "sentryOrgRole": "manager",
    }
    assert emu.member("acme", "mgr@example.com").role == "manager"  # type: ignore[union-attr]


async def test_quota_error_is_typed_and_never_retried() -> None:
    emu = SentryEmulator(seed=1, rate_limit=None)
    emu.add_org("acme", invite_rate_limits=True)
    token = emu.add_token("acme")
    async with (
        emu.serve() as url,
        SentryClient(token, base_url=url, retry=RetryPolicy(max_attempts=6)) as client,
    ):
        acme = client.org("acme")
        for i in range(100):
            await acme.members.invite(f"p{i}@example.com")
        with pytest.raises(InviteQuotaError) as info:
            await acme.members.invite("one-too-many@example.com")
        # Validation precedes the quota: an invalid or repeated invite is still a 400.
        with pytest.raises(BadRequestError):
            await acme.members.invite("p1@example.com")
    assert isinstance(info.value, RateLimitedError)
    assert info.value.status == 429
    assert info.value.body == QUOTA
    assert info.value.attempts == 1
    assert [r.status for r in emu.find("POST", M)][-2:] == [429, 400]
    assert client.stats.retries == 0


async def test_quota_per_address_and_per_org_and_window() -> None:
    emu = SentryEmulator(seed=1, rate_limit=None, invite_quotas=True)
    emu.add_org("acme")
    owner = emu.add_token("acme")
    other = emu.add_token("acme", role="manager")
    async with emu.serve() as url:
        async with SentryClient(owner, base_url=url) as client:
            acme = client.org("acme")
            for _ in range(10):  # ten invites of one address a day, then refused
                member = await acme.members.invite("spam@example.com")
                await acme.members.remove(member.id)
            with pytest.raises(InviteQuotaError):
                await acme.members.invite("spam@example.com")
            for i in range(89):
                await acme.members.invite(f"o{i}@example.com")
        # 100 attempts by the owner's token today (the refused one counts too):
        # a second user's token is stopped by the organization's 100.
        async with SentryClient(other, base_url=url) as client2:
            with pytest.raises(InviteQuotaError):
                await client2.org("acme").members.invite("m0@example.com")
            emu.advance(days=1)
            created = await client2.org("acme").members.invite("m0@example.com")
    assert created.pending


async def test_apply_defers_invites_past_the_quota_and_carries_on() -> None:
    emu = _sentry_io()
    emu.add_team("acme", "team-01")
    emu.add_members("acme", 2, pending_ratio=0.0)
    existing = next(m for m in emu.members("acme") if m["role"] == "member")
    token = emu.add_token("acme")
    new = [f"person{i:04d}@example.com" for i in range(105)]
    # The role change and team add come after every invite in the plan: the
    # quota stops the invites, not them.
    desired = [DesiredMember(e) for e in new] + [
        DesiredMember(
            existing["email"], "manager", {**dict.fromkeys(existing["teams"]), "team-01": None}
        )
    ]
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        plan = await acme.plan(desired, remove_missing=False)
        assert [type(ch) for ch in plan.changes] == [Invite] * 105 + [ChangeRole, AddToTeam]
        report = await acme.apply(plan)
        posts = [r.status for r in emu.find("POST", M)]
        # In parallel: the invites in flight at the first quota answer are refused too.
        assert posts.count(201) == 100
        assert 1 <= posts.count(429) <= 16
        assert len(posts) == 100 + posts.count(429)
        assert report.counts() == {
            OutcomeKind.CREATED: 101,  # 100 invites and the team add
            OutcomeKind.DEFERRED: 5,
            OutcomeKind.UPDATED: 1,
        }
        assert isinstance(report.quota, InviteQuotaError)
        assert not report.ok
        assert report.failures() == []
        deferred = report.deferred()
        assert all(isinstance(ch, Invite) for ch in deferred)
        invited = {m["email"] for m in emu.members("acme") if m["pending"]}
        assert len(invited) == 100
        assert {ch.email for ch in deferred if isinstance(ch, Invite)} == set(new) - invited
        assert all(o.error is report.quota for o in report if o.kind is OutcomeKind.DEFERRED)
        assert [report[105].kind, report[106].kind] == [OutcomeKind.UPDATED, OutcomeKind.CREATED]
        after = {m["email"]: m for m in emu.members("acme")}[existing["email"]]
        assert after["role"] == "manager"
        assert "team-01" in after["teams"]
        assert client.stats.retries == 0

        # A day later the quota is lifted: the next plan invites the 5 left.
        emu.advance(days=1)
        again = await acme.apply(await acme.plan(desired, remove_missing=False))
        assert again.counts() == {OutcomeKind.CREATED: 5}
        assert _statuses(emu, len(posts)) == [201] * 5
