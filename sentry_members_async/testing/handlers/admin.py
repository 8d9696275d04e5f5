"""The emulator's own admin endpoint: what a person does outside the API.

Sentry has no API to accept an invite: the invitee follows the e-mail link
(``AcceptOrganizationInvite`` in src/sentry/api/endpoints/accept_organization_invite.py)
or logs in through the organization's SSO (``ApiInviteHelper.from_session_or_email``
in src/sentry/api/invite_helper.py). A served emulator plays that person on
``POST /_emulator/organizations/{org}/accept/`` with
``{"email": "...", "sso": false}``, so an acceptance can be tried from a shell
(``sentry-members emulator accept EMAIL``). The path is outside ``/api/0/``:
no Sentry client sends it by mistake. It needs a token of the organization
that may change members (``member:write`` or ``member:admin``).
"""

from __future__ import annotations

from .common import Answer, Ctx, Result

__all__ = ["emulator_accept"]


def emulator_accept(ctx: Ctx) -> Result:
    """Accept the pending invite for ``email`` (by e-mail link, or by SSO with ``sso``)."""
    ctx.require("member:write", "member:admin")
    body = ctx.body()
    email = body.get("email")
    if not isinstance(email, str) or not email.strip():
        raise Answer(400, {"email": ["This field is required."]})
    sso = body.get("sso", False)
    if not isinstance(sso, bool):
        raise Answer(400, {"sso": ["Must be a valid boolean."]})
    state, org = ctx.state, ctx.org
    member = state.member_by_email(org, email.strip())
    if member is None or not member.pending:
        raise Answer(404, {"detail": f"No pending invite for {email.strip()} in {org.slug}."})
    address = email.strip()
    name = address.split("@", 1)[0].replace(".", " ").title()
    user = state.new_user(address, name)
    state.accept(org, member, user)
    if sso:
        member.flags["sso:linked"] = True
    return 200, {"id": str(member.id), "email": address, "userId": str(user.id), "sso": sso}, {}
