"""Input rows and the one CSV reader: every bad row reported with its line, before any request.

Bulk invites (:func:`load_invite_rows`), the roster for ``acme.plan()``
(:func:`load_roster`) and the command line read files the same way: a path, a
text file or an iterable of dicts; one ``teams`` column parser
(``backend:admin;web`` or ``backend, web``); every row checked, and every
problem of every row collected (the first bad row does not hide the others).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

from .api._common import check_email, check_slug
from .errors import ValidationError
from .models import ORG_ROLE_NAMES, TEAM_ROLE_NAMES, MemberId

__all__ = [
    "DesiredMember",
    "InviteRow",
    "MemberKey",
    "RoleRow",
    "RosterError",
    "RowBatch",
    "RowError",
    "Source",
    "TeamRow",
    "as_invite_row",
    "invite_row_problems",
    "load_invite_rows",
    "load_roster",
    "read_records",
    "team_column",
]

RowT = TypeVar("RowT")
#: A member given by member id or by e-mail.
MemberKey: TypeAlias = "MemberId | str"
#: Where rows come from: a CSV path, an open text file, or dicts.
Source: TypeAlias = "str | os.PathLike[str] | io.TextIOBase | Iterable[Mapping[str, Any]]"
#: ``(field, message)``: one problem of one row.
Problem: TypeAlias = tuple[str, str]


# -- the teams column -------------------------------------------------------------


def _team_pairs(value: Any, *, roles: bool = True) -> list[tuple[str, str | None]]:
    """``(slug, team role or None)`` per team given, in order; a team given twice stays twice."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return list(value.items())
    if not isinstance(value, str):
        return [(slug, None) for slug in value]
    pairs: list[tuple[str, str | None]] = []
    for part in value.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        slug, _, role = part.partition(":") if roles else (part, "", "")
        pairs.append((slug.strip(), role.strip() or None))
    return pairs


def team_column(value: Any, *, roles: bool = True) -> dict[str, str | None]:
    """The one parser of a ``teams`` value: slugs, each with a team role or ``None``.

    ``"backend:admin;web"`` or ``"backend:admin, web"`` gives ``{"backend":
    "admin", "web": None}``; a mapping is copied; any other iterable gives its
    slugs. With ``roles=False`` a ``:`` is not read as a role (the part stays
    one slug, which the slug check then refuses). The readers refuse a team
    listed twice (:func:`_duplicate_team_problems`); here the last one wins.
    """
    return dict(_team_pairs(value, roles=roles))


