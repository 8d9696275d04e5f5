"""Files of rows not done: each command's own columns, the ones its ``--from-csv`` reads.

An invite keeps ``email,role,teams`` (team roles as ``backend:admin;web``), a
team add keeps ``member,team,role``, a removal ``member``, a deprovision
``email``; every file ends with an ``error`` column (the readers ignore it), made safe
for a spreadsheet (:func:`.safe.csv_cell`); the row's fields stay as given,
so that the file reads back as it was.
A file is written whole under a temporary name and renamed: never appended
to, never half written.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..rows import InviteRow, RoleRow, TeamRow
from .safe import csv_cell

__all__ = ["row_fields", "write_failed"]


def _teams(row: InviteRow) -> str:
    roles = dict(row.team_roles)
    slugs = list(dict.fromkeys([*row.teams, *roles]))
    return ";".join(f"{s}:{roles[s]}" if roles.get(s) else s for s in slugs)


def row_fields(row: Any) -> dict[str, str]:
    """The columns of one row, as its command reads them back."""
    if isinstance(row, InviteRow):
        return {"email": row.email, "role": row.role, "teams": _teams(row)}
    if isinstance(row, RoleRow):
        return {"member": str(row.member), "role": row.role}
    if isinstance(row, TeamRow):
        return {"member": str(row.member), "team": row.team, "role": row.role or ""}
    if isinstance(row, dict):  # a CSV line refused before sending: its fields as read
        return {str(k): "" if v is None else str(v) for k, v in row.items()}
    describe = getattr(row, "describe", None)
    if callable(describe):  # a change of a plan (``apply``)
        return {"change": str(describe())}
    return {"email" if "@" in str(row) else "member": str(row)}


def write_failed(path: str, rows: Sequence[tuple[Any, str]]) -> None:
    """Write ``(row, why)`` pairs to ``path`` (replacing any file there)."""
    records = [row_fields(row) for row, _ in rows]
    columns: list[str] = []
    for record in records:
        columns += [c for c in record if c not in columns]
    target = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*columns, "error"])
            for record, (_, why) in zip(records, rows, strict=True):
                # The row's own fields stay raw (the file is read back); the error, the
                # server's words, is made safe for a spreadsheet.
                writer.writerow([record.get(c, "") for c in columns] + [csv_cell(why)])
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise
