"""SCIM ``Users`` (§8): members provisioned by an identity provider.

Sentry's ``OrganizationSCIMMemberIndex`` and ``OrganizationSCIMMemberDetails``
(src/sentry/core/endpoints/scim/members.py).
"""

from __future__ import annotations

import json
from typing import Any

from ..state import Member
from .common import (
    EMAIL,
    NO_BODY,
    Answer,
    Ctx,
    Result,
    digits,
    refuse_last_owner,
    refuse_partnership,
)
from .lookups import listed_members
from .scim import SCIM_USER, scim_error, scim_filter, scim_list, scim_require
from .scim_23_7 import invite_email_errors_23_7, user_patch_ops_23_7

__all__ = [
    "scim_user_delete",
    "scim_user_get",
    "scim_user_patch",
    "scim_user_put",
    "scim_users_get",
    "scim_users_post",
]

_SCIM_ROLES = ("billing", "member", "admin", "manager")


def ser_scim_user(ctx: Ctx, m: Member) -> dict[str, Any]:
    email = ctx.state.member_email(m)
    data: dict[str, Any] = {
        "schemas": [SCIM_USER],
        "id": str(m.id),
        "userName": email,
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "name": {"familyName": "N/A", "givenName": "N/A"},
        "active": True,
        "meta": {"resourceType": "User"},
        "sentryOrgRole": m.role,
    }
    if ctx.org.scim_provider == "azure":
        del data["active"]
    return data


def _scim_role(ctx: Ctx, body: dict[str, Any]) -> str | None:
    """``sentryOrgRole``: blank is none; otherwise one of the roles SCIM may give (those
    without ``org:admin``: no billing where the profile has none)."""
    raw = body.get("sentryOrgRole")
    role = raw.lower() if isinstance(raw, str) and raw else None
    roles = _SCIM_ROLES if ctx.profile.billing_role else _SCIM_ROLES[1:]
    if role is not None and role not in roles:
        raise scim_error(400, "Invalid organization role.")
    return role


def scim_users_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:read", "member:write", "member:admin"))
    wanted = scim_filter(ctx)
    state = ctx.state
    rows = listed_members(state, ctx.org)
    if wanted is not None:
        rows = [m for m in rows if state.member_email(m).lower() == wanted.lower()]
    # ``order_by("email", "id")`` on the member row: accepted members have no
    # e-mail there (NULL sorts last), so invites come first
    # (test_get_members_no_filter__invited).
    rows = sorted(rows, key=lambda m: (m.email is None, m.email or "", m.id))
    return scim_list(ctx, rows, lambda m: ser_scim_user(ctx, m))


