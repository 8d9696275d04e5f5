"""The plan's team-role rule, without a server: roles compared as held, not as stored."""

from __future__ import annotations

import pytest

from sentry_members_async.models import Member, MemberId
from sentry_members_async.reconcile import SetTeamRole
from sentry_members_async.reconcile.compare import _team_changes


def _member(role: str) -> Member:
    return Member(id=MemberId("7"), email="a@example.com", org_role=role)


@pytest.mark.parametrize(
    ("org_role", "new_role", "listed", "wanted", "expected"),
    [
        # A manager or owner holds admin on every team: NULL (23.7.1) or admin (newer).
        ("manager", "manager", None, "admin", None),
        ("manager", "manager", "admin", "admin", None),
        ("owner", "owner", None, "admin", None),
        # At or below the minimum is the minimum: contributor for a manager is admin.
        ("manager", "manager", None, "contributor", None),
        ("member", "member", None, "contributor", None),
        ("member", "member", "contributor", "contributor", None),
        ("member", "member", None, "admin", ("contributor", "admin")),
        ("member", "member", "admin", "admin", None),
        # Promotion: asked now (held contributor), held anyway after it.
        ("member", "manager", None, "admin", ("contributor", "admin")),
        # Demotion: held now, but not after it: set (after the role change).
        ("manager", "member", None, "admin", ("contributor", "admin")),
        ("manager", "member", "admin", "admin", ("contributor", "admin")),
        # A role this package does not know is compared as it is.
        ("member", "member", "lead", "admin", ("lead", "admin")),
    ],
)
def test_team_role_compared_as_held(
    org_role: str,
    new_role: str,
    listed: str | None,
    wanted: str,
    expected: tuple[str, str] | None,
) -> None:
    changes = _team_changes(_member(org_role), new_role, {"backend": wanted}, {"backend": listed})
    if expected is None:
        assert changes == []
    else:
        assert changes == [SetTeamRole(MemberId("7"), "a@example.com", "backend", *expected)]


def test_no_role_asked_is_no_change() -> None:
    assert _team_changes(_member("member"), "member", {"backend": None}, {"backend": "admin"}) == []
