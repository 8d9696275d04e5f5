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
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import click
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
from rich.text import Text

from ..bulk import BulkReport, InviteRow, OutcomeKind, RoleRow, TeamRow
from ..client import SentryClient
from ..models import Member, ScimGroup, ScimUser, Team
from .exitcodes import EX_BROKEN_PIPE, EX_FAILED, EX_NOT_FOUND, EX_OK
from .failed import write_failed
from .layout import TerminalTable, tsv_line
from .safe import csv_cell, terminal_text

__all__ = [
    "FORMATS",
    "MEMBER_COLUMNS",
    "MEMBER_TERMINAL_COLUMNS",
    "Reporter",
    "Writer",
    "choose_columns",
    "describe",
    "err",
    "member_row",
    "outcome_table",
    "output",
    "plural",
    "report_code",
    "scim_group_row",
    "scim_user_row",
    "silence_stdout",
    "summary",
    "team_row",
]

FORMATS = ("table", "csv", "json", "jsonl")
#: Progress, outcomes and errors: stderr, so that stdout carries only the data. Markup
#: is off (a message may hold a member's name) and lines are not wrapped (one error a line).
err = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)

MEMBER_COLUMNS = (
    "id", "email", "name", "role", "pending", "expired", "teams", "user_id", "invite_status",
    "date_created", "sso_linked", "idp_provisioned",
)  # fmt: skip
#: What ``members list`` shows on a terminal unless ``--columns`` says otherwise.
MEMBER_TERMINAL_COLUMNS = ("id", "email", "role", "pending", "expired", "teams")


def member_row(m: Member) -> dict[str, Any]:
    """A member as a row: lists stay lists, an absent value is ``None`` (JSON ``null``)."""
    return {
        "id": m.id,
        "email": m.email,
        "name": m.name,
        "role": m.org_role,
        "pending": m.pending,
        "expired": m.expired,
        "teams": list(m.teams),
        "user_id": m.user_id,
        "invite_status": m.invite_status,
        "date_created": m.date_created.isoformat() if m.date_created else None,
        "sso_linked": m.flags.sso_linked,
        "idp_provisioned": m.flags.idp_provisioned,
    }


def team_row(t: Team) -> dict[str, Any]:
    return {"id": t.id, "slug": t.slug, "name": t.name, "members": t.member_count}


def scim_user_row(u: ScimUser) -> dict[str, Any]:
    return {"id": u.id, "user_name": u.user_name, "role": u.sentry_org_role, "active": u.active}


def scim_group_row(g: ScimGroup) -> dict[str, Any]:
    members = len(g.members) if g.members is not None else None
    return {"id": g.id, "display_name": g.display_name, "members": members}


def choose_columns(available: Sequence[str], chosen: str | None) -> list[str]:
    """The columns ``--columns a,b`` names (in its order), or all of ``available``."""
    if not chosen:
        return list(available)
    names = [name.strip().lower() for name in chosen.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown column {', '.join(repr(n) for n in unknown) or '(none given)'}; "
            f"the columns are {', '.join(available)}",
            param_hint="--columns",
        )
    return names


