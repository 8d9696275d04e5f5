"""Whether a token can make a change, decided before anything is sent.

A pure module: :func:`caller_of` describes who the token acts as (from
``members.get("me")``, read once), and one ``check_*`` function per kind of
change answers a :class:`Verdict`: allowed (and by which API), or refused
with the reason and the way to make the change instead. Roster plans
(``acme.plan``) record the verdicts and ``plan.diff()`` marks the refusals;
``acme.apply`` ends a refused change ``failed`` with a
:class:`ChangeRefusedError` without sending it. Bulk operations can call the
same functions on the member they looked up.

The rules are Sentry's (newest first where releases differ):

- An org role change (``PUT members/{id}/`` with ``orgRole``;
  src/sentry/api/endpoints/organization_member/details.py ``put``):
  refused for a member flagged ``idp:role-restricted`` (newer Sentry: 403
  "This user's org-role is managed through your organization's identity
  provider."; 23.7.1 has the check commented out, "Reenable idp lockout once
  all scim role bugs are resolved", but the identity provider's next sync
  sets the role back, so it is refused here for every release); the
  new role and the member's current role must both be among the caller's
  allowed roles, those at or below the caller's own
  (``get_allowed_org_roles``, src/sentry/api/endpoints/organization_member/__init__.py;
  403 "You do not have permission to assign the given role." / "... to the
  given user."); never one's own role (400); never a retired role such as
  ``admin`` when the org has team roles (400 "The role 'admin' is deprecated
  and may no longer be assigned."; ``is_retired`` in src/sentry/roles/manager.py).
  An integration token has no member, hence no allowed role (400 "You do not
  have permission to set that org-level role",
  tests/sentry/api/endpoints/test_organization_member_details.py
  ``test_with_internal_integration``).
- An invite (``POST members/``, src/sentry/api/endpoints/organization_member/index.py):
  the role among the caller's allowed roles, which for an integration token
  is ``member`` at most; no retired role.
- A removal (``DELETE members/{id}/``, details.py ``delete``): not of a
  member with more access than the caller (``roles.can_manage``; 400 "You
  cannot remove a member who has more access than you."; the caller's rank
  counts the org roles its teams give); a member flagged
  ``idp:provisioned`` is refused over REST (403 "This user is managed through
  your organization's identity provider.") and goes through SCIM
  (``DELETE Users/{id}``) when a SCIM token is configured.

Roles this package does not know are not ranked, so never refused here: the
server decides.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from ..errors import SentryError
from ..models import ORG_ROLE_NAMES, Member, MemberId

__all__ = [
    "RETIRED_ROLES",
    "Caller",
    "ChangeRefusedError",
    "Route",
    "TokenKind",
    "Verdict",
    "caller_of",
    "check_invite",
    "check_removal",
    "check_role_change",
    "check_team_role",
]

#: Who a token acts as: a user's token (a member of the org, with its org role),
#: an organization integration's (no member), or the SCIM integration's.
TokenKind: TypeAlias = Literal["user", "integration", "scim"]
#: Which API a change goes through.
Route: TypeAlias = Literal["rest", "scim"]

#: Org roles Sentry no longer assigns once an org has team roles (``admin``:
#: ``is_retired`` in SENTRY_ROLES, src/sentry/conf/server.py), unless the
#: role catalogue the server sends (``orgRoleList[].isRetired``) says otherwise.
RETIRED_ROLES = frozenset({"admin"})

_ASK_AN_OWNER = (
    "use a user auth token of an Owner or Manager (Settings > Auth Tokens, scope member:admin)"
)


@attrs.frozen
class Caller:
    """Who the token acts as, and what else the client holds."""

    kind: TokenKind
    #: The caller's own org role; ``None`` for a token with no member behind it.
    role: str | None = None
    member_id: MemberId | None = None
    #: Whether a SCIM token is configured on the client (``scim_token=``).
    scim: bool = False
    #: The org roles the server calls retired (from ``orgRoleList``), else :data:`RETIRED_ROLES`.
    retired: frozenset[str] = RETIRED_ROLES
    #: Whether the organization has team roles (``organizations:team-roles``);
    #: ``None`` when no read shows it. Without them Sentry keeps every team
    #: role at the org role's minimum and ignores the roles it is sent.
    team_roles: bool | None = None


@attrs.frozen
class Verdict:
    """Whether a change can be made; if not, why and how to make it instead."""

    allowed: bool
    reason: str = ""
    how: str = ""
    route: Route = "rest"

    def __str__(self) -> str:
        if self.allowed:
            return "allowed" + (" (through SCIM)" if self.route == "scim" else "")
        return f"{self.reason}; {self.how}" if self.how else self.reason

    def error(self, change: str) -> ChangeRefusedError:
        """The error a refused ``change`` (its one-line description) ends with."""
        return ChangeRefusedError(change, self.reason, self.how)


class ChangeRefusedError(SentryError):
    """A change the token cannot make: it was not sent.

    ``change`` names it, ``reason`` says why (Sentry's rule), ``how`` how to
    make it instead (another token, SCIM, the identity provider).
    """

    def __init__(self, change: str, reason: str, how: str = "") -> None:
        self.change = change
        self.reason = reason
        self.how = how
        text = f"refused, not sent: {change}: {reason}"
        super().__init__(f"{text}; {how}" if how else text)


ALLOWED = Verdict(True)


def _refused(reason: str, how: str = "") -> Verdict:
    return Verdict(False, reason, how)


def caller_of(me: Member | None, *, scim: bool = False, kind: TokenKind | None = None) -> Caller:
    """The caller, from ``members.get("me")`` (``None``: the token has no member).

    ``kind`` defaults to ``"user"`` when there is a member and ``"integration"``
    when there is none (Sentry answers ``me`` with 404 for an integration's
    token: its proxy user is no member of the org).
    """
    if kind is None:
        kind = "user" if me is not None else "integration"
    if me is None:
        return Caller(kind, scim=scim)
    retired = frozenset(r.id for r in me.org_role_list if r.is_retired)
    return Caller(
        kind,
        _top_role(me),
        me.id,
        scim=scim,
        retired=retired if me.org_role_list else RETIRED_ROLES,
        team_roles=_has_team_roles(me),
    )


def _has_team_roles(me: Member) -> bool | None:
    """Whether the org has team roles, from the role catalogue of ``me``'s details.

    Sentry marks a retired role (``admin``) ``isRetired`` only when the org has
    the ``organizations:team-roles`` feature (``RoleSerializer``,
    src/sentry/api/serializers/models/role.py: ``has_team_roles and
    obj.is_retired``; 23.7.1 and newer), so the ``admin`` entry tells.
    """
    for role in me.org_role_list:
        if role.id in RETIRED_ROLES:
            return role.is_retired
    return None


def _top_role(me: Member) -> str:
    """The highest of the caller's org role and the org roles its teams give.

    Sentry ranks a caller by all of them (``get_all_org_roles`` in
    ``OrganizationMember.get_allowed_org_roles_to_invite``, and in
    details.py ``delete``): ``orgRolesFromTeams`` (newer) / ``groupOrgRoles``
    (23.7.1), each ``{"teamSlug": ..., "role": {"id": ...}}``.
    """
    roles = [me.org_role]
    for key in ("orgRolesFromTeams", "groupOrgRoles"):
        entries = me.extra.get(key)
        for entry in entries if isinstance(entries, list) else ():
            role = entry.get("role") if isinstance(entry, dict) else None
            if isinstance(role, dict) and isinstance(role.get("id"), str):
                roles.append(role["id"])
    ranked = [r for r in roles if r in ORG_ROLE_NAMES]
    return max(ranked, key=ORG_ROLE_NAMES.index) if ranked else me.org_role


def _rank(role: str | None) -> int | None:
    return ORG_ROLE_NAMES.index(role) if role in ORG_ROLE_NAMES else None


def _above(role: str | None, caller: Caller) -> bool:
    """Whether ``role`` is ranked above the caller's own (unknown roles are not)."""
    mine, theirs = _rank(caller.role), _rank(role)
    return mine is not None and theirs is not None and theirs > mine


def _not_assignable(role: str, caller: Caller, what: str) -> Verdict | None:
    """The refusal of giving ``role`` (``what``: "change org roles", "invite as ...")."""
    if caller.kind != "user" or caller.role is None:
        rank, member = _rank(role), ORG_ROLE_NAMES.index("member")
        if what == "invite as" and rank is not None and rank <= member:
            return None
        return _refused(
            f"an integration token cannot {what} {role} (it has no org role to assign from: "
            "Sentry answers 400 'You do not have permission to set that org-level role')",
            _ASK_AN_OWNER,
        )
    if role in caller.retired:
        return _refused(
            f"the role {role!r} is retired and may no longer be assigned",
            "use 'manager' (or 'member' with team admin roles) instead",
        )
    if _above(role, caller):
        return _refused(
            f"{role} is above your own role ({caller.role}): Sentry lets you assign "
            "only roles at or below yours",
            "use a token of an Owner",
        )
    return None


def check_role_change(caller: Caller, member: Member, new_role: str) -> Verdict:
    """Whether ``caller`` can change ``member``'s org role to ``new_role``."""
    if member.flags.idp_role_restricted:
        return _refused(
            f"{member.email}'s org role is managed by the identity provider (idp:role-restricted)",
            "change it in the identity provider (its SCIM role mapping), or hand the role back "
            "to Sentry with acme.scim.users.set_role(member_id, None)",
        )
    refused = _not_assignable(new_role, caller, "change org roles to")
    if refused is not None:
        return refused
    if caller.member_id is not None and member.id == caller.member_id:
        return _refused("Sentry does not let you change your own role", "ask another Owner")
    if _above(member.org_role, caller):
        return _refused(
            f"{member.email} is {member.org_role}, above your own role ({caller.role})",
            "use a token of an Owner",
        )
    return ALLOWED


def check_invite(caller: Caller, role: str) -> Verdict:
    """Whether ``caller`` can invite someone as ``role``."""
    return _not_assignable(role, caller, "invite as") or ALLOWED


def check_team_role(caller: Caller, member: Member, team_role: str | None) -> Verdict:
    """Whether ``caller`` can put ``member`` on a team with ``team_role``.

    Sentry decides team roles per team (a team admin may set them on their own
    team), which no read here shows: every team change is allowed and the
    server has the last word.
    """
    del caller, member, team_role
    return ALLOWED


def check_removal(caller: Caller, member: Member) -> Verdict:
    """Whether ``caller`` can remove ``member``, and through which API."""
    is_self = caller.member_id is not None and member.id == caller.member_id
    if not is_self and _above(member.org_role, caller):
        return _refused(
            f"{member.email} is {member.org_role}, with more access than you ({caller.role})",
            "use a token of an Owner",
        )
    if member.flags.idp_provisioned:
        if caller.scim:
            return Verdict(True, route="scim")
        return _refused(
            f"{member.email} was provisioned by the identity provider (idp:provisioned), "
            "and Sentry's members API does not remove such members",
            "remove them in the identity provider, or configure a SCIM token "
            "(SentryClient(scim_token=...) or SENTRY_SCIM_TOKEN) to remove them through SCIM",
        )
    return ALLOWED
