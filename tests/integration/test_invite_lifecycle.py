"""The invite lifecycle over HTTP: pending invites with their age, re-invites under the
daily quota, and a bulk cleanup of old invites.

Sentry: the member list's ``isInvited:true`` (members with no user yet,
src/sentry/api/endpoints/organization_member/index.py), ``dateCreated``,
``expired`` and ``inviterName`` (``OrganizationMemberSerializer`` in
src/sentry/api/serializers/models/organization_member/base.py); a re-invite of a
pending member goes through ``for_organization_member_invite`` before it is sent
(``put`` in src/sentry/api/endpoints/organization_member/details.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from sentry_members_async import InviteQuotaError, OutcomeKind, SentryClient
from sentry_members_async.testing import SentryEmulator

K = OutcomeKind
M = "/api/0/organizations/acme/members/"
DAY = dt.timedelta(days=1)


def _aged(emu: SentryEmulator, email: str, days: float, *, expired: bool = False) -> None:
    """Make the invite of ``email`` ``days`` old on the server (and its link expired).

    The emulator dates what it creates from a seeded clock; these set it from now.
    """
    member = emu.member("acme", email)
    assert member is not None
    member.date_created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    member.token_expired = expired


async def test_invites_lists_pending_invites_with_age_and_inviter() -> None:
    emu = SentryEmulator(seed=4, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 5, pending_ratio=0.0)
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        for email in ("old@example.com", "expired@example.com", "new@example.com"):
            await acme.members.invite(email)
        _aged(emu, "old@example.com", 40)
        _aged(emu, "expired@example.com", 45, expired=True)
        _aged(emu, "new@example.com", 0)
        me = await acme.members.get("me")
        invites = [i async for i in acme.members.invites()]
        stale = [i.email async for i in acme.members.invites(older_than=30 * DAY)]
    assert [i.email for i in invites] == [
        "old@example.com",
        "expired@example.com",
        "new@example.com",
    ]
    assert stale == ["old@example.com", "expired@example.com"]
    assert [i.expired for i in invites] == [False, True, False]
    ages = [i.age for i in invites]
    assert all(a is not None for a in ages)
    assert 40 * DAY <= ages[0] <= 40 * DAY + dt.timedelta(minutes=5)  # type: ignore[operator]
    assert ages[2] < dt.timedelta(minutes=5)  # type: ignore[operator]
    assert {i.inviter for i in invites} == {me.name or me.email}  # the token's owner sent them
    assert all(i.member.pending for i in invites)
    queries = [r.params.get("query") for r in emu.find("GET", M) if r.params]
    assert queries == ["isInvited:true"] * 2  # one page each


async def test_cleanup_revokes_the_old_invites_only() -> None:
    emu = SentryEmulator(seed=4, rate_limit=None)
    emu.add_org("acme")
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        for i in range(5):
            await acme.members.invite(f"p{i}@example.com")
        _aged(emu, "p0@example.com", 31)
        _aged(emu, "p1@example.com", 60, expired=True)
        for i, days in ((2, 29), (3, 1), (4, 0)):
            _aged(emu, f"p{i}@example.com", days)
        expired = await acme.bulk.cleanup_invites(older_than_days=30, expired_only=True)
        old = await acme.bulk.cleanup_invites(older_than_days=30)
        with pytest.raises(ValueError, match="older_than_days"):
            await acme.bulk.cleanup_invites(older_than_days=-1)
    assert [(o.kind, o.member_id) for o in expired] == [(K.REMOVED, expired[0].member_id)]
    assert [o.kind for o in old] == [K.REMOVED]
    deleted = [r.path.rsplit("/", 2)[-2] for r in emu.find("DELETE", M + "*/")]
    assert len(deleted) == 2
    left = sorted(m["email"] for m in emu.members("acme") if m["pending"])
    assert left == ["p2@example.com", "p3@example.com", "p4@example.com"]


async def test_reinvite_respects_the_daily_quota() -> None:
    emu = SentryEmulator(seed=4, rate_limit=None, invite_quotas=True)
    emu.add_org("acme")
    emu.add_members("acme", 1, pending_ratio=0.0)
    accepted = emu.members("acme")[-1]["email"]
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        emails = [f"p{i:03d}@example.com" for i in range(98)]
        report = await acme.bulk.invite(emails)
        assert report.counts() == {K.CREATED: 98}
        again = await acme.bulk.reinvite(
            [emails[0], accepted, "ghost@example.com", emails[1], *emails[2:10]], concurrency=1
        )
        with pytest.raises(InviteQuotaError):
            await acme.members.reinvite(again[0].member_id)  # type: ignore[arg-type]
    # 98 invites and 2 re-invites fill the token's 100 a day; the third is refused.
    assert [o.kind for o in again][:5] == [
        K.UPDATED,
        K.ALREADY_MEMBER,
        K.NOT_FOUND,
        K.UPDATED,
        K.DEFERRED,
    ]
    assert [o.kind for o in again][5:] == [K.DEFERRED] * 7
    assert isinstance(again.quota, InviteQuotaError)
    assert again.deferred() == emails[2:10]
    puts = [r.status for r in emu.find("PUT", M + "*/")]
    assert puts == [200, 200, 429, 429]  # nothing sent after the first refusal, then the single
