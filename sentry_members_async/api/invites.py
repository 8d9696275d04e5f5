"""Invites: the checked ``POST members/`` body, and what "already there" looks like.

One place for ``members.invite``, ``members.invite_status``, bulk invites and
``apply()``: the body is built and checked here before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, TypeAlias

from ..errors import BadRequestError, ValidationError
from ._common import check_email, check_slugs, org_role_body, team_roles_body

__all__ = ["InviteStatus", "invite_body", "is_already_member"]

#: What an invite found: ``"created"`` by this call, or the address was already there.
InviteStatus: TypeAlias = Literal["created", "already_member", "already_invited"]


def invite_body(
    email: str,
    role: str = "member",
    teams: Iterable[str] = (),
    team_roles: Mapping[str, str | None] | None = None,
    send_invite: bool = True,
) -> dict[str, object]:
    """The checked ``POST members/`` body (one place for invite, bulk and apply).

    The org role goes in both ``role`` and ``orgRole`` (:func:`org_role_body`).
    """
    body: dict[str, object] = {"email": check_email(email), **org_role_body(role)}
    wanted: dict[str, str | None] = dict.fromkeys(check_slugs(teams))
    for entry in team_roles_body(team_roles or {}):
        wanted[str(entry["teamSlug"])] = entry["role"]
    if wanted:
        body["teamRoles"] = [{"teamSlug": slug, "role": r} for slug, r in wanted.items()]
    if not isinstance(send_invite, bool):
        raise ValidationError("send_invite must be a bool")
    if not send_invite:
        body["sendInvite"] = False
    return body


#: Sentry's ``validate_email`` answers (src/sentry/core/endpoints/organization_member_index.py):
#: a pending invitee "has already been invited", an accepted member "is already a
#: member" (older versions said that for both).
_ALREADY = ("has already been invited", "is already a member")


def is_already_member(error: BadRequestError) -> bool:
    """Sentry's answer to inviting an address that is a member or already invited.

    Both wordings count: ``"The user X has already been invited"`` (a pending
    invite) and ``"The user X is already a member"`` (an accepted member, and a
    pending invite on older Sentry versions).
    """
    return any(
        marker in text for text in error.field_errors.get("email", []) for marker in _ALREADY
    )
