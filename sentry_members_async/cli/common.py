"""What every command shares: settings and the client, options, running, errors.

Settings follow sentry-cli: ``SENTRY_AUTH_TOKEN``, ``SENTRY_ORG``,
``SENTRY_URL``, plus ``SENTRY_SCIM_TOKEN``; each is also a flag.

Exit codes: :mod:`.exitcodes` (one table, every command). Errors print one
line, never the token, and a traceback only with ``--debug`` (:func:`fail`).
SIGINT and SIGTERM cancel the command's task, so a bulk run ends with its
outcomes so far (:mod:`.bulkrun`).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import signal
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click

from ..bulk import BulkAborted
from ..client import SentryClient
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    SentryError,
    ValidationError,
    mask_secrets,
)
from ..org import Org
from ..retry import certificate_problem
from ..transports.base import TransportError
from .exitcodes import (
    EX_FAILED,
    EX_INTERRUPTED,
    EX_NOT_FOUND,
    EX_TEMPFAIL,
    EX_TERMINATED,
    EX_USAGE,
)
from .output import FORMATS, Reporter, Writer, choose_columns, err, output, silence_stdout
from .retrying import RetryNotes
from .safe import terminal_text

__all__ = [
    "EX_TEMPFAIL",
    "Exit",
    "Settings",
    "columns_option",
    "failed_option",
    "fail",
    "format_option",
    "go",
    "opened",
    "output_option",
    "confirm",
    "raw_csv_option",
    "read_csv",
    "read_table",
    "stream",
    "yes_option",
    "resume_option",
]

T = TypeVar("T")
#: What a bulk operation calls as it goes: done, total.
Progress = Callable[[int, int | None], None]

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table: key columns sized to a terminal, tab-separated full values in a pipe; "
    "csv; json (one array); jsonl (an object a line).",
)
output_option = click.option(
    "--output", "-o", "out", help="Write to FILE (whole or not at all) instead of stdout."
)
columns_option = click.option(
    "--columns", help="Comma-separated columns to show, in this order (every format)."
)
raw_csv_option = click.option(
    "--raw-csv",
    is_flag=True,
    help="CSV: write values as they are (by default a cell starting with = + - @ is "
    "prefixed with ' so that a spreadsheet does not run it as a formula).",
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask first (on a terminal).")
resume_option = click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="With --from-csv: skip the rows an earlier run of this command did (FILE.journal).",
)
failed_option = click.option(
    "--failed-csv",
    default=None,
    help="Where to write the rows not done [default: failed-<command>.csv].",
)


class Exit(Exception):
    """Ends the command with this exit code (what :func:`..run` returns)."""

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
    verbose: int = 0
    #: The signal that stopped the command (SIGINT, SIGTERM), once one did.
    stopped_by: int | None = None

    def client(self) -> SentryClient:
        return SentryClient(
            self.token,
            base_url=self.url,
            scim_token=self.scim_token,
            allow_insecure_http=self.allow_insecure_http,
            on_retry=RetryNotes(quiet=self.quiet),
        )

    def org_slug(self) -> str:
        if not self.org:
            raise ConfigurationError("no organization: pass --org or set SENTRY_ORG")
        return self.org


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[SentryClient, Org]]:
    async with settings.client() as client:
        yield client, client.org(settings.org_slug())


# -- error handling ------------------------------------------------------------

#: The SDK's messages name Python arguments; the command line has flags and variables.
_CLI_WORDS = (
    ("pass token=... or set SENTRY_AUTH_TOKEN", "pass --token or set SENTRY_AUTH_TOKEN"),
    ("; pass token=...", "; give the token with SENTRY_AUTH_TOKEN or --token"),
    ("pass allow_insecure_http=True", "pass --allow-insecure-http"),
    ("base_url", "the URL (SENTRY_URL or --url)"),
    ("the auth token", "the auth token (SENTRY_AUTH_TOKEN or --token)"),
    ("the SCIM token", "the SCIM token (SENTRY_SCIM_TOKEN or --scim-token)"),
    (", or None for no budget", ""),
)
#: ``MemberId('0')`` (a repr) is ``'0'`` on the command line.
_REPR = re.compile(r"\b(?:Member|User|Team|Scim)?Id\(('[^']*')\)")


def cli_words(text: str) -> str:
    """A message in the command line's words: flags and variables, no Python reprs."""
    for python, cli_words in _CLI_WORDS:
        text = text.replace(python, cli_words)
    return _REPR.sub(r"\1", text)


