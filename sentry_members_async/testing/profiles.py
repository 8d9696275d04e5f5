"""Version profiles: every way one Sentry release answers differently from another.

``SentryEmulator(profile="latest")`` (the default) answers as today's
sentry.io does; ``profile="23.7"`` as the last server published on PyPI,
``sentry==23.7.1`` (July 2023), the base of many self-hosted installs. Each
field of :class:`Profile` is one rule, named for what it changes, with the
Sentry source that shows it (23.7.1 paths under ``src/sentry/``, as installed
by ``tools/live/harness.py``) or the differential run that measured it
(``tests/differential``, against a real 23.7.1). Handlers read these fields and
nothing else to tell releases apart.
"""

from __future__ import annotations

import attrs

__all__ = ["LATEST", "PROFILES", "SENTRY_23_7", "Profile", "get_profile"]


@attrs.frozen
class Profile:
    """How one Sentry release answers. Each field is one rule."""

    name: str

    # -- members: the invite (POST organizations/{org}/members/) ---------------
    #: The request keys an invite's role is read from, first present wins.
    #: 23.7.1 api/endpoints/organization_member/index.py creates the member with
    #: ``result["role"]`` (the deprecated key, default ``member``) and ignores
    #: ``orgRole``; newer Sentry reads ``orgRole``, then ``role``.
    invite_role_keys: tuple[str, ...] = ("orgRole", "role")
    #: 23.7.1's serializer validates ``role`` and ``orgRole`` both (each a
    #: ChoiceField with ``validate_orgRole``), whichever is used.
    invite_validates_both_role_keys: bool = False
    #: The scopes POST members/ accepts. 23.7.1 ``MemberPermission``
    #: (organization_member/index.py) has no ``member:invite``.
    invite_scopes: tuple[str, ...] = ("member:write", "member:admin", "member:invite")
    #: A pending address invited again: 23.7.1's ``validate_email`` says
    #: "is already a member" for both (newer: "has already been invited").
    legacy_reinvite_message: bool = False
    #: 23.7.1 has no ``allow_retired_roles``: an invite may give ``admin``.
    invite_refuses_retired_roles: bool = True
    #: The ``billing`` org role. 23.7.1's conf/server.py ``SENTRY_ROLES`` has
    #: member, admin, manager, owner only (and no ``org:billing`` scope).
    billing_role: bool = True
    #: ``get_allowed_org_roles`` gives no role to a caller without ``member:admin``
    #: (23.7.1 api/endpoints/organization_member/__init__.py).
    allowed_roles_need_admin: bool = False
    #: The default of ``SentryEmulator(invite_quotas=...)``: the daily invite
    #: quotas (``organizations:invite-members-rate-limits``). On in 23.7.1's
    #: conf/server.py ``SENTRY_FEATURES``; off by default for "latest" (the
    #: emulator's historical default; ``SentryEmulator.sentry_io()`` turns them on).
    invite_quotas: bool = False

    # -- members: the payloads (api/serializers/models/organization_member/) ----
    #: The list's key for org roles gained through teams: 23.7.1's
    #: ``OrganizationMemberSerializer`` sends ``groupOrgRoles`` (base.py);
    #: newer Sentry ``orgRolesFromTeams``.
    roles_from_teams_key: str = "orgRolesFromTeams"
    #: A pending invite's ``user`` in the details: 23.7.1's
    #: ``OrganizationMemberWithRolesSerializer`` (organization_member/expand/roles.py)
    #: sends ``{}`` (``users_by_id.get(...)`` of no user); the list sends ``null``.
    pending_detail_user_empty: bool = False
    #: The flags a member shows (base.py ``serialize``): 23.7.1 has no
    #: ``partnership:restricted``.
    member_flags: tuple[str, ...] = (
        "idp:provisioned", "idp:role-restricted", "sso:linked", "sso:invalid",
        "member-limit:restricted", "partnership:restricted",
    )  # fmt: skip
    #: ``isSuspended`` in a user (newer ``UserSerializer``; not in 23.7.1's
    #: api/serializers/models/user.py).
    user_is_suspended_key: bool = True
    #: 23.7.1's details send, when any role is allowed, the *detailed* user
    #: (``authenticators``, ``canReset2fa``; user.py ``DetailedUserSerializer``)
    #: and ``invite_link``; the list's user has no ``canReset2fa``.
    detail_user_detailed: bool = False
    #: The details' ``allowed`` roles: 23.7.1 ``get`` passes the shown member to
    #: ``get_allowed_org_roles`` (the roles *that member* could invite, none
    #: without ``member:admin``); newer: the roles the caller may assign.
    detail_roles_of_target: bool = False
    #: ``isTeamRolesAllowed`` in role lists (not in 23.7.1's api/serializers/models/role.py).
    role_list_team_roles_allowed_key: bool = True
    #: 23.7.1 serializes ``teamRoleList`` with no ``allowed_roles``: never allowed.
    team_role_list_never_allowed: bool = False

    # -- members: update and removal (PUT/DELETE .../members/{id}/) ---------------
    #: 23.7.1's ``put`` and ``delete`` (api/endpoints/organization_member/details.py),
    #: in handlers/member_update_23_7.py: ``member:write`` only; any field error
    #: (an ``orgRole`` that is no role included) a 400 with no body; ``reinvite``
    #: goes on to the teams and role; teams saved before the role is checked; an
    #: integration token may not remove anyone.
    legacy_member_update: bool = False

    # -- teams (api/serializers/models/team.py, api/endpoints/team_details.py) ------
    #: ``avatar.avatarUrl`` in a team (not in 23.7.1's ``TeamSerializer``).
    team_avatar_url: bool = True
    #: ``orgRole`` (the team's org role, ``null``) in a team: 23.7.1 only.
    team_org_role_key: bool = False
    #: What a team's details expand: 23.7.1 ``TeamDetailsEndpoint.get`` expands
    #: ``organization`` only; newer Sentry ``projects`` and ``externalTeams``.
    team_detail_expand: tuple[str, ...] = ("externalTeams", "projects")
    #: What a team's update answers with: 23.7.1's ``put`` sends the plain team.
    team_update_expand: tuple[str, ...] = ("externalTeams", "projects")
    #: The team role of a member on a team as shown (member team details, a team's
    #: members): 23.7.1 sends the stored one (``obj.role``: null for the org role's
    #: default: organization_member/team_details.py, team_members.py, which also
    #: lists invites, by the invite's e-mail); newer Sentry the effective one.
    stored_team_roles: bool = False
    #: The team role a team's creator gets: 23.7.1's organization_teams.py ``post``
    #: creates the membership with no role.
    team_creator_role: str | None = "admin"
    #: Team slugs may be all digits (23.7.1's ``TeamPostSerializer``: a RegexField).
    numeric_slugs: bool = False
    #: The slug error of team creation (None: ``SentrySerializerSlugField``'s) and of
    #: a team update (23.7.1 team_details.py: the RegexField's default message).
    slug_error: str | None = None
    slug_update_error: str | None = None
    #: The organization's ``features`` as 23.7.1 lists them (conf/server.py
    #: ``SENTRY_FEATURES`` with tools/live's settings: measured on the live server).
    org_features: tuple[str, ...] = ()

    # -- HTTP and rate limits -----------------------------------------------------
    #: A negative ``per_page`` is taken (23.7.1 utils/pagination_factory.py checks
    #: the maximum only): an empty page whose ``next`` has results.
    negative_per_page: bool = False
    #: ``Retry-After`` on the generic limiter's 429 (the middleware never sends
    #: one: src/sentry/middleware/ratelimit.py; the docs say it does).
    retry_after: bool = True
    #: The generic limiter's 429: 23.7.1's middleware returns
    #: ``HttpResponse(json.dumps(message), status=429)``: ``text/html`` with a
    #: JSON string, and ``concurrent_remaining`` ``None`` (window refusals skip
    #: the concurrent count: ratelimits/utils.py ``above_rate_limit_check``).
    limited_content_type: str = "application/json"
    limited_concurrent_remaining_none: bool = False
    #: The generic limiter's default (conf/server.py: ``SENTRY_RATELIMITER_DEFAULT``
    #: 999 per 1 s, ``SENTRY_CONCURRENT_RATE_LIMIT_DEFAULT`` 999; it refuses only with
    #: ``SENTRY_RATELIMITER_ENABLED``, but its headers come on every answer), or None
    #: for the emulator's own default ``RateLimit()``.
    default_rate_limit: tuple[int, float, int | None] | None = None
    #: The server closes each connection after its answer, with no
    #: ``Connection: close`` (uWSGI as ``sentry run web`` starts it: measured,
    #: every tests/differential step records it), ``close_delay`` seconds after
    #: the last byte (measured on 23.7.1: 0 to 4.4 ms, median 2.5 ms).
    closes_connections: bool = False
    close_delay: float = 0.0025

    # -- SCIM (api/urls.py, api/endpoints/scim/ in 23.7.1) --------------------------
    #: 23.7.1's SCIM routes: ``Users$``, ``Users/(\\d+)$``, ``Groups$``,
    #: ``Groups/(\\d+)$``, ``Schemas$`` only (no slash, no ``Schemas/{id}``).
    scim_strict_routes: bool = False
    #: SCIM serializer errors as 23.7.1 words them (handlers/scim_23_7.py): compact
    #: JSON inside a SCIM error; Users POST validates ``userName`` with the invite
    #: serializer (its ``email`` errors).
    scim_legacy_errors: bool = False
    #: SCIM PUT of an owner: 403 "Organization owners cannot be modified." (23.7.1
    #: scim/endpoints/members.py); newer Sentry flags the owner as provisioned.
    scim_owner_put_forbidden: bool = False
    #: 23.7.1's Schemas (scim/endpoints/schemas.py): no ``schemas`` key in a schema,
    #: a relative ``meta.location``, and its own attribute details.
    scim_legacy_schemas: bool = False
    #: Where 23.7.1 raises and answers 500 ``{"detail": "Internal Error", "errorId"}``:
    #: a list with ``count=0`` (``GenericOffsetPaginator``: ``assert limit > 0``,
    #: api/paginator.py) and a Groups POST with no ``displayName`` (a KeyError in
    #: scim/endpoints/teams.py). Measured: tests/differential.
    scim_crashes: bool = False


