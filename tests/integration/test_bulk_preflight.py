"""Bulk changes the token cannot make are refused before they are sent (api/capabilities.py).

An organization integration's token has no member behind it (``members/me/``
answers 404): it invites ``member`` only (``OrganizationMemberIndexEndpoint.post``
in src/sentry/api/endpoints/organization_member/index.py) and may set no org role
(``test_with_internal_integration`` in
tests/sentry/api/endpoints/test_organization_member_details.py).
"""

from __future__ import annotations

from sentry_members_async import InviteRow, OutcomeKind, SentryClient
from sentry_members_async.api.capabilities import ChangeRefusedError
from sentry_members_async.rows import RoleRow
from sentry_members_async.testing import SentryEmulator

K = OutcomeKind
M = "/api/0/organizations/acme/members/"


async def test_an_integration_token_is_refused_what_it_cannot_do_before_sending() -> None:
    emu = SentryEmulator(seed=6, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 3, pending_ratio=0.0, roles={"member": 1.0})
    target = next(m for m in emu.members("acme") if m["role"] == "member")["email"]
    token = emu.add_token("acme", kind="integration")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        invited = await acme.bulk.invite(
            [InviteRow("m@example.com"), InviteRow("boss@example.com", role="manager")]
        )
        roles = await acme.bulk.set_roles([RoleRow(target, "manager")])
    assert [o.kind for o in invited] == [K.CREATED, K.REFUSED]
    assert isinstance(invited[1].error, ChangeRefusedError)
    assert "invite boss@example.com as manager" in str(invited[1].error)
    assert [o.kind for o in roles] == [K.REFUSED]
    assert isinstance(roles[0].error, ChangeRefusedError)
    assert [r.json()["email"] for r in emu.find("POST", M)] == ["m@example.com"]
    assert emu.find("PUT", M + "*/") == []  # the role change was never sent
    assert len(emu.find("GET", M + "me/")) == 2  # who the token is: read once a run


async def test_a_run_of_member_invites_reads_no_caller() -> None:
    emu = SentryEmulator(seed=6, rate_limit=None)
    emu.add_org("acme")
    token = emu.add_token("acme")
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        report = await client.org("acme").bulk.invite(["a@example.com", "b@example.com"])
    assert report.counts() == {K.CREATED: 2}
    assert emu.find("GET", M + "me/") == []


async def test_a_token_that_may_not_read_members_leaves_it_to_the_server() -> None:
    emu = SentryEmulator(seed=6, rate_limit=None)
    emu.add_org("acme")
    token = emu.add_token("acme", scopes=["member:invite"])
    async with emu.serve() as url, SentryClient(token, base_url=url) as client:
        report = await client.org("acme").bulk.invite(
            [InviteRow("mgr@example.com", role="manager")], precheck="off"
        )
    # members/me/ refused (403): no preflight; the invite is sent and Sentry answers.
    assert [r.status for r in emu.find("GET", M + "me/")] == [403]
    assert len(emu.find("POST", M)) == 1
    assert [o.kind for o in report] == [K.CREATED]  # the owner's token may give manager
