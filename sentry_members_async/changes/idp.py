"""Members an identity provider provisioned: the members API may not remove them, SCIM may.

Sentry refuses a REST ``DELETE members/{id}/`` of a member flagged
``idp:provisioned`` with ``403 {"detail": "This user is managed through your
organization's identity provider."}`` (src/sentry/api/endpoints/organization_member/
details.py, after its scope, role and last-owner checks; seen on 23.7.1). Such a
member leaves through SCIM, as the identity provider would remove them:
``acme.bulk.remove(..., idp_fallback="scim")`` (SCIM ``DELETE Users/{id}``),
``acme.bulk.deprovision(emails)`` (SCIM ``PATCH active=false``), or on the
command line ``sentry-members members remove --idp-fallback scim`` and
``sentry-members scim users deactivate EMAIL``.

This module holds that rule once: how the refusal is recognised
(:func:`is_idp_managed`) and the error a removal ends with when it is not
deprovisioned (:class:`IdpManagedError`, whose message says how). The change
that removes a member (:class:`~.values.RemoveMember`) applies it.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from ..errors import APIError, PermissionDeniedError, ValidationError

__all__ = [
    "IDP_MANAGED_DETAIL",
    "IdpFallback",
    "IdpManagedError",
    "check_idp_fallback",
    "is_idp_managed",
]

#: Sentry's ``detail`` when the members API refuses to remove an IdP-provisioned member.
IDP_MANAGED_DETAIL = "This user is managed through your organization's identity provider."

#: What a removal does when Sentry says the member is IdP-provisioned: ``"scim"``
#: removes them with SCIM ``DELETE Users/{id}`` (the client's SCIM token);
#: ``None`` (the default) leaves them, the outcome ``failed`` with an :class:`IdpManagedError`.
IdpFallback: TypeAlias = Literal["scim"]

_HINT = (
    "provisioned by the organization's identity provider, and Sentry's members API "
    "does not remove such members: remove them in the identity provider, or deprovision "
    "them through SCIM with acme.bulk.remove(..., idp_fallback='scim') (SCIM DELETE Users/{id}) "
    "or acme.bulk.deprovision([email]); on the command line: "
    "sentry-members members remove --idp-fallback scim MEMBER, or "
    "sentry-members scim users deactivate EMAIL"
)


def is_idp_managed(error: BaseException) -> bool:
    """Whether ``error`` is Sentry's refusal to remove an IdP-provisioned member.

    Only that ``403``: the others a removal may meet (the last owner, a
    partnership's member, a missing scope) are not lifted by SCIM.
    """
    if not isinstance(error, PermissionDeniedError) or error.status != 403:
        return False
    return error.detail.rstrip(".") == IDP_MANAGED_DETAIL.rstrip(".")


def check_idp_fallback(value: object) -> IdpFallback | None:
    """``idp_fallback`` as given, or a :class:`ValidationError` (nothing sent)."""
    if value is None:
        return None
    if value == "scim":
        return "scim"
    raise ValidationError(f"idp_fallback must be 'scim' or None, not {value!r}")


class IdpManagedError(PermissionDeniedError):
    """403 on a REST remove: the member is provisioned by the org's identity provider.

    A :class:`PermissionDeniedError` (status, method, path and Sentry's
    ``detail`` as answered) whose message says how to remove the member:
    through the identity provider, or through SCIM (``idp_fallback="scim"`` on
    ``acme.bulk.remove``, ``acme.bulk.deprovision``, or the command line's
    ``members remove --idp-fallback scim`` / ``scim users deactivate``).
    ``member`` is the member as the caller named it (an e-mail or an id).
    """

    def __init__(self, *args: Any, member: str | None = None, **kwargs: Any) -> None:
        self.member = member
        super().__init__(*args, **kwargs)

    def _message(self) -> str:
        # Not PermissionDeniedError's "needs one of the scopes": no scope lifts this.
        who = f"{self.member} was" if self.member else "this member was"
        return f"{APIError._message(self)} {who} {_HINT}"

    @classmethod
    def from_denied(cls, error: PermissionDeniedError, *, member: str | None) -> IdpManagedError:
        made = cls(
            error.status,
            error.method,
            error.path,
            error.detail,
            error.body,
            headers=error.headers,
            required_scopes=error.required_scopes,
            member=member,
        )
        made.attempts = error.attempts
        return made
