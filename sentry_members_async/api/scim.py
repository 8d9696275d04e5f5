"""SCIM 2.0 Users and Groups: ``acme.scim.users`` and ``acme.scim.groups``.

Requests use the client's SCIM token. PATCH bodies are built from typed
operations and filters from a checked value, never by pasting strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from ..converter import DecodeError, decode_list
from ..errors import ConflictError, NotFoundError, ValidationError
from ..models import MemberId, ScimGroup, ScimUser
from ..pagination import Paginator, ScimPage
from ..pipeline import Confirmed
from ..transports.base import Response
from ._common import (
    OrgScope,
    check_email,
    check_member_ref,
    check_page_size,
    check_team_id,
    decode_one,
    endpoint,
    json_body,
)
from .members import InviteStatus, MembersAPI

__all__ = [
    "PatchOperation",
    "ScimAPI",
    "ScimSchema",
    "ScimGroupsAPI",
    "ScimUsersAPI",
    "patch_body",
    "scim_filter",
]

USERS = "/api/0/organizations/{org}/scim/v2/Users"
USER = "/api/0/organizations/{org}/scim/v2/Users/{member_id}"
GROUPS = "/api/0/organizations/{org}/scim/v2/Groups"
GROUP = "/api/0/organizations/{org}/scim/v2/Groups/{team}"
SCHEMAS = "/api/0/organizations/{org}/scim/v2/Schemas"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Roles SCIM may assign (not ``owner``: SCIM does not manage owners).
SCIM_ROLES = ("billing", "member", "admin", "manager")
MAX_OPERATIONS = 100

USER_READ = ("member:read", "member:write", "member:admin")
USER_WRITE = ("member:write", "member:admin")
USER_DELETE = ("member:admin",)
GROUP_READ = ("team:read", "team:write", "team:admin")
GROUP_WRITE = ("team:write", "team:admin")
GROUP_DELETE = ("team:admin",)
SCHEMA_READ = USER_READ + GROUP_READ

FilterAttribute = Literal["userName", "displayName", "value"]


def scim_filter(attribute: FilterAttribute, value: str) -> str:
    """``<attribute> eq "<value>"``, the one filter form Sentry supports.

    The value may not contain quotes, backslashes or control characters (Sentry
    has no escaping), so no value can change the filter's meaning.
    """
    if attribute not in ("userName", "displayName", "value"):
        raise ValidationError(f"SCIM filter attribute {attribute!r} is not supported by Sentry")
    if not isinstance(value, str) or not value:
        raise ValidationError("SCIM filter value must be a non-empty string")
    if any(ch in value for ch in '"\\') or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError(f"SCIM filter value {value!r} contains a quote or control character")
    if attribute == "value" and not (value.isascii() and value.isdigit()):
        raise ValidationError("the 'value' filter takes a numeric id")
    return f'{attribute} eq "{value}"'


@attrs.frozen
class PatchOperation:
    """One SCIM PATCH operation."""

    op: Literal["add", "remove", "replace"]
    path: str | None = None
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op": self.op}
        if self.path is not None:
            data["path"] = self.path
        if self.value is not None or self.op != "remove":
            data["value"] = self.value
        return data


@attrs.frozen(kw_only=True)
class ScimSchema:
    """One SCIM schema Sentry serves (``GET .../scim/v2/Schemas``): its URN ``id``,
    ``name`` (``User`` or ``Group``) and the ``attributes`` it supports, as sent."""

    id: str
    name: str
    description: str = ""
    attributes: tuple[Mapping[str, Any], ...] = ()

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(str(a.get("name")) for a in self.attributes)


def _schema(data: object, endpoint: str) -> ScimSchema:
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise DecodeError(f"{endpoint}: a schema without an id", endpoint=endpoint, path="$")
    attributes = data.get("attributes")
    return ScimSchema(
        id=str(data["id"]),
        name=str(data.get("name", "")),
        description=str(data.get("description", "")),
        attributes=tuple(a for a in attributes if isinstance(a, Mapping))
        if isinstance(attributes, list)
        else (),
    )


def _list_response(response: Response) -> dict[str, Any]:
    """A SCIM ListResponse body (its ``Resources`` a list), or a :class:`DecodeError`."""
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), list):
        where = endpoint(response)
        raise DecodeError(
            f"{where} did not answer a SCIM ListResponse", endpoint=where, path="$.Resources"
        )
    return body


def _role_body(role: str | None) -> dict[str, str]:
    if role is None:
        return {}
    if role not in SCIM_ROLES:
        raise ValidationError(
            f"SCIM can assign {', '.join(SCIM_ROLES)}, not {role!r} (owners are outside SCIM)"
        )
    return {"sentryOrgRole": role}


def patch_body(operations: Sequence[PatchOperation]) -> dict[str, Any]:
    if not operations:
        raise ValidationError("a SCIM PATCH needs at least one operation")
    if len(operations) > MAX_OPERATIONS:
        raise ValidationError(f"Sentry accepts at most {MAX_OPERATIONS} operations per PATCH")
    return {"schemas": [PATCH_SCHEMA], "Operations": [op.to_json() for op in operations]}


def _member_ids(member_ids: Iterable[MemberId | str]) -> list[str]:
    if isinstance(member_ids, str):
        raise ValidationError("member_ids must be a list of member ids, not one string")
    ids = [check_member_ref(m) for m in member_ids]
    if "me" in ids:
        raise ValidationError("SCIM takes member ids, not 'me'")
    if not ids:
        raise ValidationError("member_ids is empty")
    return ids


class _ScimBase:
    def __init__(self, org: OrgScope) -> None:
        self._org = org
        self._client = org.client

    def _paginate(
        self,
        path: str,
        cls: type[Any],
        params: dict[str, Any],
        scopes: tuple[str, ...],
        page_size: int,
        prefetch: int,
        limit: int | None,
    ) -> Paginator[Any]:
        page_size = check_page_size(page_size)
        org = {"org": self._org.slug}

        async def fetch(start: int, count: int) -> ScimPage[Any]:
            response = await self._client.request(
                "GET",
                path,
                path_params=org,
                params={**params, "startIndex": start, "count": count},
                scim=True,
                required_scopes=scopes,
            )
            body = _list_response(response)
            items = decode_list(body["Resources"], cls, endpoint=endpoint(response))
            total = body.get("totalResults")
            return ScimPage(items, total if isinstance(total, int) else len(items), start)

        return Paginator(scim_fetch=fetch, page_size=page_size, prefetch=prefetch, limit=limit)


class ScimUsersAPI(_ScimBase):
    """SCIM Users: organization members as the identity provider sees them."""

    def list(
        self,
        *,
        user_name: str | None = None,
        page_size: int = 100,
        prefetch: int = 24,
        limit: int | None = None,
    ) -> Paginator[ScimUser]:
        """Stream SCIM users (by e-mail, then id); ``user_name`` filters by e-mail."""
        params = {"filter": scim_filter("userName", user_name)} if user_name is not None else {}
        return self._paginate(USERS, ScimUser, params, USER_READ, page_size, prefetch, limit)

    async def get(self, member_id: MemberId | str) -> ScimUser:
        response = await self._client.request(
            "GET", USER, path_params=self._path(member_id), scim=True, required_scopes=USER_READ
        )
        return decode_one(response, ScimUser)

    async def create(self, user_name: str, *, role: str | None = None) -> ScimUser:
        """Provision a member (an invite flagged ``idp:provisioned``)."""
        return await self._post(user_name, role)

    async def _post(self, user_name: str, role: str | None) -> ScimUser:
        """One ``POST Users``."""
        body: dict[str, str] = {"userName": check_email(user_name), **_role_body(role)}
        response = await self._client.request(
            "POST",
            USERS,
            path_params={"org": self._org.slug},
            json=body,
            scim=True,
            required_scopes=USER_WRITE,
        )
        return decode_one(response, ScimUser)

    async def provision(
        self, user_name: str, *, role: str | None = None
    ) -> tuple[MemberId, InviteStatus]:
        """``POST Users`` exactly once: the member id and ``"created"``, or
        ``"already_member"`` / ``"already_invited"`` on Sentry's 409.

        As for invites, a POST whose answer was lost is not re-sent blindly:
        the user is looked up by e-mail first, and a 409 after a retry means an
        earlier attempt of this call created it. SCIM provisioning does not
        count against the daily invite quota.
        """
        check_email(user_name)
        _role_body(role)  # both checked before anything is sent
        members = MembersAPI(self._org)

        try:
            made = await self._client.create(
                "POST",
                USERS,
                confirm=lambda: members.find_by_email(user_name),
                path_params={"org": self._org.slug},
                json={"userName": check_email(user_name), **_role_body(role)},
                scim=True,
                required_scopes=USER_WRITE,
            )
        except ConflictError as exc:
            found = await members.find_by_email(user_name)
            if found is None:
                raise
            if exc.attempts > 1:
                return found.id, "created"  # our earlier attempt created it
            return found.id, "already_invited" if found.pending else "already_member"
        if isinstance(made, Confirmed):
            return made.value.id, "created"  # an earlier attempt created it
        return decode_one(made, ScimUser).id, "created"

    async def set_role(self, member_id: MemberId | str, role: str | None) -> ScimUser:
        """``PUT Users/{id}``: let the identity provider manage the member's org role.

        ``role`` (``billing``, ``member``, ``admin`` or ``manager``) sets it and
        marks it IdP-managed (``idp:role-restricted``); ``None`` hands it back
        to Sentry (a restricted member returns to the default role). Sentry
        never changes an owner this way (it answers 200 unchanged).
        """
        path = self._path(member_id)
        body: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "sentryOrgRole": _role_body(role).get("sentryOrgRole", ""),
        }
        response = await self._client.request(
            "PUT", USER, path_params=path, json=body, scim=True, required_scopes=USER_WRITE
        )
        return decode_one(response, ScimUser)

    async def deactivate(self, member_id: MemberId | str) -> None:
        """``PATCH active=false``: Sentry removes the member (204)."""
        body = patch_body([PatchOperation("replace", "active", False)])
        try:
            await self._client.request(
                "PATCH",
                USER,
                path_params=self._path(member_id),
                json=body,
                scim=True,
                required_scopes=USER_WRITE,
                idempotent=True,  # deactivating twice is deactivating once
            )
        except NotFoundError as exc:
            if exc.attempts == 1:
                raise  # after a retry, 404 means the first attempt removed the member

    async def delete(self, member_id: MemberId | str) -> None:
        try:
            await self._client.request(
                "DELETE",
                USER,
                path_params=self._path(member_id),
                scim=True,
                required_scopes=USER_DELETE,
            )
        except NotFoundError as exc:
            if exc.attempts == 1:
                raise

    def _path(self, member_id: object) -> dict[str, str]:
        ref = check_member_ref(member_id)
        if ref == "me":
            raise ValidationError("SCIM takes member ids, not 'me'")
        return {"org": self._org.slug, "member_id": ref}


class ScimGroupsAPI(_ScimBase):
    """SCIM Groups: teams as the identity provider sees them."""

    def list(
        self,
        *,
        display_name: str | None = None,
        exclude_members: bool = False,
        page_size: int = 100,
        prefetch: int = 24,
        limit: int | None = None,
    ) -> Paginator[ScimGroup]:
        params: dict[str, Any] = {}
        if display_name is not None:
            params["filter"] = scim_filter("displayName", display_name)
        if exclude_members:
            params["excludedAttributes"] = "members"
        return self._paginate(GROUPS, ScimGroup, params, GROUP_READ, page_size, prefetch, limit)

    async def get(self, team_id: str) -> ScimGroup:
        response = await self._client.request(
            "GET", GROUP, path_params=self._path(team_id), scim=True, required_scopes=GROUP_READ
        )
        return decode_one(response, ScimGroup)

    async def create(self, display_name: str) -> ScimGroup:
        """Create a team from a display name (Sentry slugifies it)."""
        if not isinstance(display_name, str) or not display_name.strip():
            raise ValidationError("display_name must be a non-empty string")
        response = await self._client.request(
            "POST",
            GROUPS,
            path_params={"org": self._org.slug},
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": display_name,
            },
            scim=True,
            required_scopes=GROUP_WRITE,
        )
        return decode_one(response, ScimGroup)

    async def rename(self, team_id: str, display_name: str) -> None:
        if not isinstance(display_name, str) or not display_name.strip():
            raise ValidationError("display_name must be a non-empty string")
        await self.patch(team_id, [PatchOperation("replace", None, {"displayName": display_name})])

    async def add_members(self, team_id: str, member_ids: Iterable[MemberId | str]) -> None:
        values = [{"value": m} for m in _member_ids(member_ids)]
        await self.patch(team_id, [PatchOperation("add", "members", values)])

    async def remove_members(self, team_id: str, member_ids: Iterable[MemberId | str]) -> None:
        ops = [
            PatchOperation("remove", f"members[{scim_filter('value', m)}]")
            for m in _member_ids(member_ids)
        ]
        for start in range(0, len(ops), MAX_OPERATIONS):
            await self.patch(team_id, ops[start : start + MAX_OPERATIONS])

    async def patch(self, team_id: str, operations: Sequence[PatchOperation]) -> None:
        """Apply typed PATCH operations in one request (all or nothing on Sentry)."""
        await self._client.request(
            "PATCH",
            GROUP,
            path_params=self._path(team_id),
            json=patch_body(operations),
            scim=True,
            required_scopes=GROUP_WRITE,
        )

    async def delete(self, team_id: str) -> None:
        await self._client.request(
            "DELETE",
            GROUP,
            path_params=self._path(team_id),
            scim=True,
            required_scopes=GROUP_DELETE,
        )

    def _path(self, team_id: object) -> dict[str, str]:
        return {"org": self._org.slug, "team": check_team_id(team_id)}


class ScimAPI:
    """``acme.scim``: ``.users``, ``.groups`` and :meth:`schemas`."""

    def __init__(self, org: OrgScope) -> None:
        self._org = org
        self.users = ScimUsersAPI(org)
        self.groups = ScimGroupsAPI(org)

    async def schemas(self) -> list[ScimSchema]:
        """The SCIM schemas Sentry serves (``GET .../scim/v2/Schemas``): User and Group."""
        response = await self._org.client.request(
            "GET",
            SCHEMAS,
            path_params={"org": self._org.slug},
            scim=True,
            required_scopes=SCHEMA_READ,
        )
        body = _list_response(response)
        return [_schema(item, endpoint(response)) for item in body["Resources"]]
