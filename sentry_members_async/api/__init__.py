"""Resource groups, one method per endpoint."""

from .member_query import build_query
from .members import MembersAPI, TeamAddResult, TeamJoinResult
from .org import OrgAPI
from .scim import PatchOperation, ScimAPI, ScimGroupsAPI, ScimUsersAPI, patch_body, scim_filter
from .teams import TeamsAPI

__all__ = [
    "MembersAPI",
    "OrgAPI",
    "PatchOperation",
    "ScimAPI",
    "ScimGroupsAPI",
    "ScimUsersAPI",
    "TeamAddResult",
    "TeamJoinResult",
    "TeamsAPI",
    "build_query",
    "patch_body",
    "scim_filter",
]
