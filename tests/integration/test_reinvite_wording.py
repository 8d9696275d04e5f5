"""Re-inviting an address, on both of Sentry's wordings, over HTTP.

Sentry's ``OrganizationMemberRequestSerializer.validate_email``
(src/sentry/core/endpoints/organization_member_index.py; Sentry's
``test_invalid_email`` in tests/sentry/core/endpoints/test_organization_member_index.py)
answers a pending invitee with ``"The user X has already been invited"`` and an
accepted member with ``"The user X is already a member"``; older versions said
the latter for both (the emulator's ``legacy_reinvite_message``). Neither may
end as *failed*.
"""

from __future__ import annotations

import pytest

from sentry_members_async import BadRequestError, OutcomeKind, SentryClient
from sentry_members_async.retry import RetryPolicy
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.testing.faults import ResetAfter, Slow

M = "/api/0/organizations/acme/members/"


def _emulator(legacy: bool) -> SentryEmulator:
    emu = SentryEmulator(seed=3, rate_limit=None)
    emu.add_org("acme", legacy_reinvite_message=legacy)
    return emu


@pytest.mark.parametrize("precheck", ["lookup", "off"])
@pytest.mark.parametrize("legacy", [False, True], ids=["has-already-been-invited", "legacy"])
async def test_pending_invitee_reinvited_is_already_invited(legacy: bool, precheck: str) -> None:
    # With the lookup, bulk.invite finds the two already there and sends them
    # nothing; without it, Sentry's answer (either wording) says the same.
    emu = _emulator(legacy)
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        first = await acme.members.invite("pending@example.com")
        emu.add_members("acme", 1, pending_ratio=0.0)
        accepted = emu.members("acme")[-1]["email"]
        report = await acme.bulk.invite(
            [
                {"email": "pending@example.com"},
                {"email": accepted},
                {"email": "fresh@example.com"},
            ],
            precheck=precheck,  # type: ignore[arg-type]
        )
        with pytest.raises(BadRequestError) as info:
            await acme.members.invite("pending@example.com")
    wording = "is already a member" if legacy else "has already been invited"
    assert info.value.field_errors == {"email": [f"The user pending@example.com {wording}"]}
    posts = [(r.json()["email"], r.status) for r in emu.find("POST", M)]
    refused = [("pending@example.com", 400), (accepted, 400)] if precheck == "off" else []
    assert posts[0] == ("pending@example.com", 201)
    assert posts[-1] == ("pending@example.com", 400)  # the single invite, after the bulk run
    assert sorted(posts[1:-1]) == sorted([*refused, ("fresh@example.com", 201)])
    assert [o.kind for o in report] == [
        OutcomeKind.ALREADY_INVITED,
        OutcomeKind.ALREADY_MEMBER,
        OutcomeKind.CREATED,
    ]
    assert report[0].member_id == first.id
    assert report.ok
    assert emu.invites_created("acme") == {"pending@example.com": 1, "fresh@example.com": 1}


@pytest.mark.parametrize("legacy", [False, True], ids=["has-already-been-invited", "legacy"])
async def test_invite_whose_first_answer_was_lost_is_created(legacy: bool) -> None:
    # The first POST is slow and times out; the look-up runs before it lands, so
    # the POST is sent again and refused as a pending invite: created, not failed.
    emu = _emulator(legacy)
    token = emu.add_token("acme")
    emu.inject("POST", M, Slow(0.6), calls={1})
    no_jitter = RetryPolicy(jitter=lambda low, high: high)
    async with (
        emu.serve() as url,
        SentryClient(token, base_url=url, timeout=0.3, retry=no_jitter) as client,
    ):
        report = await client.org("acme").bulk.invite([{"email": "once@example.com"}])
    assert [(r.method, r.status) for r in emu.requests] == [
        ("GET", 200),  # who is already there: one lookup for the batch
        ("GET", 200),  # the look-up after the lost answer
        ("POST", 201),
        ("POST", 400),
        ("GET", 200),
    ]
    assert [o.kind for o in report] == [OutcomeKind.CREATED]
    assert emu.invites_created("acme") == {"once@example.com": 1}


@pytest.mark.parametrize("legacy", [False, True], ids=["has-already-been-invited", "legacy"])
async def test_invite_answer_lost_after_it_applied_is_created(legacy: bool) -> None:
    emu = _emulator(legacy)
    token = emu.add_token("acme")
    emu.inject("POST", M, ResetAfter(), calls={1})
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        member, status = await acme.members.invite_status("lost@example.com")
        again, second = await acme.members.invite_status("lost@example.com", role="member")
    assert (status, second) == ("created", "already_invited")
    assert again.id == member.id
    assert emu.invites_created("acme") == {"lost@example.com": 1}
