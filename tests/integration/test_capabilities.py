"""Capability preflight over the emulator: what the token cannot do is refused before any
request, and an IdP-provisioned member's removal goes through SCIM when a SCIM token is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sentry_members_async import BadRequestError, DesiredMember, OutcomeKind, SentryClient
from sentry_members_async.reconcile import ChangeRefusedError
from sentry_members_async.testing import SentryEmulator

K = OutcomeKind
WRITES = ("POST", "PUT", "DELETE", "PATCH")
REST = "/api/0/organizations/acme/members/{}/"
SCIM = "/api/0/organizations/acme/scim/v2/Users/{}"


def writes(emu: SentryEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.find() if r.method in WRITES]


@pytest.fixture(params=["latest", "23.7"])
def emu(request: pytest.FixtureRequest) -> SentryEmulator:
    emulator = SentryEmulator(seed=6, rate_limit=None, invite_quotas=False, profile=request.param)
    emulator.add_org("acme", scim=True)
    emulator.add_team("acme", "backend")
    emulator.add_member("acme", "dev@example.com", teams=["backend"])
    emulator.add_member("acme", "ops@example.com", role="manager")
    emulator.add_member("acme", "pushed@example.com", flags={"idp:provisioned": True})
    emulator.add_member("acme", "mapped@example.com", flags={"idp:role-restricted": True})
    return emulator


@pytest.fixture
async def url(emu: SentryEmulator) -> AsyncIterator[str]:
    async with emu.serve(close_connections=False) as base_url:
        yield base_url


def whole_org(emu: SentryEmulator) -> dict[str, DesiredMember]:
    return {m["email"]: DesiredMember(m["email"], m["role"]) for m in emu.members("acme")}


async def test_an_integration_token_role_change_ends_refused_before_any_request(
    emu: SentryEmulator, url: str
) -> None:
    token = emu.add_token("acme", kind="integration")
    async with SentryClient(token, base_url=url) as client:
        acme = client.org("acme")
        roster = whole_org(emu)
        roster["dev@example.com"] = DesiredMember("dev@example.com", "manager")
        roster["new@example.com"] = DesiredMember("new@example.com", "manager")
        roster["plain@example.com"] = DesiredMember("plain@example.com", "member")
        plan = await acme.plan(roster.values())
        assert sorted(plan.diff().splitlines()) == sorted(
            [
                "! ~ dev@example.com: role member -> manager  [refused: an integration token "
                "cannot change org roles to manager (it has no org role to assign from: Sentry "
                "answers 400 'You do not have permission to set that org-level role'); use a "
                "user auth token of an Owner or Manager (Settings > Auth Tokens, scope "
                "member:admin)]",
                "! + invite new@example.com as manager  [refused: an integration token cannot "
                "invite as manager (it has no org role to assign from: Sentry answers 400 'You "
                "do not have permission to set that org-level role'); use a user auth token of "
                "an Owner or Manager (Settings > Auth Tokens, scope member:admin)]",
                "+ invite plain@example.com as member",
                "3 changes: 2 invites, 1 role change (2 refused)",
            ]
        )
        emu.reset_log()
        report = await acme.apply(plan)
    by_email = {c.email: o for c, o in zip(plan.changes, report, strict=True)}
    for email in ("dev@example.com", "new@example.com"):
        assert by_email[email].kind is K.REFUSED
        error = by_email[email].error
        assert isinstance(error, ChangeRefusedError)
        assert "an integration token cannot" in error.reason
        assert "user auth token of an Owner or Manager" in error.how
    # The only write: the member invite. No PUT for dev, no POST for the manager invite.
    assert writes(emu) == [("POST", "/api/0/organizations/acme/members/")]
    if emu.profile.name == "23.7":
        # 23.7.1 gives an integration token no role at all (get_allowed_org_roles finds no
        # member): the server refuses even a member invite, which no read here can tell.
        assert by_email["plain@example.com"].kind is K.FAILED
        assert isinstance(by_email["plain@example.com"].error, BadRequestError)
    else:
        assert by_email["plain@example.com"].kind is K.CREATED
    assert emu.find("POST")[0].json()["email"] == "plain@example.com"
    assert emu.member("acme", "dev@example.com").role == "member"  # type: ignore[union-attr]


async def test_idp_flags_refuse_or_route_before_any_request(emu: SentryEmulator, url: str) -> None:
    token = emu.add_token("acme")
    scim_token = emu.add_token("acme", kind="scim")
    pushed = emu.member("acme", "pushed@example.com")
    assert pushed is not None
    roster = whole_org(emu)
    del roster["pushed@example.com"]
    roster["mapped@example.com"] = DesiredMember("mapped@example.com", "manager")

    # Without a SCIM token: the removal is refused, saying how to do it.
    async with SentryClient(token, base_url=url) as client:
        plan = await client.org("acme").plan(roster.values(), remove_missing=True)
        lines = plan.diff().splitlines()
        assert lines[1].startswith(
            "! - remove pushed@example.com (member)  [refused: pushed@example.com was "
            "provisioned by the identity provider (idp:provisioned)"
        )
        assert "configure a SCIM token" in lines[1]
        assert lines[0].startswith(
            "! ~ mapped@example.com: role member -> manager  [refused: mapped@example.com's "
            "org role is managed by the identity provider (idp:role-restricted)"
        )
        emu.reset_log()
        report = await client.org("acme").apply(plan)
        assert [o.kind for o in report] == [K.REFUSED, K.REFUSED]
        assert all(isinstance(o.error, ChangeRefusedError) for o in report)
        assert writes(emu) == []

    # With a SCIM token configured: the removal goes through SCIM.
    async with SentryClient(token, base_url=url, scim_token=scim_token) as client:
        acme = client.org("acme")
        plan = await acme.plan(roster.values(), remove_missing=True)
        assert "- remove pushed@example.com (member) via SCIM (provisioned by the identity " in (
            plan.diff()
        )
        emu.reset_log()
        report = await acme.apply(plan)
    removal = next(
        o for c, o in zip(plan.changes, report, strict=True) if c.email == "pushed@example.com"
    )
    assert (removal.kind, removal.via) == (K.REMOVED, "scim")
    assert emu.member("acme", "pushed@example.com") is None
    assert len(emu.find("DELETE", SCIM.format(pushed.id))) == 1
