"""The capability rules (``api/capabilities.py``) as a table: no server, no request."""

from __future__ import annotations

import pytest

from sentry_members_async.api.capabilities import (
    Caller,
    caller_of,
    check_invite,
    check_removal,
    check_role_change,
)
from sentry_members_async.models import Flags, Member, MemberId, OrgRole

ME = MemberId("1")


def member(role: str = "member", *, idp: bool = False, restricted: bool = False) -> Member:
    flags = Flags(idp_provisioned=idp, idp_role_restricted=restricted)
    return Member(id=MemberId("7"), email="a@example.com", org_role=role, flags=flags)


def user(role: str, *, scim: bool = False) -> Caller:
    return caller_of(Member(id=ME, email="me@example.com", org_role=role), scim=scim)


INTEGRATION = caller_of(None)


@pytest.mark.parametrize(
    ("caller", "target", "new", "refused_because"),
    [
        (user("owner"), member(), "manager", None),
        (user("owner"), member("manager"), "member", None),
        (user("manager"), member(), "manager", None),
        (user("manager"), member(), "owner", "owner is above your own role (manager)"),
        (user("manager"), member("owner"), "member", "is owner, above your own role (manager)"),
        (user("owner"), member(), "admin", "the role 'admin' is retired"),
        (user("owner"), member(restricted=True), "manager", "managed by the identity provider"),
        (INTEGRATION, member(), "manager", "an integration token cannot change org roles"),
        (INTEGRATION, member(), "member", "an integration token cannot change org roles"),
        (user("owner"), Member(id=ME, email="me@example.com", org_role="owner"), "member",
         "your own role"),
        # A role this package cannot rank is the server's to decide.
        (user("owner"), member(), "lead", None),
    ],
)  # fmt: skip
def test_role_change(caller: Caller, target: Member, new: str, refused_because: str | None) -> None:
    verdict = check_role_change(caller, target, new)
    assert verdict.allowed is (refused_because is None)
    if refused_because is not None:
        assert refused_because in verdict.reason
        assert verdict.how  # always says what to do instead


@pytest.mark.parametrize(
    ("caller", "role", "allowed"),
    [
        (INTEGRATION, "member", True),
        (INTEGRATION, "billing", True),
        (INTEGRATION, "manager", False),
        (user("manager"), "manager", True),
        (user("manager"), "owner", False),
        (user("owner"), "admin", False),
    ],
)
def test_invite(caller: Caller, role: str, allowed: bool) -> None:
    assert check_invite(caller, role).allowed is allowed


def test_removal_rules() -> None:
    assert check_removal(user("owner"), member("manager")).allowed
    above = check_removal(user("manager"), member("owner"))
    assert not above.allowed
    assert "more access than you" in above.reason
    assert check_removal(user("member"), Member(id=ME, email="me@example.com")).allowed  # leave
    idp = check_removal(user("owner"), member(idp=True))
    assert (idp.allowed, "configure a SCIM token" in idp.how) == (False, True)
    routed = check_removal(user("owner", scim=True), member(idp=True))
    assert (routed.allowed, routed.route) == (True, "scim")


def test_the_catalogue_names_the_retired_roles() -> None:
    catalogue = (OrgRole(id="admin", is_retired=False), OrgRole(id="manager"))
    me = Member(id=ME, email="me@example.com", org_role="owner", org_role_list=catalogue)
    caller = caller_of(me)
    assert caller.retired == frozenset()
    assert check_role_change(caller, member(), "admin").allowed
    assert caller_of(None).kind == "integration"


def test_the_org_roles_teams_give_count_for_the_caller() -> None:
    me = Member(
        id=ME,
        email="me@example.com",
        org_role="member",
        extra={"orgRolesFromTeams": [{"teamSlug": "leads", "role": {"id": "manager"}}]},
    )
    caller = caller_of(me)
    assert caller.role == "manager"
    assert check_removal(caller, member("manager")).allowed
    assert not check_removal(caller, member("owner")).allowed
