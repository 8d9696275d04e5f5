"""The SCIM schemas the emulator serves at ``.../scim/v2/Schemas``.

Sentry serves the core User and Group schemas (RFC 7643 section 7) with the
attributes it supports: ``userName``, ``emails``, ``active`` and ``name`` for
users, ``displayName`` and ``members`` for groups. Built here from RFC 7643's
attribute characteristics; descriptions are the emulator's own words.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCIM_SCHEMA_LIST"]

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _attr(
    name: str,
    kind: str = "string",
    *,
    description: str,
    multi: bool = False,
    required: bool = False,
    mutability: str = "readOnly",
    uniqueness: str | None = "none",
    case_exact: bool | None = False,
    sub: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": required,
    }
    if case_exact is not None and kind == "string":
        data["caseExact"] = case_exact
    data.update(extra)
    if sub is not None:
        data["subAttributes"] = sub
    data["mutability"] = mutability
    data["returned"] = "default"
    if uniqueness is not None:
        data["uniqueness"] = uniqueness
    return data


USER_SCHEMA: dict[str, Any] = {
    "id": USER,
    "name": "User",
    "description": "A SCIM User is a Sentry organization member",
    "attributes": [
        _attr(
            "userName",
            description="The member's e-mail address, unique in the organization.",
            required=True,
            mutability="immutable",
            uniqueness="server",
        ),
        _attr(
            "emails",
            "complex",
            description="The member's e-mail address (derived from userName).",
            multi=True,
            sub=[
                _attr("value", description="An e-mail address, in lower case."),
                _attr("display", description="A display form of the address."),
                _attr(
                    "type",
                    description="The kind of address.",
                    canonicalValues=["work", "home", "other"],
                ),
                _attr(
                    "primary",
                    "boolean",
                    description="Whether this is the primary address.",
                    uniqueness=None,
                ),
            ],
        ),
        _attr(
            "active",
            "boolean",
            description="Setting it to false removes the member.",
            mutability="readWrite",
            uniqueness=None,
        ),
        _attr(
            "name",
            "complex",
            description="Not stored by Sentry; returned as N/A for compatibility.",
            sub=[
                _attr("familyName", description="Always N/A."),
                _attr("givenName", description="Always N/A."),
            ],
        ),
    ],
}

GROUP_SCHEMA: dict[str, Any] = {
    "id": GROUP,
    "name": "Group",
    "description": "A SCIM Group is a Sentry team",
    "attributes": [
        _attr(
            "displayName",
            description="The team's name; its slug is derived from it.",
            mutability="readWrite",
            uniqueness="server",
        ),
        _attr(
            "members",
            "complex",
            description="The members of the team.",
            multi=True,
            mutability="readWrite",
            uniqueness=None,
            sub=[
                _attr("value", description="A member id.", mutability="immutable"),
                _attr(
                    "$ref",
                    "reference",
                    description="The URI of the member's User resource.",
                    referenceTypes=["User"],
                ),
            ],
        ),
    ],
}

SCIM_SCHEMA_LIST: list[dict[str, Any]] = [USER_SCHEMA, GROUP_SCHEMA]
