"""An emulator holding what the real server holds, read from its database.

On a fresh server that is exactly what ``tools/live/seed.py`` made (org
``acme``: the owner, a read-only member, 199 members, a manager, 49 pending
invites; teams ``backend`` and ``frontend``; SCIM on; org ``other`` whose
owner is the outsider). Reading the database rather than restating the seed
keeps the two in step when ``tests/live`` ran first and changed the org:
members are added in the real server's id order, so lists page alike.
"""

from __future__ import annotations

from sentry_members_async.testing import SentryEmulator

from ..live.realserver import RealSentry

__all__ = ["FULL", "READ", "SCIM", "mirror"]

#: The scopes of the seeded tokens (tools/live/seed.py).
FULL = (
    "org:read", "org:write", "org:admin", "member:read", "member:write", "member:admin",
    "team:read", "team:write", "team:admin", "project:read",
)  # fmt: skip
READ = ("org:read", "member:read", "team:read")
#: The SCIM integration's scopes (23.7.1 src/sentry/models/authprovider.py ``enable_scim``).
SCIM = ("member:read", "member:write", "member:admin", "team:write", "team:admin")
#: OrganizationMember.flags bits, in 23.7.1's order (src/sentry/models/organizationmember.py).
_FLAG_BITS = {
    "sso:linked": 1,
    "sso:invalid": 2,
    "member-limit:restricted": 4,
    "idp:provisioned": 8,
    "idp:role-restricted": 16,
}


def mirror(real: RealSentry, emu: SentryEmulator) -> dict[str, str]:
    """Fill ``emu`` with the real server's ``acme`` and ``other``; its tokens by role."""
    org_id = real.org_id()
    owner_email = "owner@example.com"
    owner_name = real.scalar(
        f"SELECT first_name FROM auth_user WHERE email = '{owner_email}'"  # noqa: S608
    )
    emu.add_org("acme", name="Acme", scim=True, owner_email=owner_email, owner_name=owner_name)
    emu.add_org(
        "other", name="Other", owner_email="outsider@example.com", owner_name="Otto Outsider"
    )
    for user in emu.state.users.values():
        user.has_2fa = False  # the seed enrolls no authenticator
    for slug, name, idp in real.sql(
        "SELECT slug, name, idp_provisioned FROM sentry_team"  # noqa: S608 - ids only
        f" WHERE organization_id = {org_id} AND status = 0 ORDER BY id"
    ):
        emu.add_team("acme", slug, name=name, idp_provisioned=idp == "t")
    teams: dict[str, dict[str, str | None]] = {}
    for member_id, slug, role in real.sql(
        "SELECT omt.organizationmember_id, t.slug, coalesce(omt.role, '')"  # noqa: S608
        " FROM sentry_organizationmember_teams omt JOIN sentry_team t ON t.id = omt.team_id"
        f" WHERE t.organization_id = {org_id} AND t.status = 0 ORDER BY omt.id"
    ):
        teams.setdefault(member_id, {})[slug] = role or None
    rows = real.sql(
        "SELECT m.id, coalesce(u.email, m.email), coalesce(u.first_name, ''), m.role,"  # noqa: S608
        " m.user_id IS NULL, m.invite_status, m.flags, coalesce(i.email, ''),"
        " coalesce(i.username, '')"
        " FROM sentry_organizationmember m LEFT JOIN auth_user u ON u.id = m.user_id"
        " LEFT JOIN auth_user i ON i.id = m.inviter_id"
        f" WHERE m.organization_id = {org_id} ORDER BY m.id"
    )
    scim = emu.add_token("acme", SCIM, kind="scim")
    scim_proxy = emu.state.tokens[scim].proxy_user_id
    for member_id, email, name, role, pending, status, flags, inviter, username in rows:
        on_teams = teams.get(member_id, {})
        if email == owner_email:
            emu.set_teams("acme", email, on_teams)
            continue
        bits = int(flags)
        new_id = emu.add_member(
            "acme",
            email,
            role=role,
            name=name or None,
            pending=pending == "t",
            invite_status={"0": "approved", "1": "requested_to_be_invited"}.get(
                status, "requested_to_join"
            ),
            teams=on_teams,
            inviter=inviter or None,
            flags={flag: bool(bits & bit) for flag, bit in _FLAG_BITS.items()},
        )
        if username.startswith("scim-internal-integration"):
            # Invited by SCIM: the integration's proxy user is the inviter.
            emu.state.orgs["acme"].members[new_id].inviter_id = scim_proxy
    return {
        "owner": emu.add_token("acme", FULL, email=owner_email),
        "readonly": emu.add_token("acme", READ, email="reader@example.com"),
        "outsider": emu.add_token("other", FULL, email="outsider@example.com"),
        "scim": scim,
    }
