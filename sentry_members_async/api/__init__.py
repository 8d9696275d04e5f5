"""Resource groups, one method per endpoint, and the protocols they are typed against.

A resource takes an :class:`OrgScope` (a client and a slug); the layers above
take an :class:`OrgContext` (that, and the three resource groups).
"""

from ._common import OrgScope, Scope
from .member_query import build_query
from .members import MembersAPI, TeamAddResult, TeamJoinResult
from .org import OrgContext
from .scim import PatchOperation, ScimAPI, ScimGroupsAPI, ScimUsersAPI, patch_body, scim_filter
from .teams import TeamsAPI

__all__ = [
    "MembersAPI",
    "OrgContext",
    "OrgScope",
    "PatchOperation",
    "ScimAPI",
    "ScimGroupsAPI",
    "ScimUsersAPI",
    "Scope",
    "TeamAddResult",
    "TeamJoinResult",
    "TeamsAPI",
    "build_query",
    "patch_body",
    "scim_filter",
]
