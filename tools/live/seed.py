# Run by `sentry exec` (Python 3.8, inside Sentry 23.7.1's Django setup) from
# tools/live/harness.py. Seeds what the live and differential suites expect, as
# sentry.testutils.factories and SCIMTestCase.setUp do, and writes the tokens
# and ids to the JSON file named by $SMA_SEED_OUT.
#
# Organization `acme` (251 members: the owner, a read-only member, 199
# members, a manager and 49 pending invites), teams `backend` and `frontend`,
# SCIM on (okta) with its token, a second org `other` whose owner is the
# `outsider` (a user with a full-scope token who is not in `acme`).
import json
import os

from sentry.models import (
    ApiToken,
    AuthProvider,
    Organization,
    OrganizationMember,
    OrganizationMemberTeam,
    Team,
    User,
    UserEmail,
)

FULL = [
    "org:read", "org:write", "org:admin",
    "member:read", "member:write", "member:admin",
    "team:read", "team:write", "team:admin",
    "project:read",
]  # fmt: skip
READ = ["org:read", "member:read", "team:read"]


def user(email, name):
    u = User(email=email, username=email, name=name, is_active=True, is_staff=False)
    u.set_password("sentry-members-live")
    u.save()
    UserEmail.objects.filter(user=u, email=email).update(is_verified=True)
    return u


def token(u, scopes):
    return ApiToken.objects.create(user=u, scope_list=scopes, expires_at=None).token


owner = user("owner@example.com", "Olive Owner")
reader = user("reader@example.com", "Rita Reader")
outsider = user("outsider@example.com", "Otto Outsider")

acme = Organization.objects.create(name="Acme", slug="acme")
other = Organization.objects.create(name="Other", slug="other")
backend = Team.objects.create(organization=acme, name="Backend", slug="backend")
frontend = Team.objects.create(organization=acme, name="Frontend", slug="frontend")

owner_member = OrganizationMember.objects.create(organization=acme, user_id=owner.id, role="owner")
OrganizationMemberTeam.objects.create(team=backend, organizationmember=owner_member, is_active=True)
OrganizationMember.objects.create(organization=acme, user_id=reader.id, role="member")
OrganizationMember.objects.create(organization=other, user_id=outsider.id, role="owner")

members = []
for i in range(199):
    u = user("member%03d@example.com" % i, "Member %03d" % i)
    members.append(
        OrganizationMember.objects.create(organization=acme, user_id=u.id, role="member")
    )
for m in members[:20]:
    OrganizationMemberTeam.objects.create(team=backend, organizationmember=m, is_active=True)
manager = user("manager@example.com", "Mona Manager")
OrganizationMember.objects.create(organization=acme, user_id=manager.id, role="manager")
for i in range(49):
    OrganizationMember.objects.create(
        organization=acme,
        email="invitee%03d@example.com" % i,
        role="member",
        inviter_id=owner.id,
        token=OrganizationMember().generate_token(),
    )

provider = AuthProvider(organization_id=acme.id, provider="okta")
provider.enable_scim(owner)
provider.save()
scim_token = provider.get_scim_token()

out = {
    "org": "acme",
    "other_org": "other",
    "teams": ["backend", "frontend"],
    "member_count": OrganizationMember.objects.filter(organization=acme).count(),
    "owner_member_id": str(owner_member.id),
    "tokens": {
        "owner": token(owner, FULL),
        "readonly": token(reader, READ),
        "outsider": token(outsider, FULL),
        "scim": scim_token,
    },
}
with open(os.environ["SMA_SEED_OUT"], "w") as f:
    json.dump(out, f, indent=2)
print("seeded: %d members in acme" % out["member_count"])