def _auth_advice(exc: AuthenticationError, settings: Settings | None) -> str:
    if "/scim/" not in exc.path:
        return "check SENTRY_AUTH_TOKEN (or --token): Sentry did not accept it"
    if settings is not None and not settings.scim_token:
        return (
            "check SENTRY_SCIM_TOKEN (or --scim-token): none is set, so the auth "
            "token was sent and Sentry did not accept it for SCIM"
        )
    return "check SENTRY_SCIM_TOKEN (or --scim-token): Sentry did not accept it"


#: A 404 on an organization's own collections: the organization is not there.
_ORG_PATH = re.compile(r"/organizations/([^/]+)/(?:members|teams|scim/v2/(?:Users|Groups))/?$")


def _advice(exc: BaseException, settings: Settings | None = None) -> str:
    if isinstance(exc, AuthenticationError):
        return _auth_advice(exc, settings)
    if isinstance(exc, PermissionDeniedError):
        if "scope" in str(exc):  # the message names the scopes already
            return ""
        if exc.required_scopes:
            return f"the token needs one of the scopes {', '.join(exc.required_scopes)}"
        return ""
    if isinstance(exc, NotFoundError):
        found = _ORG_PATH.search(getattr(exc, "path", "") or "")
        if found:
            return (
                f"no organization {found.group(1)!r} that this token can see: "
                "check --org or SENTRY_ORG"
            )
        return ""
    if isinstance(exc, TransportError):
        if certificate_problem(exc):
            return (
                "the server's TLS certificate is not trusted: give the CA that signed it "
                "with --ca-bundle FILE, or check SENTRY_URL (or --url)"
            )
        return "check SENTRY_URL (or --url) and your network"
    return ""


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, NotFoundError):
        return EX_NOT_FOUND
    if isinstance(exc, ConfigurationError | ValidationError | AuthenticationError):
        return EX_USAGE
    if isinstance(exc, PermissionDeniedError) and exc.required_scopes:
        return EX_USAGE
    if isinstance(exc, csv.Error | UnicodeError):
        return EX_USAGE
    if isinstance(exc, OSError) and not isinstance(exc, TransportError):
        return EX_USAGE  # a file named on the command line
    return EX_FAILED


def _secrets(settings: Settings | None) -> tuple[str, ...]:
    """The tokens given on the command line or in the environment.

    A server or a proxy may echo them in its answer, which the message and
    the traceback show.
    """
    given = (settings.token, settings.scim_token) if settings else ()
    env = (os.environ.get("SENTRY_AUTH_TOKEN"), os.environ.get("SENTRY_SCIM_TOKEN"))
    return tuple(s for s in (*given, *env) if s)


_URL_PASSWORD = re.compile(r"(\w+://[^:/@\s]*:)[^@\s]+@")


def _message(exc: BaseException) -> str:
    """What went wrong, in one line of the command line's words."""
    if isinstance(exc, SentryError):
        return cli_words(str(exc))
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return f"{exc.filename}: {exc.strerror or exc}"
    module = type(exc).__module__.split(".")[0]
    if module == "redis":  # an unreachable --redis store
        return "Redis: " + _URL_PASSWORD.sub(r"\1***@", str(exc))
    text = str(exc) or type(exc).__name__
    return f"{text} (an unexpected {type(exc).__name__}; --debug shows where)"


def fail(exc: BaseException, settings: Settings | None) -> Exit:
    """Print one line for ``exc`` (never the token) and give the exit code."""
    advice = _advice(exc, settings)
    text = f"error: {_message(exc)}" + (f" ({advice})" if advice else "")
    secrets = _secrets(settings)
    err.print(terminal_text(mask_secrets(" ".join(text.split("\n")), secrets)))
    if settings is not None and settings.debug:
        trace = "".join(traceback.format_exception(exc))
        err.print(mask_secrets(trace, secrets))
    return Exit(_exit_code(exc))


