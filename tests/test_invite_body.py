"""The invite's ``POST members/`` body and Sentry's "already there" answers (``api/invites.py``).

Unit tests of the exact body every invite path sends (``members.invite``,
``invite_status``, ``bulk.invite``, ``apply()``) and of the two wordings of
Sentry's 400 for an address that is already there; they are in the fast
selection ``nox -s mutants`` runs against mutations of that module.
"""

from __future__ import annotations

from typing import Any

import pytest

from sentry_members_async.api.invites import invite_body, is_already_member
from sentry_members_async.errors import BadRequestError, ValidationError


def test_the_plainest_invite_sends_the_address_and_the_member_role_in_both_keys() -> None:
    assert invite_body("new@example.com") == {
        "email": "new@example.com",
        "role": "member",
        "orgRole": "member",
    }


def test_teams_and_team_roles_are_one_list_in_the_order_given() -> None:
    body = invite_body(
        "new@example.com",
        role="manager",
        teams=["backend", "frontend"],
        team_roles={"frontend": "admin", "data": None},
    )
    assert body == {
        "email": "new@example.com",
        "role": "manager",
        "orgRole": "manager",
        # a team named in both keeps its place and takes the role given for it
        "teamRoles": [
            {"teamSlug": "backend", "role": None},
            {"teamSlug": "frontend", "role": "admin"},
            {"teamSlug": "data", "role": None},
        ],
    }


def test_no_invite_e_mail_only_when_asked() -> None:
    assert invite_body("new@example.com", send_invite=False)["sendInvite"] is False
    assert "sendInvite" not in invite_body("new@example.com", send_invite=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "not-an-address"}, "e-mail"),
        ({"role": "wizard"}, "role"),
        ({"teams": "backend"}, "not one string"),
        ({"teams": ["backend", "backend"]}, "twice"),
        ({"team_roles": {"backend": "wizard"}}, "team role"),
        ({"send_invite": "no"}, "^send_invite must be a bool$"),
    ],
)
def test_a_bad_invite_is_refused_before_anything_is_sent(
    kwargs: dict[str, Any], message: str
) -> None:
    args = {"email": "new@example.com", **kwargs}
    with pytest.raises(ValidationError, match=message):
        invite_body(**args)


def _answer(body: Any) -> BadRequestError:
    return BadRequestError(400, "POST", "/api/0/organizations/acme/members/", "bad", body)


@pytest.mark.parametrize(
    ("body", "already"),
    [
        ({"email": ["The user new@example.com has already been invited"]}, True),
        ({"email": ["The user new@example.com is already a member"]}, True),
        # the same words under another field, or other words, are another refusal
        ({"role": ["The user new@example.com is already a member"]}, False),
        ({"email": ["Enter a valid email address."]}, False),
        ({"detail": "You do not have permission to set that org-level role"}, False),
        (None, False),
    ],
)
def test_already_there_is_sentrys_two_wordings_on_the_email_field(body: Any, already: bool) -> None:
    assert is_already_member(_answer(body)) is already
