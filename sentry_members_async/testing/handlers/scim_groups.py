"""SCIM ``Groups`` (§8): teams provisioned by an identity provider.

Sentry's ``OrganizationSCIMTeamIndex`` and ``OrganizationSCIMTeamDetails``
(src/sentry/core/endpoints/scim/teams.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..state import SLUG_MAX, SLUG_RE, Member, Organization, Team, slugify
from .common import (
    CONFLICTING_SLUG,
    NO_BODY,
    PERMISSION_DENIED,
    SLUG_ERROR,
    Answer,
    Ctx,
    Result,
    digits,
)
from .scim import (
    INVALID_FILTER,
    SCIM_GROUP,
    internal_error,
    scim_error,
    scim_filter,
    scim_list,
    scim_require,
)
from .scim_23_7 import group_patch_ops_23_7
from .teams import delete_team

__all__ = [
    "scim_group_delete",
    "scim_group_get",
    "scim_group_patch",
    "scim_group_put",
    "scim_groups_get",
    "scim_groups_post",
]

_REMOVE_PATH = re.compile(r'^members\[value eq "(\d+)"\]$')
_PATCH_KINDS = ("add", "remove", "replace")


def ser_scim_group(ctx: Ctx, team: Team, *, members: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schemas": [SCIM_GROUP],
        "id": str(team.id),
        # Sentry's SCIM team tests (test_scim_team_index.py): the team *name*;
        # older versions sent the slug (``scim_group_display_slug``).
        "displayName": team.slug if ctx.org.scim_group_display_slug else team.name,
        "meta": {"resourceType": "Group"},
    }
    if members:
        rows = sorted(
            (m for m in ctx.org.members.values() if team.id in m.teams), key=lambda m: m.id
        )[:10000]
        data["members"] = [{"value": str(m.id), "display": ctx.state.member_email(m)} for m in rows]
    return data


def _members_excluded(ctx: Ctx) -> bool:
    return "members" in ",".join(ctx.query.getall("excludedAttributes", [])).split(",")


def _group_slug(name: str) -> str:
    """The slug a Group's ``displayName`` gives its team; 400 when it is not a valid one."""
    slug = slugify(name)[:SLUG_MAX]
    if not slug or not SLUG_RE.match(slug):
        raise Answer(400, {"slug": [SLUG_ERROR]})
    return slug


def scim_groups_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:read", "team:write", "team:admin"))
    wanted = scim_filter(ctx)
    rows = ctx.org.active_teams()
    if wanted is not None:
        slug = slugify(wanted)
        rows = [t for t in rows if t.slug.lower() == slug]
    exclude = _members_excluded(ctx)
    return scim_list(ctx, rows, lambda t: ser_scim_group(ctx, t, members=not exclude))