def _teams(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(slug for slug, _ in _team_pairs(value, roles=False))
    return tuple(value) if value else ()


def _team_roles(value: Any) -> Mapping[str, str | None]:
    return dict(value) if value else {}


def _team_map(value: Any) -> Mapping[str, str | None] | None:
    return None if value is None else team_column(value)


# -- row values -----------------------------------------------------------------------


@attrs.frozen
class InviteRow:
    """One person to invite: ``teams`` to join, ``team_roles`` (slug to team role)."""

    email: str
    role: str = "member"
    teams: tuple[str, ...] = attrs.field(default=(), converter=_teams)
    team_roles: Mapping[str, str | None] = attrs.field(factory=dict, converter=_team_roles)


@attrs.frozen
class RoleRow:
    """A member (member id or e-mail) and the organization role to give them."""

    member: MemberKey
    role: str


@attrs.frozen
class TeamRow:
    """A member (member id or e-mail), a team, and optionally the team role to set."""

    member: MemberKey
    team: str
    role: str | None = None


@attrs.frozen
class DesiredMember:
    """Who should be in the org: e-mail, org role, and teams.

    ``teams`` maps slugs to a team role (or ``None``: any role). Left as
    ``None``, the member's teams are not managed; ``{}`` means no team.
    """

    email: str
    role: str = "member"
    teams: Mapping[str, str | None] | None = attrs.field(default=None, converter=_team_map)


@attrs.frozen
class RowError:
    """Why one input row was refused before anything was sent."""

    line: int
    field: str
    message: str
    row: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        return f"row {self.line}: {self.field}: {self.message}"


@attrs.frozen
class RowBatch(Generic[RowT]):
    """Rows that passed validation and the errors of those that did not."""

    rows: list[RowT]
    errors: list[RowError]


class RosterError(ValidationError):
    """A roster with bad rows: ``errors`` has every one, with its line."""

    def __init__(self, errors: list[RowError]) -> None:
        lines = "\n".join(f"roster {error}" for error in errors)
        head = f"{len(errors)} problems in the roster:\n" if len(errors) > 1 else ""
        super().__init__(head + lines)
        self.errors = errors


# -- checks -------------------------------------------------------------------------


def _email_problems(email: str) -> list[Problem]:
    try:
        check_email(email)
    except ValidationError as exc:
        return [("email", str(exc))]
    return []


def _team_problems(
    teams: Mapping[str, str | None], known_teams: set[str] | None, roles_field: str
) -> list[Problem]:
    problems: list[Problem] = []
    for slug in teams:
        try:
            check_slug(slug)
        except ValidationError as exc:
            problems.append(("teams", str(exc)))
            continue
        if known_teams is not None and slug not in known_teams:
            problems.append(("teams", f"unknown team {slug!r}"))
    for slug, role in teams.items():
        if role is not None and role not in TEAM_ROLE_NAMES:
            problems.append((roles_field, f"unknown team role {role!r} for {slug!r}"))
    return problems


def _duplicate_team_problems(slugs: Iterable[str]) -> list[Problem]:
    """The one rule for a team listed twice (in ``teams``, with or without a role): refused."""
    listed = list(slugs)
    return [("teams", "teams lists a team twice")] if len(set(listed)) != len(listed) else []


def _role_problems(role: str) -> list[Problem]:
    if role in ORG_ROLE_NAMES:
        return []
    return [("role", f"unknown role {role!r}; one of {', '.join(ORG_ROLE_NAMES)}")]


def invite_row_problems(row: InviteRow, known_teams: set[str] | None) -> list[Problem]:
    """Every problem of one invite row (empty when it can be sent)."""
    teams = {**dict.fromkeys(row.teams), **row.team_roles}
    return [
        *_email_problems(row.email),
        *_role_problems(row.role),
        *_team_problems(teams, known_teams, "team_roles"),
        *_duplicate_team_problems(row.teams),
    ]


def _member_problems(member: DesiredMember, data: Mapping[str, Any]) -> list[Problem]:
    """Every problem of one roster row (``data``: its fields, as read)."""
    return [
        *_email_problems(member.email),
        *_role_problems(member.role),
        *_team_problems(member.teams or {}, None, "teams"),
        *_duplicate_team_problems(slug for slug, _ in _team_pairs(data.get("teams"))),
    ]


# -- the reader ---------------------------------------------------------------------


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[io.TextIOBase | Iterable[Mapping[str, Any]]]:
    if isinstance(source, str | os.PathLike):
        with open(source, newline="", encoding="utf-8-sig") as handle:
            yield handle
    else:
        yield source


def read_records(
    source: io.TextIOBase | Iterable[Mapping[str, Any]],
    *,
    name: str | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, record)`` per row, keys stripped and lower-cased: CSV lines from 2
    (after the header), dicts from 1.

    A CSV needs a header row with an ``email`` column, in any case (``Email``,
    as spreadsheets export it, is ``email``). A line the csv module cannot read
    (a field over :func:`csv.field_size_limit`, a NUL byte) is a
    :class:`ValidationError` naming ``name`` (the file) and the line.
    """
    where = f"{name}: " if name else ""
    if not isinstance(source, io.TextIOBase):
        for offset, record in enumerate(source):
            yield 1 + offset, _record(record)
        return
    reader = csv.DictReader(source)
    try:
        fields = reader.fieldnames
    except csv.Error as exc:
        raise _csv_problem(where, 1, exc) from None
    if fields is None or "email" not in [f.strip().lower() for f in fields]:
        raise ValidationError(
            f"{where}the first row must be a header with an 'email' column "
            f"(columns found: {', '.join(f.strip() for f in fields or []) or 'none'})"
        )
    line = 2
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_problem(where, line, exc) from None
        yield line, _record(record)
        line += 1


def _csv_problem(where: str, line: int, exc: csv.Error) -> ValidationError:
    """One line for a CSV the csv module refused (the module's words, made plain)."""
    text = str(exc)
    if "field larger than field limit" in text:
        text = f"a field is longer than {csv.field_size_limit():,} characters"
    return ValidationError(f"{where}line {line}: not a CSV row this tool can read ({text})")


def _record(record: Mapping[Any, Any]) -> dict[str, Any]:
    """A row's fields with their names stripped and lower-cased (a header may pad or
    capitalise them: ``Email``, `` Role``)."""
    return {str(k).strip().lower(): v for k, v in record.items() if k is not None}


def _email(data: Mapping[str, Any]) -> str:
    return str(data.get("email") or "").strip()


def _role(data: Mapping[str, Any]) -> str:
    return str(data.get("role") or "member").strip().lower()


def _collect(
    source: Source,
    build: Callable[[dict[str, Any]], RowT],
    problems: Callable[[RowT, dict[str, Any]], list[Problem]],
    email: Callable[[RowT], str],
    name: str | None = None,
) -> RowBatch[RowT]:
    """Build and check every row; keep the good ones and every problem of the others.

    An e-mail listed twice is a problem of its second row.
    """
    rows: list[RowT] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    if name is None and isinstance(source, str | os.PathLike):
        name = os.fspath(source)
    with _opened(source) as records:
        for line, data in read_records(records, name=name):
            row = build(data)
            found = problems(row, data)
            key = email(row).lower()
            if not found and key in seen:
                found.append(("email", f"{email(row)} is listed twice (first on row {seen[key]})"))
            if found:
                errors += [RowError(line, field, message, data) for field, message in found]
                continue
            seen[key] = line
            rows.append(row)
    return RowBatch(rows, errors)


def _invite_row(data: Mapping[str, Any]) -> InviteRow:
    """The one builder of an invite row from its fields (a CSV line, a dict)."""
    pairs = _team_pairs(data.get("teams"))
    roles = {slug: role for slug, role in pairs if role is not None}
    return InviteRow(
        _email(data),
        _role(data),
        tuple(slug for slug, _ in pairs),  # a team given twice stays twice: refused
        {**roles, **_team_roles(data.get("team_roles"))},
    )


def load_invite_rows(
    source: Source, *, known_teams: Iterable[str] | None = None, name: str | None = None
) -> RowBatch[InviteRow]:
    """Read invite rows from a CSV file (or file object) or from dicts, checking each.

    CSV columns: ``email``, ``role`` (default ``member``), ``teams``
    (comma- or semicolon-separated slugs, each optionally ``slug:team-role``).
    Invalid e-mails, unknown roles, unknown teams (when ``known_teams`` is
    given) and an e-mail given twice become :class:`RowError` entries, every
    one of every row; nothing is sent. Header names are read in any case.
    ``name`` (the file's, for an open file) is named in a CSV that cannot be read.
    """
    teams = set(known_teams) if known_teams is not None else None
    return _collect(
        source,
        _invite_row,
        lambda row, _: invite_row_problems(row, teams),
        lambda row: row.email,
        name,
    )


def load_roster(source: Source) -> list[DesiredMember]:
    """A roster from a CSV (``email,role,teams``; ``teams`` like ``backend:admin;web``) or dicts.

    Every bad row is reported: a :class:`RosterError` (a
    :class:`ValidationError`) lists each problem with its line.
    """
    batch = _collect(
        source,
        lambda data: DesiredMember(_email(data), _role(data), data.get("teams")),
        _member_problems,
        lambda member: member.email,
    )
    if batch.errors:
        raise RosterError(batch.errors)
    return batch.rows


def as_invite_row(row: InviteRow | Mapping[str, Any] | str) -> InviteRow:
    """An invite row from an :class:`InviteRow`, a mapping of its fields, or an e-mail address.

    A mapping is read as :func:`load_invite_rows` reads a row (the same
    builder): ``teams`` may give team roles (``"backend:admin;web"``).
    """
    if isinstance(row, InviteRow):
        return row
    if isinstance(row, str):
        return InviteRow(row)  # an e-mail address: invited as a member
    if not isinstance(row, Mapping):
        raise ValidationError(
            f"an invite row is an InviteRow, a mapping with 'email' (and optionally 'role', "
            f"'teams', 'team_roles') or an e-mail address, not {type(row).__name__}"
        )
    return _invite_row(_record(row))  # read as load_invite_rows reads it