#: What the live 23.7.1 server lists for ``acme`` (``organization.features``).
_FEATURES_23_7 = (
    "transaction-name-mark-scrubbed-as-sanitized", "team-insights", "dashboards-edit",
    "integrations-issue-sync", "sso-basic", "integrations-issue-basic",
    "invite-members-rate-limits", "crash-rate-alerts", "custom-symbol-sources",
    "integrations-ticket-rules", "project-stats", "performance-issues-search",
    "discover-basic", "discover-query", "shared-issues", "performance-view",
    "advanced-search", "integrations-deployment", "event-attachments", "change-alerts",
    "relay", "sso-saml2", "integrations-chat-unfurl", "integrations-incident-management",
    "derive-code-mappings", "integrations-event-hooks", "scim-team-roles", "symbol-sources",
    "transaction-name-normalize", "integrations-alert-rule", "team-roles", "data-forwarding",
    "open-membership", "session-replay-ui", "minute-resolution-sessions", "dashboards-basic",
    "invite-members",
)  # fmt: skip
LATEST = Profile(name="latest")
SENTRY_23_7 = Profile(
    name="23.7",
    invite_role_keys=("role",),
    invite_validates_both_role_keys=True,
    invite_scopes=("member:write", "member:admin"),
    legacy_reinvite_message=True,
    invite_refuses_retired_roles=False,
    invite_quotas=True,
    billing_role=False,
    allowed_roles_need_admin=True,
    roles_from_teams_key="groupOrgRoles",
    pending_detail_user_empty=True,
    member_flags=(
        "idp:provisioned",
        "idp:role-restricted",
        "sso:linked",
        "sso:invalid",
        "member-limit:restricted",
    ),
    user_is_suspended_key=False,
    detail_user_detailed=True,
    detail_roles_of_target=True,
    role_list_team_roles_allowed_key=False,
    team_role_list_never_allowed=True,
    legacy_member_update=True,
    team_avatar_url=False,
    team_org_role_key=True,
    team_detail_expand=("organization",),
    team_update_expand=(),
    org_features=_FEATURES_23_7,
    stored_team_roles=True,
    team_creator_role=None,
    numeric_slugs=True,
    slug_error=(
        "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens."
    ),
    slug_update_error="This value does not match the required pattern.",
    negative_per_page=True,
    retry_after=False,
    limited_content_type="text/html; charset=utf-8",
    limited_concurrent_remaining_none=True,
    default_rate_limit=(999, 1.0, 999),
    closes_connections=True,
    scim_strict_routes=True,
    scim_legacy_errors=True,
    scim_owner_put_forbidden=True,
    scim_legacy_schemas=True,
    scim_crashes=True,
)
PROFILES: dict[str, Profile] = {"latest": LATEST, "23.7": SENTRY_23_7}


def get_profile(profile: str | Profile) -> Profile:
    """A profile by name (``"latest"``, ``"23.7"``, also ``"23.7.1"``) or as given."""
    if isinstance(profile, Profile):
        return profile
    name = "23.7" if profile.startswith("23.7") else profile
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}: one of {sorted(PROFILES)}") from None