def scim_groups_post(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:write", "team:admin"))
    body = ctx.body()
    if "displayName" not in body and ctx.profile.scim_crashes:
        # 23.7.1 scim/endpoints/teams.py ``post`` reads ``request.data["displayName"]``.
        raise Answer(500, internal_error())
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise Answer(400, {"displayName": ["This field is required."]})
    slug = _group_slug(name)
    if ctx.org.team_by_slug(slug) is not None:
        raise Answer(409, {"non_field_errors": [CONFLICTING_SLUG], "detail": CONFLICTING_SLUG})
    team = ctx.state.new_team(ctx.org, slug, name)
    team.idp_provisioned = True
    return 201, ser_scim_group(ctx, team), {}


def scim_team(ctx: Ctx) -> Team:
    raw = ctx.args["team"]
    team: Team | None
    if digits(raw):
        team = ctx.org.teams.get(int(raw))
        team = team if team is not None and team.active else None
    else:
        team = ctx.org.team_by_slug(raw)
    if team is None:
        raise scim_error(404, "Group not found.")
    return team


def scim_group_get(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:read", "team:write", "team:admin"))
    team = scim_team(ctx)
    return 200, ser_scim_group(ctx, team, members=not _members_excluded(ctx)), {}


# -- PATCH -----------------------------------------------------------------------


def _group_patch_ops(body: dict[str, Any]) -> list[Any]:
    """The Groups PATCH serializer: ``schemas`` present, at most 100 operations, each
    an ``add``, ``remove`` or ``replace``."""
    if "schemas" not in body:
        raise Answer(400, {"schemas": ["This field is required."]})
    ops = body.get("Operations")
    if not isinstance(ops, list):
        raise Answer(400, {"Operations": ["This field is required."]})
    if len(ops) > 100:
        raise scim_error(400, "Too many patch ops sent, limit is 100.")
    for op in ops:
        kind = str(op.get("op", "")).lower() if isinstance(op, dict) else ""
        if kind not in _PATCH_KINDS:
            # The PATCH serializer's choice error, JSON-encoded in the SCIM detail
            # (test_scim_team_details_invalid_patch_op).
            name = op.get("op") if isinstance(op, dict) else op
            detail = json.dumps({"Operations": [{"op": [f'"{name}" is not a valid choice.']}]})
            raise scim_error(400, detail)
    return ops


def _joiner(member: Member, team: Team) -> Callable[[], None]:
    def join() -> None:
        member.teams.setdefault(team.id, None)

    return join


def _leaver(member: Member, team: Team) -> Callable[[], None]:
    def leave() -> None:
        member.teams.pop(team.id, None)

    return leave


class _GroupPatch:
    """One Groups PATCH, planned before anything changes: all operations apply
    together or not at all (``OrganizationSCIMTeamDetails.patch``)."""

    def __init__(self, org: Organization, team: Team) -> None:
        self.org = org
        self.team = team
        self.steps: list[Callable[[], None]] = []
        self.new_name: str | None = None

    def plan(self, op: dict[str, Any]) -> None:
        kind = str(op.get("op", "")).lower()
        {"add": self._add, "remove": self._remove, "replace": self._replace}[kind](
            op.get("path"), op.get("value")
        )

    def _lookup(self, value: Any) -> Member:
        """A member by id (``{"value": id}`` or the id itself); 404 "User not found."."""
        raw = str(value.get("value") if isinstance(value, dict) else value)
        member = self.org.members.get(int(raw)) if digits(raw) else None
        if member is None:
            raise scim_error(404, "User not found.")
        return member

    def _add(self, path: Any, value: Any) -> None:
        """``add`` members: they join the team."""
        if path != "members" or not isinstance(value, list):
            raise scim_error(400, "Invalid Patch Operation.")
        self.steps.extend(_joiner(m, self.team) for m in [self._lookup(v) for v in value])

    def _remove(self, path: Any, value: Any) -> None:
        """``remove`` members, listed or by the ``members[value eq "id"]`` filter."""
        if not isinstance(path, str) or not path.startswith("members"):
            raise scim_error(400, "Invalid Patch Operation.")
        if path == "members" and isinstance(value, list):
            targets = [self._lookup(v) for v in value]
        else:
            match = _REMOVE_PATH.match(path)
            if not match:
                raise Answer(400, INVALID_FILTER)
            targets = [self._lookup(match.group(1))]
        self.steps.extend(_leaver(m, self.team) for m in targets)

    def _replace(self, path: Any, value: Any) -> None:
        """``replace`` the member list or the ``displayName``; nothing else."""
        if path == "members" and isinstance(value, list):
            self.steps.append(self._replacer({m.id for m in (self._lookup(v) for v in value)}))
        elif path is None and isinstance(value, dict) and "displayName" in value:
            self.new_name = str(value["displayName"])
        elif path == "displayName" and isinstance(value, str):
            self.new_name = value
        else:
            raise scim_error(400, "Invalid Replace attr. Only displayName and members supported.")

    def _replacer(self, keep: set[int]) -> Callable[[], None]:
        team_id = self.team.id

        def replace() -> None:
            for m in self.org.members.values():
                if m.id in keep:
                    m.teams.setdefault(team_id, None)
                else:
                    m.teams.pop(team_id, None)

        return replace

    def apply(self) -> None:
        """Check the new name's slug is free, then run every step and rename."""
        new_slug = None
        if self.new_name is not None:
            new_slug = _group_slug(self.new_name)
            other = self.org.team_by_slug(new_slug)
            if other is not None and other.id != self.team.id:
                raise scim_error(400, "Database Integrity Error.")
        for step in self.steps:
            step()
        if self.new_name is not None and new_slug is not None:
            self.team.name, self.team.slug = self.new_name, new_slug
        self.team.idp_provisioned = True
        self.org.version += 1


def scim_group_patch(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:write", "team:admin"))
    team = scim_team(ctx)
    body = ctx.body()
    ops = group_patch_ops_23_7(body) if ctx.profile.scim_legacy_errors else _group_patch_ops(body)
    patch = _GroupPatch(ctx.org, team)
    for op in ops:
        patch.plan(op)
    patch.apply()
    return 204, NO_BODY, {}


def scim_group_put(ctx: Ctx) -> Result:
    """Groups have no PUT in Sentry's scope map: permission denied (test_scim_team_details)."""
    scim_require(ctx, ("team:read", "team:write", "team:admin"))
    raise Answer(403, PERMISSION_DENIED)


def scim_group_delete(ctx: Ctx) -> Result:
    scim_require(ctx, ("team:admin",))
    delete_team(ctx.org, scim_team(ctx))
    return 204, NO_BODY, {}
