"""The ``sentry-members`` command line (extra ``cli``: click and rich).

A thin layer over the public SDK. Settings follow sentry-cli:
``SENTRY_AUTH_TOKEN``, ``SENTRY_ORG``, ``SENTRY_URL``, plus
``SENTRY_SCIM_TOKEN``; each is also a flag.

Exit codes: 0 all done, 1 some items failed (or the API refused the one
item), 2 usage or configuration error. Errors print one line, never the
token, and a traceback only with ``--debug``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import sys
import time
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs
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

from . import __version__
from .bulk import (
    BulkAborted,
    BulkReport,
    InviteRow,
    OutcomeKind,
    RoleRow,
    TeamRow,
    load_invite_rows,
)
from .client import SentryClient
from .errors import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    SentryError,
    ValidationError,
    mask_secrets,
)
from .models import Member, MemberId, ScimGroup, ScimUser, Team
from .org import Org
from .reconcile import load_roster
from .transports.base import TransportError

__all__ = ["cli", "run"]

T = TypeVar("T")
FORMATS = ("table", "csv", "json", "jsonl")
err = Console(stderr=True, highlight=False)


class Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@attrs.define
class Settings:
    token: str | None
    org: str | None
    url: str | None
    scim_token: str | None
    debug: bool
    quiet: bool = False
    allow_insecure_http: bool = False

    def client(self) -> SentryClient:
        return SentryClient(
            self.token,
            base_url=self.url,
            scim_token=self.scim_token,
            allow_insecure_http=self.allow_insecure_http,
        )

    def org_slug(self) -> str:
        if not self.org:
            raise ConfigurationError("no organization: pass --org or set SENTRY_ORG")
        return self.org


# -- error handling ------------------------------------------------------------


#: The SDK's messages name Python arguments; the command line has flags and variables.
_CLI_WORDS = (
    ("pass token=... or set SENTRY_AUTH_TOKEN", "pass --token or set SENTRY_AUTH_TOKEN"),
    ("; pass token=...", "; give the token with SENTRY_AUTH_TOKEN or --token"),
    ("pass allow_insecure_http=True", "pass --allow-insecure-http"),
    ("base_url", "the URL (SENTRY_URL or --url)"),
    ("the auth token", "the auth token (SENTRY_AUTH_TOKEN or --token)"),
    ("the SCIM token", "the SCIM token (SENTRY_SCIM_TOKEN or --scim-token)"),
)


def _cli_words(text: str) -> str:
    for python, cli_words in _CLI_WORDS:
        text = text.replace(python, cli_words)
    return text


def _advice(exc: BaseException, settings: Settings | None = None) -> str:
    if isinstance(exc, AuthenticationError):
        if "/scim/" in exc.path:
            if settings is not None and not settings.scim_token:
                return (
                    "check SENTRY_SCIM_TOKEN (or --scim-token): none is set, so the auth "
                    "token was sent and Sentry did not accept it for SCIM"
                )
            return "check SENTRY_SCIM_TOKEN (or --scim-token): Sentry did not accept it"
        return "check SENTRY_AUTH_TOKEN (or --token): Sentry did not accept it"
    if isinstance(exc, PermissionDeniedError):
        if exc.required_scopes:
            return f"the token needs one of the scopes {', '.join(exc.required_scopes)}"
        return "the token or your role does not allow this"
    if isinstance(exc, TransportError):
        return "check SENTRY_URL (or --url) and your network"
    return ""


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, ConfigurationError | ValidationError | AuthenticationError):
        return 2
    if isinstance(exc, PermissionDeniedError) and exc.required_scopes:
        return 2
    return 1


def fail(exc: BaseException, settings: Settings | None) -> Exit:
    """Print one line for ``exc`` (never the token) and give the exit code."""
    advice = _advice(exc, settings)
    message = _cli_words(str(exc)) if isinstance(exc, ConfigurationError) else str(exc)
    text = f"error: {message}" + (f" ({advice})" if advice else "")
    # The tokens given on the command line or in the environment: a server or a
    # proxy may echo them in its answer, which the message and traceback show.
    given = (settings.token, settings.scim_token) if settings else ()
    secrets = tuple(
        s
        for s in (*given, os.environ.get("SENTRY_AUTH_TOKEN"), os.environ.get("SENTRY_SCIM_TOKEN"))
        if s
    )
    err.print(mask_secrets(text, secrets), markup=False, soft_wrap=True)
    if settings is not None and settings.debug:
        trace = "".join(traceback.format_exception(exc))
        err.print(mask_secrets(trace, secrets), markup=False)
    return Exit(_exit_code(exc))


def run(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="sentry-members", standalone_mode=False)
        sys.stdout.flush()
    except BrokenPipeError:
        return _broken_pipe().code
    except Exit as stop:
        return stop.code
    except click.exceptions.Abort:
        err.print("aborted")
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    return 0


def go(ctx: click.Context, work: Callable[[Settings], Coroutine[Any, Any, int]]) -> None:
    settings: Settings = ctx.obj
    try:
        code = asyncio.run(work(settings))
    except BrokenPipeError:
        raise _broken_pipe() from None
    except BulkAborted as exc:
        raise fail(exc.error, settings) from None
    except (SentryError, OSError) as exc:
        raise fail(exc, settings) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise Exit(130) from None
    if code:
        raise Exit(code)


def _broken_pipe() -> Exit:
    """The reader went away (``| head -1``): stop quietly, as Unix tools do.

    Later writes to stdout (the interpreter's flush at exit included) go to
    /dev/null; the exit code is the shell's for a process ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return Exit(128 + 13)


def read_csv(path: str) -> io.StringIO:
    """The text of a CSV file with an ``email`` column, or one line saying what is wrong.

    UTF-8, with or without a byte-order mark. Anything else (a spreadsheet's
    Latin-1 export, say) is refused naming the file and the line.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"{path}: line {line} is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save the file as 'CSV UTF-8' or convert it, e.g. "
            f"iconv -f latin1 -t utf-8 {path} > fixed.csv"
        ) from None
    header = next(csv.reader(io.StringIO(text)), [])
    if "email" not in [name.strip().lower() for name in header]:
        raise ValidationError(
            f"{path}: the first row must be a header with an 'email' column "
            "(columns: email, role, teams)"
        )
    return io.StringIO(text, newline=None)


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[SentryClient, Org]]:
    async with settings.client() as client:
        yield client, client.org(settings.org_slug())


# -- output --------------------------------------------------------------------

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

    def __enter__(self) -> Reporter:
        if self.tty:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("429s: {task.fields[limited]}"),
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
        limited = self.client.stats.rate_limited
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
        limited = self.client.stats.rate_limited
        err.print(
            f"{self.label}: {self.done}{of} done, {how}, 429s waited out: {limited}",
            markup=False,
        )

    def __exit__(self, kind: object, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
        elif not self.quiet and kind is None:
            self._line(f"in {time.monotonic() - self.started:.1f} s")


def summary(report: BulkReport[Any], *, failed_csv: str | None, label: str) -> int:
    """Print the outcome table; write failed rows to a CSV; return the exit code."""
    table = Table(title=f"{label}: {len(report)} items")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.counts().items(), key=lambda kv: kv[0].value):
        table.add_row(kind.value, str(count))
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    failures = report.failures()
    if not failures:
        return 0
    for outcome in failures[:20]:
        err.print(f"failed: {_describe(outcome.row)}: {outcome.error}", markup=False)
    if len(failures) > 20:
        err.print(f"... and {len(failures) - 20} more", markup=False)
    if failed_csv:
        _write_rows(failed_csv, [(o.row, o.error) for o in failures])
        err.print(f"failed rows written to {failed_csv} (feed it back with --from-csv)")
    return 1


def _describe(row: Any) -> str:
    if isinstance(row, InviteRow):
        return row.email
    if isinstance(row, RoleRow | TeamRow):
        return str(row.member)
    return str(row)


def _write_rows(path: str, rows: list[tuple[Any, BaseException | None]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "role", "teams", "error"])
        for row, error in rows:
            if isinstance(row, InviteRow):
                writer.writerow([row.email, row.role, ";".join(row.teams), str(error or "")])
            else:
                writer.writerow([_describe(row), "", "", str(error or "")])


# -- the commands ----------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentry-members")
@click.option("--token", envvar="SENTRY_AUTH_TOKEN", help="Auth token (prefer SENTRY_AUTH_TOKEN).")
@click.option("--org", envvar="SENTRY_ORG", help="Organization slug [SENTRY_ORG].")
@click.option("--url", envvar="SENTRY_URL", help="Sentry URL [SENTRY_URL], default sentry.io.")
@click.option("--scim-token", envvar="SENTRY_SCIM_TOKEN", help="SCIM token [SENTRY_SCIM_TOKEN].")
@click.option(
    "--allow-insecure-http", is_flag=True, help="Allow plain http:// to a non-loopback --url."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(
    ctx: click.Context,
    token: str | None,
    org: str | None,
    url: str | None,
    scim_token: str | None,
    allow_insecure_http: bool,
    quiet: bool,
    debug: bool,
) -> None:
    """Manage the members, teams and SCIM users of a Sentry organization."""
    ctx.obj = Settings(
        token, org, url, scim_token, debug, quiet=quiet, allow_insecure_http=allow_insecure_http
    )


format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)
output_option = click.option("--output", "-o", "out", help="Write to FILE instead of stdout.")
#: sysexits' "temporary failure, try again later": rows deferred by a daily quota.
EX_TEMPFAIL = 75

failed_option = click.option(
    "--failed-csv",
    default="failed-rows.csv",
    show_default=True,
    help="Where to write the rows that failed.",
)


@cli.group()
def members() -> None:
    """Organization members and invites."""


async def _stream(
    settings: Settings,
    fmt: str,
    out: str | None,
    columns: Iterable[str],
    make: Callable[[Org], Any],
    to_row: Callable[[Any], dict[str, Any]],
    label: str,
) -> int:
    async with opened(settings) as (client, org):
        with output(out) as handle:
            writer = Writer(fmt, handle, columns, title=label)
            with Reporter(label, None, client, quiet=settings.quiet) as reporter:
                async with make(org) as items:
                    async for item in items:
                        writer.write(to_row(item))
                        if writer.count % 100 == 0:
                            reporter.update(writer.count)
                reporter.update(writer.count)
            writer.close()
    return 0


@members.command("list")
@click.option("--role", multiple=True, help="Only these org roles (repeatable).")
@click.option("--email", multiple=True, help="Only these e-mails (repeatable).")
@click.option("--invited/--not-invited", default=None, help="Only pending invites, or none.")
@click.option("--2fa/--no-2fa", "has_2fa", default=None, help="With or without 2FA.")
@click.option("--sso-linked/--sso-not-linked", default=None)
@click.option("--query", help="A raw Sentry members query.")
@format_option
@output_option
@click.pass_context
def members_list(
    ctx: click.Context,
    role: tuple[str, ...],
    email: tuple[str, ...],
    invited: bool | None,
    has_2fa: bool | None,
    sso_linked: bool | None,
    query: str | None,
    fmt: str,
    out: str | None,
) -> None:
    """List members (streams: any size, bounded memory)."""

    def make(org: Org) -> Any:
        return org.members.list(
            query,
            role=list(role) or None,
            email=list(email) or None,
            is_invited=invited,
            has_2fa=has_2fa,
            sso_linked=sso_linked,
        )

    go(ctx, lambda s: _stream(s, fmt, out, MEMBER_COLUMNS, make, member_row, "members"))


@members.command("pending")
@format_option
@output_option
@click.pass_context
def members_pending(ctx: click.Context, fmt: str, out: str | None) -> None:
    """List pending invites."""
    go(
        ctx,
        lambda s: _stream(
            s, fmt, out, MEMBER_COLUMNS, lambda org: org.members.pending(), member_row, "pending"
        ),
    )


async def _resolve(org: Org, key: str) -> Member:
    if "@" in key:
        member = await org.members.find_by_email(key)
        if member is None:
            raise ValidationError(f"no member or invite with the e-mail {key}")
        return member
    return await org.members.get(MemberId(key) if key != "me" else "me")


@members.command("get")
@click.argument("member")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def members_get(ctx: click.Context, member: str, fmt: str) -> None:
    """Show one member (member id, e-mail or 'me')."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            found = await _resolve(org, member)
            detail = await org.members.get(found.id)
        row = member_row(detail)
        row["teams"] = ", ".join(
            f"{t.team_slug}:{t.role}" if t.role else t.team_slug for t in detail.team_roles
        ) or ", ".join(detail.teams)
        if fmt == "json":
            click.echo(json.dumps(row, default=str, indent=2))
        else:
            table = Table(show_header=False)
            for key, value in row.items():
                table.add_row(key, str(value))
            Console().print(table)
        return 0

    go(ctx, work)


@members.command("invite")
@click.argument("emails", nargs=-1)
@click.option("--from-csv", "from_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--role", default="member", show_default=True)
@click.option("--team", "teams", multiple=True, help="Team slug to join (repeatable).")
@click.option("--no-email", is_flag=True, help="Do not send the invite e-mail.")
@click.option(
    "--via",
    type=click.Choice(["invite", "scim"]),
    default="invite",
    show_default=True,
    help="invite: POST members/ (daily quota on sentry.io); scim: SCIM POST Users (no quota).",
)
@click.option(
    "--deferred-csv",
    default="deferred-invites.csv",
    show_default=True,
    help="Where to write the rows a daily invite quota deferred (run it again tomorrow).",
)
@failed_option
@click.pass_context
def members_invite(
    ctx: click.Context,
    emails: tuple[str, ...],
    from_csv: str | None,
    role: str,
    teams: tuple[str, ...],
    no_email: bool,
    via: str,
    deferred_csv: str,
    failed_csv: str,
) -> None:
    """Invite EMAIL... or every row of --from-csv (columns: email, role, teams).

    At sentry.io's daily invite quota the rest is not sent: those rows go to
    --deferred-csv (exit code 75, try again later); --via scim provisions
    through SCIM, which the quota does not cover.
    """
    if not emails and not from_csv:
        raise click.UsageError("give e-mails or --from-csv FILE")
    if emails and from_csv:
        raise click.UsageError(
            "give e-mails or --from-csv FILE, not both (add the e-mails to the CSV)"
        )

    async def work(settings: Settings) -> int:
        text = read_csv(from_csv) if from_csv else None  # checked before anything is sent
        async with opened(settings) as (client, org):
            known = [t.slug async for t in org.teams.list(detailed=False)]
            if text is not None:
                batch = load_invite_rows(text, known_teams=known)
            else:
                records = [{"email": e, "role": role, "teams": list(teams)} for e in emails]
                batch = load_invite_rows(records, known_teams=known)
            for error in batch.errors:
                err.print(f"invalid: {error}", markup=False)
            with Reporter("inviting", len(batch.rows), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.invite(
                    batch.rows,
                    send_invite=not no_email,
                    via="scim" if via == "scim" else "invite",
                    progress=reporter.update,
                )
        code = summary(report, failed_csv=failed_csv, label="invite")
        deferred = report.deferred()
        if deferred:
            _write_rows(deferred_csv, [(row, report.quota) for row in deferred])
            err.print(
                f"the daily invite quota was reached: {len(deferred)} rows were not sent, "
                f"written to {deferred_csv} (run again tomorrow with --from-csv "
                f"{deferred_csv}, or use --via scim)",
                markup=False,
            )
            code = code or EX_TEMPFAIL
        if batch.errors:
            _append_invalid(failed_csv, batch.errors, fresh=code == 0)
            err.print(f"{len(batch.errors)} invalid rows were not sent (see {failed_csv})")
            code = 1
        return code

    go(ctx, work)


def _append_invalid(path: str, errors: Iterable[Any], *, fresh: bool) -> None:
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


@members.command("set-role")
@click.argument("member")
@click.argument("role")
@click.pass_context
def members_set_role(ctx: click.Context, member: str, role: str) -> None:
    """Give MEMBER (id or e-mail) the org ROLE."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            report = await org.bulk.set_roles([RoleRow(member, role)])
        return _single(report, f"{member}: role {role}")

    go(ctx, work)


def _single(report: BulkReport[Any], what: str) -> int:
    outcome = report[0]
    if outcome.kind is OutcomeKind.FAILED:
        assert outcome.error is not None
        raise outcome.error
    if outcome.kind is OutcomeKind.NOT_FOUND:
        err.print(f"not found: {what}")
        return 1
    click.echo(f"{outcome.kind.value}: {what}")
    return 0


@members.command("remove")
@click.argument("members_", metavar="MEMBER...", nargs=-1, required=True)
@failed_option
@click.pass_context
def members_remove(ctx: click.Context, members_: tuple[str, ...], failed_csv: str) -> None:
    """Remove members or revoke invites (member ids or e-mails)."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            with Reporter("removing", len(members_), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.remove(list(members_), progress=reporter.update)
        return summary(report, failed_csv=failed_csv, label="remove")

    go(ctx, work)


@members.command("watch")
@click.option("--interval", type=float, default=60.0, show_default=True, help="Seconds per poll.")
@click.option("--teams", "with_teams", is_flag=True, help="Also report team changes.")
@click.option("--budget", type=float, default=0.2, show_default=True, help="Share of the limit.")
@click.option("--state-dir", help="Checkpoint directory (default ~/.local/state/sentry-members).")
@click.option("--redis", "redis_url", help="Keep the checkpoint in Redis at this URL instead.")
@click.option("--emit-initial", is_flag=True, help="First run: report every member.")
@click.option("--once", is_flag=True, help="Poll once, print what changed, exit.")
@click.option("--max-events", type=click.IntRange(min=1), help="Exit after N events.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto", "jsonl", "text")),
    default="auto",
    show_default=True,
    help="auto: a readable line each on a terminal, JSON lines otherwise.",
)
@click.pass_context
def members_watch(
    ctx: click.Context,
    interval: float,
    with_teams: bool,
    budget: float,
    state_dir: str | None,
    redis_url: str | None,
    emit_initial: bool,
    once: bool,
    max_events: int | None,
    fmt: str,
) -> None:
    """Stream membership changes (invited, joined, removed, role/teams changed, ...)."""
    import logging

    from .watch import CheckpointStore, FileStore, RedisStore

    text = fmt == "text" or (fmt == "auto" and sys.stdout.isatty())
    log = logging.getLogger("sentry_members_async.watch")
    if not log.handlers:
        log.addHandler(logging.StreamHandler(sys.stderr))

    async def work(settings: Settings) -> int:
        store: CheckpointStore = RedisStore(redis_url) if redis_url else FileStore(state_dir)
        shown = 0

        def show(event: Any) -> None:
            line = event.describe() if text else json.dumps(event.to_json())
            click.echo(line)
            sys.stdout.flush()

        try:
            async with opened(settings) as (_client, org):
                watch = org.members.watch(
                    interval=interval,
                    teams=with_teams,
                    budget=budget,
                    store=store,
                    emit_initial=emit_initial,
                )
                async with watch:
                    if once:
                        for event in await watch.poll():
                            show(event)
                        return 0
                    async for event in watch:
                        show(event)
                        shown += 1
                        if max_events is not None and shown >= max_events:
                            break
        finally:
            if isinstance(store, RedisStore):
                await store.aclose()
        return 0

    go(ctx, work)


@cli.group()
def teams() -> None:
    """Teams and team membership."""


@teams.command("list")
@format_option
@output_option
@click.pass_context
def teams_list(ctx: click.Context, fmt: str, out: str | None) -> None:
    """List teams."""
    columns = ("id", "slug", "name", "members")
    go(ctx, lambda s: _stream(s, fmt, out, columns, lambda o: o.teams.list(), team_row, "teams"))


@teams.command("create")
@click.argument("slug")
@click.option("--name")
@click.pass_context
def teams_create(ctx: click.Context, slug: str, name: str | None) -> None:
    """Create a team."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            team = await org.teams.create(slug, name=name)
        click.echo(f"created: {team.slug} (id {team.id})")
        return 0

    go(ctx, work)


@teams.command("delete")
@click.argument("slug")
@click.pass_context
def teams_delete(ctx: click.Context, slug: str) -> None:
    """Delete a team."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            await org.teams.delete(slug)
        click.echo(f"deleted: {slug}")
        return 0

    go(ctx, work)


@teams.command("add")
@click.argument("team")
@click.argument("members_", metavar="MEMBER...", nargs=-1, required=True)
@click.option("--role", type=click.Choice(["contributor", "admin"]), default=None)
@failed_option
@click.pass_context
def teams_add(
    ctx: click.Context, team: str, members_: tuple[str, ...], role: str | None, failed_csv: str
) -> None:
    """Add members (ids or e-mails) to TEAM."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            rows = [TeamRow(m, team, role) for m in members_]
            with Reporter("adding", len(rows), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.add_to_teams(rows, progress=reporter.update)
        return summary(report, failed_csv=failed_csv, label=f"add to {team}")

    go(ctx, work)


@teams.command("remove")
@click.argument("team")
@click.argument("members_", metavar="MEMBER...", nargs=-1, required=True)
@failed_option
@click.pass_context
def teams_remove(ctx: click.Context, team: str, members_: tuple[str, ...], failed_csv: str) -> None:
    """Remove members (ids or e-mails) from TEAM."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            rows = [TeamRow(m, team) for m in members_]
            with Reporter("removing", len(rows), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.remove_from_teams(rows, progress=reporter.update)
        return summary(report, failed_csv=failed_csv, label=f"remove from {team}")

    go(ctx, work)


@cli.group()
def scim() -> None:
    """SCIM users and groups (uses SENTRY_SCIM_TOKEN when set)."""


@scim.group("users")
def scim_users() -> None:
    """SCIM users."""


@scim_users.command("list")
@click.option("--user-name", help="Only this e-mail.")
@format_option
@output_option
@click.pass_context
def scim_users_list(ctx: click.Context, user_name: str | None, fmt: str, out: str | None) -> None:
    """List SCIM users."""
    columns = ("id", "user_name", "role", "active")

    def make(org: Org) -> Any:
        return org.scim.users.list(user_name=user_name)

    go(ctx, lambda s: _stream(s, fmt, out, columns, make, scim_user_row, "scim users"))


@scim_users.command("deactivate")
@click.argument("emails", nargs=-1, required=True)
@failed_option
@click.pass_context
def scim_users_deactivate(ctx: click.Context, emails: tuple[str, ...], failed_csv: str) -> None:
    """Offboard people by e-mail (SCIM active=false; REST for owners or without SCIM)."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            with Reporter("deprovisioning", len(emails), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.deprovision(list(emails), progress=reporter.update)
        return summary(report, failed_csv=failed_csv, label="deprovision")

    go(ctx, work)


@scim.group("groups")
def scim_groups() -> None:
    """SCIM groups."""


@scim_groups.command("list")
@format_option
@output_option
@click.pass_context
def scim_groups_list(ctx: click.Context, fmt: str, out: str | None) -> None:
    """List SCIM groups."""
    columns = ("id", "display_name", "members")
    go(
        ctx,
        lambda s: _stream(
            s, fmt, out, columns, lambda o: o.scim.groups.list(), scim_group_row, "scim groups"
        ),
    )


@cli.command("plan")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False))
@click.option("--keep-missing", is_flag=True, help="Do not remove members missing from ROSTER.")
@click.pass_context
def plan_cmd(ctx: click.Context, roster: str, keep_missing: bool) -> None:
    """Print the changes that make the org match ROSTER.csv (email,role,teams)."""

    async def work(settings: Settings) -> int:
        desired = load_roster(read_csv(roster))
        async with opened(settings) as (_, org):
            plan = await org.plan(desired, remove_missing=not keep_missing)
        click.echo(plan.diff())
        return 0

    go(ctx, work)


@cli.command("apply")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False))
@click.option("--keep-missing", is_flag=True, help="Do not remove members missing from ROSTER.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@failed_option
@click.pass_context
def apply_cmd(
    ctx: click.Context, roster: str, keep_missing: bool, yes: bool, failed_csv: str
) -> None:
    """Make the org match ROSTER.csv: shows the plan, then applies it."""

    async def work(settings: Settings) -> int:
        desired = load_roster(read_csv(roster))
        async with opened(settings) as (client, org):
            plan = await org.plan(desired, remove_missing=not keep_missing)
            click.echo(plan.diff())
            if not plan:
                return 0
            if not yes:
                if not sys.stdin.isatty():
                    raise ConfigurationError("not a terminal: pass --yes to apply")
                click.confirm(f"apply {len(plan)} changes?", abort=True)
            with Reporter("applying", len(plan), client, quiet=settings.quiet) as reporter:
                report = await org.apply(plan, progress=reporter.update)
        code = summary(report, failed_csv=failed_csv, label="apply")
        deferred = report.deferred()
        if deferred:
            err.print(
                f"the daily invite quota was reached: {len(deferred)} invites were not sent "
                f"(apply {roster} again tomorrow)",
                markup=False,
            )
            code = code or EX_TEMPFAIL
        return code

    go(ctx, work)


@cli.group("emulator")
def emulator_group() -> None:
    """The embedded Sentry emulator."""


@emulator_group.command(
    "serve",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,  # --help goes to the emulator's own parser, which lists the options
)
@click.pass_context
def emulator_serve(ctx: click.Context) -> None:
    """Serve a seeded emulator; prints `export SENTRY_URL=...` lines (see --help)."""
    from .testing.__main__ import main as serve_main

    raise Exit(serve_main(["serve", *ctx.args], prog="sentry-members emulator"))


@cli.command("demo")
@click.option("--members", "n_members", default=5_000, show_default=True)
@click.option("--invites", "n_invites", default=300, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False), default=None)
def demo_cmd(n_members: int, n_invites: int, workdir: str | None) -> None:
    """The whole product on the embedded emulator, no Sentry account needed."""
    from .demo import run_demo

    raise Exit(asyncio.run(run_demo(n_members=n_members, n_invites=n_invites, workdir=workdir)))
