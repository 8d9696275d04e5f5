"""``scim.schemas()``, ``scim.users.set_role()`` and flat SCIM errors, over HTTP.

Sentry: src/sentry/core/endpoints/scim/schemas.py (``OrganizationSCIMSchemaIndex``),
``SCIMMemberRoleUpdateTests`` in tests/sentry/core/endpoints/scim/test_scim_user_details.py,
``test_scim_invalid_filter`` / ``test_team_details_404`` in the SCIM team tests.
"""

from __future__ import annotations

import pytest

from sentry_members_async import BadRequestError, NotFoundError, Org, SentryClient, ValidationError
from sentry_members_async.api.scim import ScimSchema
from sentry_members_async.testing import SentryEmulator

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def test_schemas(emu: SentryEmulator, acme: Org) -> None:
    schemas = await acme.scim.schemas()
    assert [type(s) for s in schemas] == [ScimSchema, ScimSchema]
    assert [(s.id, s.name) for s in schemas] == [(USER, "User"), (GROUP, "Group")]
    assert schemas[0].attribute_names == ("userName", "emails", "active", "name")
    assert schemas[1].attribute_names == ("displayName", "members")
    assert schemas[0].attributes[0]["required"] is True
    request = emu.requests[-1]
    assert (request.method, request.path) == ("GET", "/api/0/organizations/acme/scim/v2/Schemas")


async def test_set_role_and_hand_back(emu: SentryEmulator, acme: Org) -> None:
    member = next(m for m in emu.members("acme") if m["role"] == "member" and not m["pending"])
    user = await acme.scim.users.set_role(str(member["id"]), "manager")
    assert user.sentry_org_role == "manager"
    assert emu.requests[-1].method == "PUT"
    assert emu.requests[-1].path == f"/api/0/organizations/acme/scim/v2/Users/{member['id']}"
    assert emu.requests[-1].json() == {"schemas": [USER], "sentryOrgRole": "manager"}
    state = {m["id"]: m for m in emu.members("acme")}[member["id"]]
    assert (state["role"], state["flags"]["idp:role-restricted"]) == ("manager", True)
    # None hands the role back to Sentry: a restricted member returns to the default role.
    back = await acme.scim.users.set_role(str(member["id"]), None)
    assert emu.requests[-1].json() == {"schemas": [USER], "sentryOrgRole": ""}
    assert back.sentry_org_role == "member"
    state = {m["id"]: m for m in emu.members("acme")}[member["id"]]
    assert (state["role"], state["flags"]["idp:role-restricted"]) == ("member", False)


async def test_set_role_refuses_owner_before_sending(emu: SentryEmulator, acme: Org) -> None:
    sent = len(emu.requests)
    with pytest.raises(ValidationError):
        await acme.scim.users.set_role("57377908102", "owner")
    with pytest.raises(ValidationError):
        await acme.scim.users.set_role("me", "member")
    assert len(emu.requests) == sent


async def test_owner_is_not_changed(emu: SentryEmulator, acme: Org) -> None:
    owner = next(m for m in emu.members("acme") if m["role"] == "owner")
    user = await acme.scim.users.set_role(str(owner["id"]), "member")
    assert user.sentry_org_role == "owner"
    state = {m["id"]: m for m in emu.members("acme")}[owner["id"]]
    assert state["flags"]["idp:provisioned"] is True


async def test_flat_scim_errors_reach_the_error(emu: SentryEmulator, client: SentryClient) -> None:
    acme = client.org("acme")
    with pytest.raises(NotFoundError) as missing:
        await acme.scim.groups.get("32340")
    assert missing.value.body == {"schemas": [ERROR], "detail": "Group not found."}
    assert missing.value.detail == "Group not found."
    # A filter Sentry refuses, sent raw: the flat invalidFilter body.
    with pytest.raises(BadRequestError) as bad:
        await client.request(
            "GET",
            "/api/0/organizations/{org}/scim/v2/Users",
            path_params={"org": "acme"},
            params={"filter": 'userName co "x"'},
            scim=True,
        )
    assert bad.value.body == {"schemas": [ERROR], "scimType": "invalidFilter"}
    assert bad.value.detail == "invalidFilter"
