"""What every handler shares: the request context, the early answer, the
error bodies Sentry sends word for word, and DRF's field parsing.

A handler returns ``(status, body, headers)`` or raises :class:`Answer` to
stop early with one; ``NO_BODY`` marks an answer with an empty body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from multidict import MultiDictProxy

from ...transports.base import Request
from ..profiles import Profile
from ..state import ORG_ROLES, Member, Organization, State, Token

__all__ = [
    "CONFLICTING_SLUG",
    "DOES_NOT_EXIST",
    "EMAIL",
    "IDP_MEMBER",
    "IDP_TEAM",
    "NO_BODY",
    "ONLY_OWNER",
    "PARTNERSHIP",
    "PERMISSION_DENIED",
    "SLUG_ERROR",
    "Answer",
    "Ctx",
    "Result",
    "Text",
    "boolean",
    "digits",
    "owners",
    "refuse_last_owner",
    "refuse_partnership",
    "role_choice",
    "role_scopes",
    "truthy",
]

NO_BODY: Any = object()


@dataclass(frozen=True)
class Text:
    """A body sent as it is, with its own content type (not JSON)."""

    data: str
    content_type: str


PERMISSION_DENIED = {"detail": "You do not have permission to perform this action."}
DOES_NOT_EXIST = {"detail": "The requested resource does not exist"}
IDP_MEMBER = {"detail": "This user is managed through your organization's identity provider."}
IDP_TEAM = {"detail": "This team is managed through your organization's identity provider."}
PARTNERSHIP = {
    "detail": "This member is managed by an active partnership and cannot be "
    "modified until the end of the partnership."
}
ONLY_OWNER = {"detail": "You cannot remove the only remaining owner of the organization."}
SLUG_ERROR = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)
CONFLICTING_SLUG = "A team with this slug already exists."
#: Django's ``EmailValidator`` as ``AllowedEmailField`` uses it: a dotted domain, or
#: ``localhost`` (its domain allow-list; Sentry's tests invite ``eric@localhost``).
EMAIL = re.compile(r"^[^@\s]+@(?:[^@\s]+\.[^@\s]+|localhost)$")

Result = tuple[int, Any, dict[str, str]]


def digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` accepts ``"²"``, which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


class Answer(Exception):
    """Stop handling and answer with this status, body and headers."""

    def __init__(self, status: int, body: Any = NO_BODY, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Ctx:
    """One authenticated request to one organization, as a handler sees it."""

    state: State
    request: Request
    args: dict[str, str]
    query: MultiDictProxy[str]
    token: Token
    org: Organization
    actor: Member | None
    scopes: frozenset[str]

    @property
    def profile(self) -> Profile:
        """The Sentry release answering (``testing/profiles.py``)."""
        return self.state.profile

    def has(self, *scopes: str) -> bool:
        return any(s in self.scopes for s in scopes)

    def require(self, *scopes: str) -> None:
        if not self.has(*scopes):
            raise Answer(403, PERMISSION_DENIED)

    def body(self) -> dict[str, Any]:
        raw = self.request.body or b""
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise Answer(400, {"detail": f"JSON parse error - {exc}"}) from None
        if not isinstance(data, dict):
            raise Answer(
                400,
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
                    ]
                },
            )
        return data


_TRUE = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"}
_FALSE = {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"}


def boolean(value: Any) -> bool | None:
    """DRF's ``BooleanField``: ``True``/``False``, 1/0 and their usual spellings; else None.

    (Sentry's tests send ``reinvite=1``.)
    """
    if value is True or value is False:
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    return None


def truthy(value: Any) -> bool:
    return boolean(value) is True


def role_choice(value: Any, profile: Profile | None = None) -> bool:
    """``ChoiceField(choices=ROLE_CHOICES)``: one of the organization roles (no
    ``billing`` where the profile has none)."""
    if not isinstance(value, str) or value not in ORG_ROLES:
        return False
    return value != "billing" or profile is None or profile.billing_role


def role_scopes(role: str, profile: Profile) -> list[str]:
    """An org role's scopes; no ``org:billing`` where the profile has no billing role
    (23.7.1's conf/server.py ``SENTRY_ROLES``)."""
    scopes = ORG_ROLES[role].scopes
    return [s for s in scopes if profile.billing_role or s != "org:billing"]


def owners(org: Organization) -> int:
    return sum(1 for m in org.members.values() if m.role == "owner" and not m.pending)


def refuse_partnership(member: Member) -> None:
    """403 for a member an active partnership manages (``partnership:restricted``;
    src/sentry/core/endpoints/organization_member_details.py and scim/members.py)."""
    if member.flags["partnership:restricted"]:
        raise Answer(403, PARTNERSHIP)


def refuse_last_owner(org: Organization, member: Member) -> None:
    """403 for removing the organization's only owner (``ERR_ONLY_OWNER``,
    src/sentry/core/endpoints/organization_member_details.py)."""
    if member.role == "owner" and not member.pending and owners(org) <= 1:
        raise Answer(403, ONLY_OWNER)
