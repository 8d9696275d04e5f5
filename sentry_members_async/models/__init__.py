"""Typed, frozen, slotted models of Sentry's member, team and SCIM payloads."""

from .ids import Me, MemberId, MemberRef, TeamId, UserId
from .members import (
    MINIMUM_TEAM_ROLE,
    ORG_ROLE_NAMES,
    TEAM_ROLE_NAMES,
    Flags,
    Member,
    OrgRole,
    TeamRole,
    TeamRoleAssignment,
    User,
    UserEmail,
    effective_team_role,
)
from .scim import ScimEmail, ScimGroup, ScimGroupMember, ScimName, ScimUser
from .teams import Team, TeamMembership

__all__ = [
    "MINIMUM_TEAM_ROLE",
    "ORG_ROLE_NAMES",
    "TEAM_ROLE_NAMES",
    "Flags",
    "Me",
    "Member",
    "MemberId",
    "MemberRef",
    "OrgRole",
    "ScimEmail",
    "ScimGroup",
    "ScimGroupMember",
    "ScimName",
    "ScimUser",
    "Team",
    "TeamId",
    "TeamMembership",
    "TeamRole",
    "TeamRoleAssignment",
    "User",
    "UserEmail",
    "UserId",
    "effective_team_role",
]
