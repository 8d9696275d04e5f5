"""Input validation and response helpers shared by the resource APIs.

Every check runs before anything is sent and raises
:class:`~sentry_members_async.errors.ValidationError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from ..converter import DecodeError, decode, decode_list
from ..errors import ValidationError
from ..models import ORG_ROLE_NAMES, TEAM_ROLE_NAMES, Member, MemberId, TeamId, UserId
from ..pagination import Page, parse_link_header
from ..transports.base import Response

if TYPE_CHECKING:
    from ..pipeline import Requester

T = TypeVar("T")


@attrs.frozen
class AcceptanceResult:
    """Where invites stand after :meth:`MembersAPI.wait_for_acceptance`."""

    accepted: frozenset[str]
    #: Still pending when the wait ended.
    pending: frozenset[str]
    #: No longer invited at all (revoked or removed).
    missing: frozenset[str]

    @property
    def done(self) -> bool:
        return not self.pending


@attrs.frozen
class PendingInvite:
    """A pending invite as :meth:`MembersAPI.invites` lists it."""

    member: Member
    #: Since the invite was made (``dateCreated``); ``None`` when Sentry sent no date.
    age: dt.timedelta | None
    #: The inviter's display name (``inviterName``), ``None`` when Sentry names none.
    inviter: str | None
    #: Whether the invite link expired: ``reinvite(..., regenerate=True)`` renews it.
    expired: bool

    @property
    def id(self) -> MemberId:
        return self.member.id

    @property
    def email(self) -> str:
        return self.member.email

    @classmethod
    def of(cls, member: Member, now: dt.datetime) -> PendingInvite:
        made = member.date_created
        if made is not None and made.tzinfo is None:
            made = made.replace(tzinfo=dt.timezone.utc)
        age = None if made is None else max(now - made, dt.timedelta(0))
        return cls(member, age, member.inviter_name, member.expired)


class OrgScope(Protocol):
    """What a resource needs of its organization: the client and the slug.

    The resources take this, not the :class:`~sentry_members_async.org.Org`
    handle composed of them, so nothing in ``api/`` imports upward;
    :class:`~.org.OrgScope` adds the resources, for the layers above.
    """

    @property
    def client(self) -> Requester: ...

    @property
    def slug(self) -> str: ...


@attrs.frozen
class Scope:
    """A plain :class:`OrgScope`: resources on another client view of the same org
    (the watcher's, paced by its budget)."""

    client: Requester
    slug: str


#: Sentry's e-mail field: at most 75 characters (``AllowedEmailField``).
MAX_EMAIL = 75
# Every pattern is matched against the whole string (``fullmatch``): ``$`` alone
# also matches before a final newline, so ``"acme\n"`` would pass.
# The domain is dotted, or exactly ``localhost``: Django's ``EmailValidator``
# (behind Sentry's ``AllowedEmailField``) allow-lists ``localhost``, and Sentry's
# ``OrganizationMemberRequestSerializerTest.test_valid`` invites ``eric@localhost``.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@"
    r"(?:localhost"
    r"|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)"
)
_SLUG = re.compile(r"[a-z0-9_\-]{1,50}")
#: A member id in canonical decimal form: no sign, no leading zero.
_MEMBER_ID = re.compile(r"[1-9][0-9]{0,18}")
#: Sentry's ids are 64-bit signed integers (``BoundedBigAutoField``).
MAX_ID = 2**63 - 1


def check_email(email: object) -> str:
    if not isinstance(email, str):
        raise ValidationError(f"email must be a string, not {type(email).__name__}")
    if not email:
        raise ValidationError("email is empty")
    if len(email) > MAX_EMAIL:
        raise ValidationError(f"email {email!r} is longer than Sentry's {MAX_EMAIL} characters")
    if not _EMAIL.fullmatch(email) or ".." in email:
        raise ValidationError(f"{email!r} is not a valid e-mail address")
    return email


def _check_role(role: object, names: tuple[str, ...], what: str) -> str:
    if not isinstance(role, str) or role not in names:
        raise ValidationError(f"unknown {what} {role!r}; Sentry's {what}s are {', '.join(names)}")
    return role


def check_org_role(role: object) -> str:
    return _check_role(role, ORG_ROLE_NAMES, "organization role")