async def _guarded(settings: Settings, work: Callable[[Settings], Coroutine[Any, Any, int]]) -> int:
    """Run ``work``; SIGINT and SIGTERM cancel it (a bulk run then reports what it did)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def stop(signum: int) -> None:
        settings.stopped_by = settings.stopped_by or signum
        task.cancel()

    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
            handled.append(signum)
    try:
        return await work(settings)
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def interrupted_code(settings: Settings) -> int:
    """130 for Ctrl-C (SIGINT), 143 for SIGTERM."""
    return EX_TERMINATED if settings.stopped_by == signal.SIGTERM else EX_INTERRUPTED


def go(ctx: click.Context, work: Callable[[Settings], Coroutine[Any, Any, int]]) -> None:
    """Run a command's ``work`` on the settings; any error ends it with one line."""
    settings: Settings = ctx.obj
    try:
        code = asyncio.run(_guarded(settings, work))
    except BrokenPipeError:
        raise Exit(silence_stdout()) from None
    except BulkAborted as exc:
        raise fail(exc.error, settings) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        err.print("interrupted" if settings.stopped_by != signal.SIGTERM else "terminated")
        raise Exit(interrupted_code(settings)) from None
    except click.ClickException:
        raise
    except Exit:
        raise
    except Exception as exc:  # one line, whatever it is (a traceback with --debug)
        raise fail(exc, settings) from None
    if code:
        raise Exit(code)


def read_csv(path: str, needs: tuple[str, ...] = ("email",)) -> io.StringIO:
    """The text of a CSV file with one of the ``needs`` columns, or one line saying what is wrong.

    UTF-8, with or without a byte-order mark. Anything else (a spreadsheet's
    Latin-1 export, say) is refused naming the file and the line. Header names
    are read in any case (``Email`` is ``email``).
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
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        raise ValidationError(f"{path}: line 1: not a CSV header ({exc})") from None
    names = [name.strip().lower() for name in header]
    if not any(need in names for need in needs):
        wanted = " or ".join(repr(n) for n in needs)
        raise ValidationError(
            f"{path}: the first row must be a header with an {wanted} column "
            f"(columns found: {', '.join(h.strip() for h in header) or 'none'})"
        )
    return io.StringIO(text, newline=None)


def read_table(path: str, needs: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` per line of a CSV with one of the ``needs`` columns (lower-cased names)."""
    reader = csv.DictReader(read_csv(path, needs))
    rows = []
    line = 2
    try:
        for record in reader:
            rows.append(
                (line, {str(k).strip().lower(): (v or "").strip() for k, v in record.items() if k})
            )
            line += 1
    except csv.Error as exc:
        raise ValidationError(
            f"{path}: line {line}: not a CSV row this tool can read ({exc})"
        ) from None
    return rows


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` on a terminal (stdin and stderr), unless ``--yes``; a "no" aborts.

    Without a terminal there is nobody to ask: the command goes ahead, as
    scripts expect.
    """
    if yes or not (os.isatty(0) and err.is_terminal):
        return
    click.confirm(question, abort=True, err=True)


async def stream(
    settings: Settings,
    fmt: str,
    out: str | None,
    columns: Iterable[str],
    make: Callable[[Org], Any],
    to_row: Callable[[Any], dict[str, Any]],
    label: str,
    *,
    chosen: str | None = None,
    terminal_columns: Iterable[str] | None = None,
    raw_csv: bool = False,
) -> int:
    """Write every item ``make(org)`` lists as a row, with progress (a ``list`` command).

    ``chosen`` is ``--columns``; without it a terminal shows ``terminal_columns``.
    """
    available = list(columns)
    picked = choose_columns(available, chosen)
    shown = picked if chosen else list(terminal_columns or available)
    async with opened(settings) as (client, org):
        with output(out) as handle:
            writer = Writer(
                fmt, handle, picked, title=label, terminal_columns=shown, raw_csv=raw_csv
            )
            with Reporter(label, None, client, quiet=settings.quiet) as reporter:
                async with make(org) as items:
                    async for item in items:
                        writer.write(to_row(item))
                        if writer.count % 100 == 0:
                            reporter.update(writer.count)
                reporter.update(writer.count)
            writer.close()
    return 0