def silence_stdout() -> int:
    """The reader went away (``| head -1``): stop quietly, as Unix tools do.

    Later writes to stdout (the interpreter's flush at exit included) go to
    /dev/null; returns the exit code, the shell's for a process ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EX_BROKEN_PIPE


def _width(out: IO[str]) -> int:
    return shutil.get_terminal_size((100, 24)).columns if out.isatty() else 100


class Writer:
    """Streams rows as a table, CSV, a JSON array or JSON lines.

    Nothing is written before the first row (or :meth:`close`), so an error
    before any data leaves the output empty: no lone ``[``, no CSV header.
    ``table`` is laid out for a terminal (``terminal_columns``, sized to its
    width) or, anywhere else, tab-separated full values (:mod:`.layout`).
    CSV cells are made safe for spreadsheets unless ``raw_csv``
    (:func:`.safe.csv_cell`).
    """

    def __init__(
        self,
        fmt: str,
        out: IO[str],
        columns: Iterable[str],
        title: str = "",
        *,
        terminal_columns: Iterable[str] | None = None,
        raw_csv: bool = False,
    ) -> None:
        self.fmt = fmt
        self.out = out
        self.columns = list(columns)
        self.title = title
        self.raw_csv = raw_csv
        self.count = 0
        self._started = False
        self._csv: Any = None
        self._table: TerminalTable | None = None
        if fmt == "table" and out.isatty():
            shown = list(terminal_columns) if terminal_columns is not None else self.columns
            self._table = TerminalTable(out, shown, _width(out))

    def _start(self) -> None:
        self._started = True
        if self.fmt == "csv":
            self._csv = csv.writer(self.out)
            self._csv.writerow(self.columns)
        elif self.fmt == "json":
            self.out.write("[")

    def write(self, row: dict[str, Any]) -> None:
        if not self._started:
            self._start()
        if self._csv is not None:
            self._csv.writerow([csv_cell(row.get(c), raw=self.raw_csv) for c in self.columns])
        elif self.fmt == "jsonl":
            self.out.write(json.dumps(self._pick(row), default=str) + "\n")
        elif self.fmt == "json":
            text = json.dumps(self._pick(row), default=str)
            self.out.write(("," if self.count else "") + "\n  " + text)
        elif self._table is not None:
            self._table.add(row)
        else:
            self.out.write(tsv_line(row, self.columns))
        self.count += 1

    def _pick(self, row: dict[str, Any]) -> dict[str, Any]:
        return {c: row.get(c) for c in self.columns}

    def close(self) -> None:
        if not self._started:
            self._start()
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        elif self._table is not None:
            self._table.close()
            if self._table.hidden:
                err.print(
                    f"({plural(len(self._table.hidden), 'column')} left out to fit the terminal: "
                    f"{', '.join(self._table.hidden)}; choose with --columns, or pipe the "
                    "output for every column)"
                )
        self.out.flush()


@contextlib.contextmanager
def output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or ``path`` written whole or not at all.

    The file is written under a temporary name beside it and renamed to
    ``path`` only when the block ends without an error; on an error it is removed
    (an older file of that name stays as it was).
    """
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            yield handle
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


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
        self._finished = False
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
        err.print(f"{self.label}: {self.done}{of} done, {how}, 429 answers: {self.limited}")

    def finish(self, done: int, how: str = "") -> None:
        """The last line: ``done`` items (what the report holds), and how the work ended."""
        self.done = done
        if self._progress is not None:
            self._progress.update(self._task, completed=done)
        elif not self.quiet:
            self._line(how or f"in {time.monotonic() - self.started:.1f} s")
        self._finished = True

    def __exit__(self, kind: object, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
        elif not self.quiet and kind is None and not self._finished:
            self._line(f"in {time.monotonic() - self.started:.1f} s")


def plural(count: int, word: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def outcome_table(title: str, report: BulkReport[Any]) -> Table:
    """How many items ended each way (sent, not found, failed, ...)."""
    table = Table(title=Text(title), min_width=len(title) + 4)  # the title on one line
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.counts().items(), key=lambda kv: kv[0].value):
        table.add_row(kind.value, str(count))
    return table


def describe(row: Any) -> str:
    """One input row in a message (a member's key, an e-mail, a change), made safe to print."""
    if isinstance(row, InviteRow):
        return terminal_text(row.email)
    if isinstance(row, RoleRow):
        return terminal_text(f"{row.member}: role {row.role}")
    if isinstance(row, TeamRow):
        return terminal_text(f"{row.member} in {row.team}")
    text = getattr(row, "describe", None)
    return terminal_text(text() if callable(text) else row)


def report_code(report: BulkReport[Any]) -> int:
    """1 when an item failed, else 3 when one was not found, else 0 (see :mod:`.exitcodes`)."""
    counts = report.counts()
    if (
        counts.get(OutcomeKind.FAILED)
        or counts.get(OutcomeKind.REFUSED)
        or counts.get(OutcomeKind.SKIPPED)
    ):
        return EX_FAILED
    if counts.get(OutcomeKind.NOT_FOUND):
        return EX_NOT_FOUND
    return EX_OK


def summary(
    report: BulkReport[Any],
    *,
    failed_csv: str | None,
    label: str,
    rerun: str | None = None,
    not_done: Sequence[tuple[Any, str]] = (),
) -> int:
    """Print the outcome table; write the rows not done to ``failed_csv``; the exit code.

    The file holds the failed rows and ``not_done`` (rows never sent, rows
    refused before sending, with why), in the columns the command reads back,
    written whole (never appended to); ``rerun`` is the command that takes it
    (``{path}`` is the file). ``failed_csv`` ``None``: ``failed-<label>.csv``.
    """
    table = outcome_table(f"{label}: {plural(len(report), 'item')}", report)
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    failures = report.failures()
    for outcome in failures[:20]:
        err.print(f"failed: {describe(outcome.row)}: {terminal_text(outcome.error)}")
    if len(failures) > 20:
        err.print(f"... and {len(failures) - 20:,} more")
    code = report_code(report)
    rows = [(o.row, str(o.error or "")) for o in failures if o.row is not None]
    rows += list(not_done)
    if rows:
        path = failed_csv or f"failed-{label.replace(' ', '-')}.csv"
        write_failed(path, rows)
        hint = (
            f"run them again with: {rerun.format(path=path)}"
            if rerun
            else ("run the same command again for them")
        )
        err.print(f"{plural(len(rows), 'row')} not done written to {path} ({hint})")
    return code