def org_role_body(role: object) -> dict[str, str]:
    """The checked org role as a request body gives it: ``role`` and ``orgRole`` alike.

    Sentry 23.7.1's ``POST members/`` creates the member with the deprecated
    ``role`` key (``OrganizationMember(role=result["role"])``; ``role`` defaults
    to ``member``, ``orgRole`` is only validated) in
    src/sentry/api/endpoints/organization_member/index.py, while newer releases
    read ``orgRole`` (``role=result["orgRole"]``). ``PUT members/{id}/`` reads
    ``result.get("orgRole") or result.get("role")`` (details.py; releases before
    ``orgRole`` read ``role`` only). Both keys validate through
    ``validate_orgRole`` (``validate_role`` calls it), so one value in both is
    applied by old and new servers alike and refused by neither.
    """
    checked = check_org_role(role)
    return {"role": checked, "orgRole": checked}


def check_team_role(role: object) -> str:
    return _check_role(role, TEAM_ROLE_NAMES, "team role")


def check_slug(slug: object, what: str = "team") -> str:
    """A slug (or numeric id) that is safe as one path segment."""
    if isinstance(slug, bool) or not isinstance(slug, str | int):
        raise ValidationError(f"{what} must be a slug string, not {type(slug).__name__}")
    text = str(slug)
    if not _SLUG.fullmatch(text):
        raise ValidationError(
            f"{what} {text!r} is not a valid slug (lower-case letters, digits, '-' and '_', "
            "at most 50 characters)"
        )
    return text


def check_member_ref(member_id: object) -> str:
    """A member id, or ``"me"``; a user id (or team id) is refused."""
    if isinstance(member_id, UserId):
        raise ValidationError(
            f"{member_id!r} is a user id; member endpoints take the member id "
            "(member.id, not member.user.id)"
        )
    if isinstance(member_id, TeamId):
        raise ValidationError(f"{member_id!r} is a team id, not a member id")
    if member_id == "me":
        return "me"
    # One rule for an int and its text: a whole number from 1 to 2**63 - 1,
    # written in plain decimal digits (no sign, no leading zero, no whitespace).
    if isinstance(member_id, int) and not isinstance(member_id, bool):
        if 1 <= member_id <= MAX_ID:
            return str(member_id)
    elif (
        isinstance(member_id, str) and _MEMBER_ID.fullmatch(member_id) and int(member_id) <= MAX_ID
    ):
        return str(member_id)
    raise ValidationError(
        f"{member_id!r:.60} is not a member id (a whole number from 1 to {MAX_ID}) or 'me'"
    )


def check_team_id(team_id: object) -> str:
    """A SCIM group id (a team id, digits) or a team slug."""
    if isinstance(team_id, MemberId | UserId):
        raise ValidationError(f"{team_id!r} is not a team id")
    return check_slug(team_id, "team id")


def check_page_size(page_size: object, maximum: int = 100) -> int:
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not 1 <= page_size <= maximum
    ):
        raise ValidationError(f"page_size must be an integer from 1 to {maximum}")
    return page_size


def team_roles_body(team_roles: Mapping[str, str | None]) -> list[dict[str, str | None]]:
    if not isinstance(team_roles, Mapping):
        raise ValidationError("team_roles must map team slugs to team roles (or None)")
    return [
        {"teamSlug": check_slug(slug), "role": None if role is None else check_team_role(role)}
        for slug, role in team_roles.items()
    ]


def check_slugs(teams: Iterable[str]) -> list[str]:
    if isinstance(teams, str):
        raise ValidationError("teams must be a list of slugs, not one string")
    slugs = [check_slug(t) for t in teams]
    if len(set(slugs)) != len(slugs):
        raise ValidationError("teams lists a team twice")
    return slugs


def endpoint(response: Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def json_body(response: Response) -> Any:
    try:
        return response.json()
    except RecursionError:
        raise DecodeError(
            f"the answer of {endpoint(response)} is JSON nested too deeply to decode; "
            f"{len(response.body)} bytes received",
            endpoint=endpoint(response),
            path="$",
        ) from None
    except ValueError as exc:
        raise DecodeError(
            f"the answer of {endpoint(response)} is not valid JSON ({exc}); "
            f"{len(response.body)} bytes received",
            endpoint=endpoint(response),
            path="$",
        ) from None


def decode_one(response: Response, cls: type[T]) -> T:
    return decode(json_body(response), cls, endpoint=endpoint(response))


def cursor_page(response: Response, cls: type[T]) -> Page[T]:
    items = decode_list(json_body(response), cls, endpoint=endpoint(response))
    nxt = parse_link_header(response.headers.get("Link")).get("next")
    has_next = nxt is not None and nxt.cursor and nxt.results is not False and bool(items)
    return Page(items, nxt.cursor if has_next and nxt is not None else None)
