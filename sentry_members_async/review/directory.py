"""A people directory (an HR or IdP export) to join with Sentry: CSV or JSON.

Each person has an ``email``, optional ``aliases`` (other addresses of the
same person: ``;``, ``,`` or ``|`` between them in CSV, a list in JSON), an
``employee_id`` and a ``status``: ``active`` or ``terminated`` (also read:
``inactive``, ``leaver``, ``left``, ``suspended``, ``deprovisioned`` as
terminated; ``enabled`` as active). Every bad row is reported at once, with
its line (CSV) or index (JSON), before anything is matched.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import ValidationError

__all__ = ["Directory", "Person", "fold", "load_directory"]

_TERMINATED = {"terminated", "inactive", "leaver", "left", "suspended", "deprovisioned"}
_ACTIVE = {"active", "enabled", "employed", ""}
_COLUMNS = {
    "email": ("email", "e-mail", "mail", "primary_email", "work_email"),
    "aliases": ("aliases", "alias", "other_emails", "emails"),
    "employee_id": ("employee_id", "employee id", "employeeid", "id", "employee_number"),
    "status": ("status", "state", "employment_status"),
    "name": ("name", "display_name", "full_name"),
}


def fold(address: str) -> str:
    """An address as it is compared: trimmed and case-folded (Sentry does not
    normalise addresses, getsentry/sentry#27263, so ``Ann@X`` and ``ann@x`` differ there)."""
    return address.strip().casefold()


@attrs.frozen(kw_only=True)
class Person:
    """One person of the directory."""

    email: str
    aliases: tuple[str, ...] = ()
    employee_id: str = ""
    status: str = "active"
    name: str = ""
    #: Where the person was read (``people.csv:12``), for messages.
    source: str = ""

    @property
    def terminated(self) -> bool:
        return self.status == "terminated"

    @property
    def key(self) -> str:
        """Who the person is in reports: the employee id, else the e-mail."""
        return self.employee_id or self.email

    def addresses(self) -> tuple[str, ...]:
        """The e-mail and the aliases, folded, without repeats."""
        return tuple(dict.fromkeys(fold(a) for a in (self.email, *self.aliases) if a.strip()))


@attrs.frozen
class Directory:
    """The people, and an alias table: a folded address to the folded address it stands for."""

    people: tuple[Person, ...]
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    def __len__(self) -> int:
        return len(self.people)


def _status(raw: object) -> str | None:
    value = str(raw or "").strip().casefold()
    if value in _TERMINATED:
        return "terminated"
    if value in _ACTIVE:
        return "active"
    return None


def _split(raw: object) -> tuple[str, ...]:
    if isinstance(raw, (list, tuple)):
        return tuple(str(a).strip() for a in raw if str(a).strip())
    text = str(raw or "")
    for sep in ";,|":
        text = text.replace(sep, " ")
    return tuple(text.split())


def _field(row: Mapping[str, Any], name: str) -> Any:
    lowered = {str(k).strip().casefold(): v for k, v in row.items()}
    for column in _COLUMNS[name]:
        if column in lowered and lowered[column] not in (None, ""):
            return lowered[column]
    return None


def _person(row: Mapping[str, Any], where: str, errors: list[str]) -> Person | None:
    email = str(_field(row, "email") or "").strip()
    status = _status(_field(row, "status"))
    if "@" not in email:
        errors.append(f"{where}: no e-mail address ({email!r})")
        return None
    if status is None:
        errors.append(f"{where}: status {_field(row, 'status')!r} is not active or terminated")
        return None
    aliases = _split(_field(row, "aliases"))
    bad = [a for a in aliases if "@" not in a]
    if bad:
        errors.append(f"{where}: alias {bad[0]!r} is not an e-mail address")
        return None
    return Person(
        email=email,
        aliases=aliases,
        employee_id=str(_field(row, "employee_id") or "").strip(),
        status=status,
        name=str(_field(row, "name") or "").strip(),
        source=where,
    )


def _rows(text: str, name: str) -> list[tuple[str, Mapping[str, Any]]]:
    stripped = text.lstrip("\ufeff").lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise ValidationError(f"{name}: not valid JSON: {exc}") from None
        items = data.get("people", data) if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValidationError(f"{name}: expected a list of people (objects)")
        return [(f"{name}[{n}]", item) for n, item in enumerate(items)]
    reader = csv.DictReader(io.StringIO(stripped))
    if reader.fieldnames is None or _field(dict.fromkeys(reader.fieldnames, "x"), "email") is None:
        raise ValidationError(f"{name}: a CSV directory needs an email column")
    return [(f"{name}:{reader.line_num}", row) for row in reader]


def load_directory(
    source: str | Path | Iterable[Person | Mapping[str, Any]],
    *,
    aliases: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Directory:
    """Read a directory: a path to a CSV or JSON file, its text, or people as mappings.

    ``aliases``: an alias table (alias address to the person's address), for
    addresses the directory does not list with the person. Raises one
    :class:`ValidationError` listing every bad row.
    """
    rows: Sequence[tuple[str, Mapping[str, Any] | Person]]
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        path = Path(source)
        text = path.read_text(encoding="utf-8-sig")
        rows = _rows(text, name or path.name)
    elif isinstance(source, str):
        rows = _rows(source, name or "directory")
    else:
        rows = [(f"{name or 'people'}[{n}]", item) for n, item in enumerate(source)]
    errors: list[str] = []
    people: list[Person] = []
    for where, row in rows:
        person = row if isinstance(row, Person) else _person(row, where, errors)
        if person is not None:
            people.append(person)
    table = {fold(k): fold(v) for k, v in (aliases or {}).items()}
    if errors:
        shown = "; ".join(errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise ValidationError(f"{len(errors)} bad row(s) in the directory: {shown}{more}")
    return Directory(tuple(people), table)
