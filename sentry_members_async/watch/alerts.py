"""Privilege alerts: the changes of a member that raise access or weaken its protection.

Issue 29: "a new Owner, 2FA turned off, an SSO link lost" go unnoticed, and
Sentry sends no notice of them. The watcher already reads every member's row
at each poll; these rules compare two rows, with no request more:

* ``role_raised``: the org role is now ``manager`` or ``owner`` and higher
  than before (a member promoted, or an invite to such a role accepted);
  Sentry's org roles by priority: ``member`` < ``admin`` < ``manager`` <
  ``owner`` (``src/sentry/conf/server.py``, ``SENTRY_ROLES``);
* ``2fa_disabled``: the account had two-factor authentication and has it no
  more (``user.has2fa``);
* ``sso_link_lost``: the member was linked to the org's SSO and is not now
  (``flags["sso:linked"]`` turned off, or ``flags["sso:invalid"]`` on);
* ``idp_changed``: ``flags["idp:provisioned"]`` or ``flags["idp:role-restricted"]``
  changed (the member came under, or left, an identity provider's control).

A field that was not known at both polls (a pending invite has no user; a
checkpoint from an older release did not keep the field) gives no alert.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from .states import MemberState

__all__ = ["ALERT_KINDS", "PRIVILEGED_ROLES", "AlertKind", "alert_detail", "alert_kinds"]

AlertKind: TypeAlias = Literal["role_raised", "2fa_disabled", "sso_link_lost", "idp_changed"]
#: The privilege alerts, in the order they are emitted for one member.
ALERT_KINDS: tuple[AlertKind, ...] = ("role_raised", "2fa_disabled", "sso_link_lost", "idp_changed")
#: Org roles whose grant is an alert.
PRIVILEGED_ROLES = frozenset({"manager", "owner"})
# src/sentry/conf/server.py SENTRY_ROLES, lowest first; a role this list does not
# know (a custom or newer one) counts as the lowest.
_ROLE_RANK = {"member": 1, "admin": 2, "manager": 3, "owner": 4}


def _rank(role: str) -> int:
    return _ROLE_RANK.get(role, -1)


def _role_raised(was: MemberState | None, now: MemberState) -> bool:
    if now.pending or now.role not in PRIVILEGED_ROLES:
        return False
    if was is None or was.pending:
        return True  # access granted now, at that role
    return _rank(was.role) < _rank(now.role)


def _sso_ok(state: MemberState) -> bool:
    return state.sso_linked and state.sso_invalid is not True


def _idp(state: MemberState) -> tuple[bool | None, bool | None]:
    return state.idp_provisioned, state.idp_role_restricted


def alert_kinds(was: MemberState | None, now: MemberState) -> list[AlertKind]:
    """The alerts between two rows of one member (``was`` ``None``: new since the last poll)."""
    kinds: list[AlertKind] = []
    if _role_raised(was, now):
        kinds.append("role_raised")
    if was is None or was.pending or now.pending:
        return kinds  # the rest compares an account's state at two polls
    if was.has_2fa is True and now.has_2fa is False:
        kinds.append("2fa_disabled")
    if _sso_ok(was) and not _sso_ok(now) and now.sso_invalid is not None:
        kinds.append("sso_link_lost")
    if None not in _idp(was) and None not in _idp(now) and _idp(was) != _idp(now):
        kinds.append("idp_changed")
    return kinds


def alert_detail(kind: str, was: MemberState | None, now: MemberState) -> str:
    """What an alert's readable line adds after the member (``""`` when the kind says it)."""
    if kind == "role_raised":
        return f": {was.role if was is not None and not was.pending else 'no access'} -> {now.role}"
    if kind == "sso_link_lost":
        return ": SSO link invalid" if now.sso_invalid else ": SSO link removed"
    if kind == "idp_changed":
        on = {
            "idp:provisioned": now.idp_provisioned,
            "idp:role-restricted": now.idp_role_restricted,
        }
        return ": " + ", ".join(f"{flag} {'on' if value else 'off'}" for flag, value in on.items())
    return ""
