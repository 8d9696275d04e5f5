"""SCIM 2.0 (§8): what Users and Groups share, and the ``Schemas`` endpoints.

Sources: src/sentry/core/endpoints/scim/utils.py (``SCIMEndpoint``, filters,
paging), constants.py, schemas.py.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ..scim_schemas import SCIM_SCHEMA_LIST
from .common import PERMISSION_DENIED, Answer, Ctx, Result, digits

__all__ = [
    "INVALID_FILTER",
    "internal_error",
    "SCIM_ERROR",
    "SCIM_GROUP",
    "SCIM_LIST",
    "SCIM_SCHEMA",
    "SCIM_USER",
    "scim_error",
    "scim_filter",
    "scim_list",
    "scim_page",
    "scim_require",
    "scim_schema_get",
    "scim_schemas_get",
]

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIM_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
#: ``ParseError(detail=SCIM_400_INVALID_FILTER)``: DRF sends a dict detail as the body itself.
INVALID_FILTER = {"schemas": [SCIM_ERROR], "scimType": "invalidFilter"}


def scim_error(status: int, detail: str) -> Answer:
    """``SCIMApiError``: the body reaches the wire flat (no ``"detail"`` wrapper)."""
    return Answer(status, {"schemas": [SCIM_ERROR], "detail": detail})


def scim_require(ctx: Ctx, scopes: Sequence[str]) -> None:
    if not ctx.org.scim_enabled:
        raise Answer(403, PERMISSION_DENIED)
    ctx.require(*scopes)


def scim_page(ctx: Ctx) -> tuple[int, int]:
    """``startIndex`` (from 1) and ``count`` (from 0): ``SCIMQueryParamSerializer``."""
    errors: dict[str, list[str]] = {}
    values: dict[str, int] = {}
    for name, default, minimum in (("startIndex", 1, 1), ("count", 100, 0)):
        raw = ctx.query.get(name)
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            errors[name] = ["A valid integer is required."]
            continue
        if values[name] < minimum:
            errors[name] = [f"Ensure this value is greater than or equal to {minimum}."]
    if errors:
        raise Answer(400, errors)
    if values["count"] == 0 and ctx.profile.scim_crashes:
        # 23.7.1's GenericOffsetPaginator: ``assert limit > 0`` (api/paginator.py).
        raise Answer(500, internal_error())
    return values["startIndex"], values["count"]


def internal_error() -> dict[str, str]:
    """What Sentry answers for an exception it did not handle (api/base.py)."""
    return {"detail": "Internal Error", "errorId": uuid.uuid4().hex}


def scim_filter(ctx: Ctx) -> str | None:
    """The one filter Sentry reads: ``<attr> eq "<value>"``; anything else is invalidFilter."""
    raw = ctx.query.get("filter")
    if raw is None:
        return None
    invalid = Answer(400, INVALID_FILTER)
    parts = raw.split(" eq ")
    if len(parts) != 2 or "," in raw:
        raise invalid
    key, value = parts[0].strip(), parts[1].strip()
    if key not in ("userName", "value", "displayName") or len(value) < 2:
        raise invalid
    if value[0] != '"' or value[-1] != '"':
        raise invalid
    value = value[1:-1]
    if " and " in value.lower() or " or " in value.lower() or '"' in value:
        raise invalid
    if key == "value" and not digits(value):
        raise invalid
    return value


def scim_list(ctx: Ctx, rows: Sequence[Any], serialize: Callable[[Any], Any]) -> Result:
    start, count = scim_page(ctx)
    page = rows[start - 1 : start - 1 + count]
    return (
        200,
        {
            "schemas": [SCIM_LIST],
            "totalResults": len(rows),
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [serialize(r) for r in page],
        },
        {},
    )


# -- Schemas ---------------------------------------------------------------------

_SCHEMA_READ = ("member:read", "member:write", "member:admin", "team:read", "team:write")


def _schema_doc(ctx: Ctx, schema: dict[str, Any]) -> dict[str, Any]:
    location = (
        f"{ctx.request.url.origin()}/api/0/organizations/{ctx.org.slug}/scim/v2/Schemas/"
        f"{schema['id']}"
    )
    if ctx.profile.scim_legacy_schemas:
        return _schema_doc_23_7(schema)
    return {
        "schemas": [SCIM_SCHEMA],
        "id": schema["id"],
        "name": schema["name"],
        "description": schema["description"],
        "attributes": schema["attributes"],
        "meta": {"resourceType": "Schema", "location": location},
    }


def _schema_doc_23_7(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema as 23.7.1's scim/endpoints/schemas.py writes it: no ``schemas`` key, a
    relative location, no mutability on the User's ``name``, ``caseExact`` on a Group
    member's ``$ref``."""
    attributes = copy.deepcopy(schema["attributes"])
    for attribute in attributes:
        if schema["name"] == "User" and attribute["name"] == "name":
            for key in ("mutability", "returned", "uniqueness"):
                attribute.pop(key, None)
        for sub in attribute.get("subAttributes", []):
            if schema["name"] == "Group" and sub["name"] == "$ref":
                sub.setdefault("caseExact", False)
    return {
        "id": schema["id"],
        "name": schema["name"],
        "description": schema["description"],
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"/v2/Schemas/{schema['id']}"},
    }


def scim_schemas_get(ctx: Ctx) -> Result:
    """``OrganizationSCIMSchemaIndex`` (src/sentry/core/endpoints/scim/schemas.py):
    the User and Group schemas as a ListResponse; paging parameters are ignored."""
    scim_require(ctx, _SCHEMA_READ)
    if "filter" in ctx.query:
        raise Answer(400, INVALID_FILTER)
    docs = [_schema_doc(ctx, s) for s in SCIM_SCHEMA_LIST]
    body = {
        "schemas": [SCIM_LIST],
        "totalResults": len(docs),
        "startIndex": 1,
        "itemsPerPage": len(docs),
        "Resources": docs,
    }
    return 200, body, {}


def scim_schema_get(ctx: Ctx) -> Result:
    scim_require(ctx, _SCHEMA_READ)
    for schema in SCIM_SCHEMA_LIST:
        if schema["id"] == ctx.args["schema"]:
            return 200, _schema_doc(ctx, schema), {}
    raise scim_error(404, "Schema not found.")