def scim_users_post(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:write", "member:admin"))
    body = ctx.body()
    email = body.get("userName")
    if ctx.profile.scim_legacy_errors:
        # 23.7.1: the role first, then the invite serializer's e-mail errors.
        role = _scim_role(ctx, body)
        invite_email_errors_23_7(email)
    elif not isinstance(email, str) or not EMAIL.match(email):
        raise Answer(400, {"userName": ["Enter a valid email address."]})
    role = _scim_role(ctx, body)
    assert isinstance(email, str)
    existing = ctx.state.member_by_email(ctx.org, email)
    if existing is not None and existing.invite_status == "approved":
        raise scim_error(409, "User already exists in the database.")
    if existing is not None:
        # An invite request for the address becomes the invite, its token renewed
        # (test_post_users_successful_existing_invite).
        existing.invite_status = "approved"
        existing.token_expired = False
        existing.role = role or existing.role
        ctx.org.version += 1
        return 201, ser_scim_user(ctx, existing), {}
    # The inviter is the integration's proxy user (``inviter_id=request.user.id``).
    inviter = ctx.token.proxy_user_id
    member = ctx.state.new_member(ctx.org, role or "member", email=email, inviter_id=inviter)
    member.flags["idp:provisioned"] = True
    member.flags["idp:role-restricted"] = role is not None
    return 201, ser_scim_user(ctx, member), {}


def scim_member(ctx: Ctx) -> Member:
    raw = ctx.args["member_id"]
    member = ctx.org.members.get(int(raw)) if digits(raw) else None
    if member is None or member.invite_status != "approved":
        raise scim_error(404, "The requested resource does not exist")
    return member


def scim_user_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:read", "member:write", "member:admin"))
    return 200, ser_scim_user(ctx, scim_member(ctx)), {}


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _scim_remove(ctx: Ctx, member: Member) -> Result:
    refuse_last_owner(ctx.org, member)
    ctx.state.remove_member(ctx.org, member)
    return 204, NO_BODY, {}


def _user_patch_ops(body: dict[str, Any]) -> list[Any]:
    """The Users PATCH serializer: 1 to 100 operations, each a ``replace``."""
    ops = body.get("Operations")
    if not isinstance(ops, list) or not ops:
        raise Answer(400, {"Operations": ["This field is required."]})
    if len(ops) > 100:
        # The Users PATCH serializer's own limit (test_member_detail_patch_too_many_ops);
        # Groups answer "Too many patch ops sent, limit is 100."
        detail = json.dumps(
            {"Operations": ["Ensure this field has no more than 100 elements."]},
            separators=(",", ":"),
        )
        raise scim_error(400, detail)
    for op in ops:
        if not isinstance(op, dict) or str(op.get("op", "")).lower() != "replace":
            detail = json.dumps({"Operations": [{"op": ['"invalid" is not a valid choice.']}]})
            raise scim_error(400, detail)
    return ops


def _deactivates(op: dict[str, Any]) -> bool:
    """``{"path": "active", "value": false}`` or ``{"value": {"active": false}}``."""
    value, path = op.get("value"), op.get("path")
    return (path == "active" and _is_false(value)) or (
        path is None and isinstance(value, dict) and _is_false(value.get("active"))
    )


def scim_user_patch(ctx: Ctx) -> Result:
    """Only deactivation, which removes the member."""
    scim_require(ctx, ("member:write", "member:admin"))
    member = scim_member(ctx)
    body = ctx.body()
    ops = user_patch_ops_23_7(body) if ctx.profile.scim_legacy_errors else _user_patch_ops(body)
    refuse_partnership(member)
    if not all(_deactivates(op) for op in ops):
        raise scim_error(400, "Invalid Patch Operation.")
    return _scim_remove(ctx, member)


def scim_user_put(ctx: Ctx) -> Result:
    """Role sync (Sentry's ``SCIMMemberRoleUpdateTests``): ``sentryOrgRole`` set makes
    the role IdP-managed (``idp:role-restricted``); blank hands it back (a
    restricted member returns to the default role; an unrestricted one keeps
    theirs). Owners are never changed, only flagged as provisioned."""
    scim_require(ctx, ("member:write", "member:admin"))
    member = scim_member(ctx)
    role = _scim_role(ctx, ctx.body())
    refuse_partnership(member)
    flags = member.flags
    if member.role == "owner" and ctx.profile.scim_owner_put_forbidden:
        # 23.7.1 members.py ``put``: SCIM_403_FORBIDDEN_UPDATE.
        raise scim_error(403, "Organization owners cannot be modified.")
    if member.role == "owner":
        flags["idp:provisioned"] = True
        flags["idp:role-restricted"] = False
    elif role is not None:
        member.role = role
        flags["idp:role-restricted"] = True
    elif flags["idp:role-restricted"]:
        member.role = "member"
        flags["idp:role-restricted"] = False
    ctx.org.version += 1
    return 200, ser_scim_user(ctx, member), {}


def scim_user_delete(ctx: Ctx) -> Result:
    scim_require(ctx, ("member:admin",))
    member = scim_member(ctx)
    refuse_partnership(member)
    return _scim_remove(ctx, member)
