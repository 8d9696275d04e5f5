"""What the command line prints: rows, tables, CSV, JSON (lines), progress, outcomes.

Data goes to stdout (or ``--output``), in the format asked for; progress,
outcome lines and errors go to stderr (:data:`err`), so a pipe gets only
the data. A reader that goes away (``| head -1``) ends the command quietly
(:func:`silence_stdout`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..bulk import BulkReport, InviteRow, RoleRow, TeamRow
from ..client import SentryClient
from ..models import Member, ScimGroup, ScimUser, Team

__all__ = [
    "FORMATS",
    "MEMBER_COLUMNS",
    "Reporter",
    "Writer",
    "append_invalid",
    "err",
    "member_row",
    "outcome_table",
    "output",
    "scim_group_row",
    "scim_user_row",
    "silence_stdout",
    "summary",
    "team_row",
    "write_rows",
]

FORMATS = ("table", "csv", "json", "jsonl")
#: Progress, outcomes and errors: stderr, so that stdout carries only the data.
err = Console(stderr=True, highlight=False)

MEMBER_COLUMNS = (
    "id", "email", "name", "role", "pending", "expired", "user_id", "invite_status",
    "date_created", "sso_linked", "idp_provisioned",
)  # fmt: skip


def member_row(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "email": m.email,
        "name": m.name,
        "role": m.org_role,
        "pending": m.pending,
        "expired": m.expired,
        "user_id": m.user_id or "",
        "invite_status": m.invite_status,
        "date_created": m.date_created.isoformat() if m.date_created else "",
        "sso_linked": m.flags.sso_linked,
        "idp_provisioned": m.flags.idp_provisioned,
    }


def team_row(t: Team) -> dict[str, Any]:
    return {"id": t.id, "slug": t.slug, "name": t.name, "members": t.member_count}


def scim_user_row(u: ScimUser) -> dict[str, Any]:
    return {"id": u.id, "user_name": u.user_name, "role": u.sentry_org_role, "active": u.active}


def scim_group_row(g: ScimGroup) -> dict[str, Any]:
    members = len(g.members) if g.members is not None else ""
    return {"id": g.id, "display_name": g.display_name, "members": members}


def silence_stdout() -> int:
    """The reader went away (``| head -1``): stop quietly, as Unix tools do.

    Later writes to stdout (the interpreter's flush at exit included) go to
    /dev/null; returns the exit code, the shell's for a process ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13


class Writer:
    """Streams rows as a table (in chunks), CSV, a JSON array or JSON lines."""

    def __init__(self, fmt: str, out: IO[str], columns: Iterable[str], title: str = "") -> None:
        self.fmt = fmt
        self.out = out
        self.columns = list(columns)
        self.title = title
        self.count = 0
        self._chunk: list[dict[str, Any]] = []
        self._csv = csv.DictWriter(out, self.columns) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writeheader()
        if fmt == "json":
            out.write("[")

    def write(self, row: dict[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerow(row)
        elif self.fmt == "jsonl":
            self.out.write(json.dumps(row, default=str) + "\n")
        elif self.fmt == "json":
            self.out.write(("," if self.count else "") + "\n  " + json.dumps(row, default=str))
        else:
            self._chunk.append(row)
            if len(self._chunk) >= 500:
                self._flush_table()
        self.count += 1

    def _flush_table(self) -> None:
        if not self._chunk:
            return
        table = Table(title=self.title or None, show_lines=False)
        for column in self.columns:
            table.add_column(column)
        for row in self._chunk:
            table.add_row(*(str(row.get(c, "")) for c in self.columns))
        Console(file=self.out, width=200 if not self.out.isatty() else None).print(table)
        self._chunk = []
        self.title = ""

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        elif self.fmt == "table":
            self._flush_table()
        self.out.flush()


@contextlib.contextmanager
def output(path: str | None) -> Iterator[IO[str]]:
    if path is None or path == "-":
        yield sys.stdout
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:
        yield handle


class Reporter:
    """A progress bar on a terminal; plain lines otherwise; nothing when ``quiet``.

    Without a terminal: a line every ``every`` seconds while the work lasts
    (done/total when the total is known) and one line when it ends.
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        client: SentryClient,
        *,
        quiet: bool = False,
        every: float = 10.0,
    ) -> None:
        self.label = label
        self.total = total
        self.client = client
        self.quiet = quiet
        self.tty = err.is_terminal and not quiet
        self.every = every
        self._progress: Progress | None = None
        self._task: Any = None
        self.started = time.monotonic()
        self._last = self.started
        self.done = 0
        self._limited_before = client.stats.rate_limited

    @property
    def limited(self) -> int:
        """Answers 429 since this work began (a daily quota's included: not waited out)."""
        return self.client.stats.rate_limited - self._limited_before

    def __enter__(self) -> Reporter:
        if self.tty:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("429 answers: {task.fields[limited]}"),
                console=err,
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total, rate="0", limited=0)
        return self

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if self.quiet:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        limited = self.limited
        if self._progress is not None:
            self._progress.update(
                self._task,
                completed=done,
                total=total or self.total,
                rate=f"{done / elapsed:.0f}",
                limited=limited,
            )
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line(f"{done / elapsed:.0f}/s")

    def _line(self, how: str) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        err.print(
            f"{self.label}: {self.done}{of} done, {how}, 429 answers: {self.limited}",
            markup=False,
        )

    def __exit__(self, kind: object, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
        elif not self.quiet and kind is None:
            self._line(f"in {time.monotonic() - self.started:.1f} s")


def outcome_table(title: str, report: BulkReport[Any]) -> Table:
    """How many items ended each way (sent, not found, failed, ...)."""
    table = Table(title=title)
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.counts().items(), key=lambda kv: kv[0].value):
        table.add_row(kind.value, str(count))
    return table


def summary(report: BulkReport[Any], *, failed_csv: str | None, label: str) -> int:
    """Print the outcome table; write failed rows to a CSV; return the exit code."""
    table = outcome_table(f"{label}: {len(report)} items", report)
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    failures = report.failures()
    if not failures:
        return 0
    for outcome in failures[:20]:
        err.print(f"failed: {_describe(outcome.row)}: {outcome.error}", markup=False)
    if len(failures) > 20:
        err.print(f"... and {len(failures) - 20} more", markup=False)
    if failed_csv:
        write_rows(failed_csv, [(o.row, o.error) for o in failures])
        err.print(f"failed rows written to {failed_csv} (feed it back with --from-csv)")
    return 1


def _describe(row: Any) -> str:
    if isinstance(row, InviteRow):
        return row.email
    if isinstance(row, RoleRow | TeamRow):
        return str(row.member)
    return str(row)


def write_rows(path: str, rows: list[tuple[Any, BaseException | None]]) -> None:
    """Rows with their error, as a CSV that ``--from-csv`` reads back."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "role", "teams", "error"])
        for row, error in rows:
            if isinstance(row, InviteRow):
                writer.writerow([row.email, row.role, ";".join(row.teams), str(error or "")])
            else:
                writer.writerow([_describe(row), "", "", str(error or "")])


def append_invalid(path: str, errors: Iterable[Any], *, fresh: bool) -> None:
    """Add the rows refused before sending to the failed-rows CSV (a new file when ``fresh``)."""
    exists = Path(path).exists() and not fresh
    with open(path, "a" if exists else "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if not exists:
            writer.writerow(["email", "role", "teams", "error"])
        for error in errors:
            row = error.row or {}
            teams = row.get("teams") or ""
            if not isinstance(teams, str):
                teams = ";".join(teams)
            writer.writerow([row.get("email", ""), row.get("role", ""), teams, str(error)])
