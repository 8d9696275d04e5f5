"""Members an identity provider provisioned: what a removal does when Sentry refuses one.

The rule itself lives beside the operation: ``acme.members.remove``
(:mod:`..api.members`) recognises Sentry's ``403`` (:data:`IDP_MANAGED_DETAIL`,
:func:`is_idp_managed`) and raises :class:`~..errors.IdpManagedError`, whose
message says how to remove such a member. Such a member leaves through SCIM, as
the identity provider would remove them: ``acme.bulk.remove(...,
idp_fallback="scim")`` (SCIM ``DELETE Users/{id}``), ``acme.bulk.deprovision(emails)``
(SCIM ``PATCH active=false``), or on the command line ``sentry-members members
remove --idp-fallback scim`` and ``sentry-members scim users deactivate EMAIL``.

This module holds only the orchestration's choice: ``idp_fallback``
(:data:`IdpFallback`, :func:`check_idp_fallback`), which the change that removes
a member (:class:`~.values.RemoveMember`) applies when it catches the error.
The recognition and the error are re-exported here for existing imports.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from ..api.members import IDP_MANAGED_DETAIL, is_idp_managed
from ..errors import IdpManagedError, ValidationError

__all__ = [
    "IDP_MANAGED_DETAIL",
    "IdpFallback",
    "IdpManagedError",
    "check_idp_fallback",
    "is_idp_managed",
]

#: What a removal does when Sentry says the member is IdP-provisioned: ``"scim"``
#: removes them with SCIM ``DELETE Users/{id}`` (the client's SCIM token);
#: ``None`` (the default) leaves them, the outcome ``failed`` with an :class:`IdpManagedError`.
IdpFallback: TypeAlias = Literal["scim"]


def check_idp_fallback(value: object) -> IdpFallback | None:
    """``idp_fallback`` as given, or a :class:`ValidationError` (nothing sent)."""
    if value is None:
        return None
    if value == "scim":
        return "scim"
    raise ValidationError(f"idp_fallback must be 'scim' or None, not {value!r}")
