"""The rule of a REST removal that Sentry refuses for an IdP-provisioned member.

``MembersAPI.remove`` raises :class:`~..errors.IdpManagedError` for it; bulk
removal and ``apply`` catch that error to fall back to SCIM when asked.
"""

from __future__ import annotations

from ..errors import IdpManagedError, PermissionDeniedError

__all__ = ["IDP_MANAGED_DETAIL", "is_idp_managed"]

#: Sentry's ``detail`` when the members API refuses to remove an IdP-provisioned member
#: (src/sentry/api/endpoints/organization_member/details.py, after its scope, role
#: and last-owner checks; seen on 23.7.1).
IDP_MANAGED_DETAIL = "This user is managed through your organization's identity provider."


def is_idp_managed(error: BaseException) -> bool:
    """Whether ``error`` is Sentry's refusal to remove an IdP-provisioned member.

    Only that ``403``: the others a removal may meet (the last owner, a
    partnership's member, a missing scope) are not lifted by SCIM.
    """
    if isinstance(error, IdpManagedError):
        return True
    if not isinstance(error, PermissionDeniedError) or error.status != 403:
        return False
    return error.detail.rstrip(".") == IDP_MANAGED_DETAIL.rstrip(".")
