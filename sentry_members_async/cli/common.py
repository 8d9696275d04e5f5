"""What every command shares: settings and the client, options, running, errors.

Settings follow sentry-cli: ``SENTRY_AUTH_TOKEN``, ``SENTRY_ORG``,
``SENTRY_URL``, plus ``SENTRY_SCIM_TOKEN``; each is also a flag.

Exit codes: 0 all done, 1 some items failed (or the API refused the one
item), 2 usage or configuration error. Errors print one line, never the
token, and a traceback only with ``--debug`` (:func:`fail`).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click

from ..bulk import BulkAborted, BulkReport
from ..client import SentryClient
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    SentryError,
    ValidationError,
    mask_secrets,
)
from ..org import Org
from ..transports.base import TransportError
from .output import FORMATS, Reporter, Writer, err, output, silence_stdout, summary

__all__ = [
    "EX_TEMPFAIL",
    "Exit",
    "Settings",
    "bulk_command",
    "failed_option",
    "fail",
    "format_option",
    "go",
    "opened",
    "output_option",
    "read_csv",
    "stream",
]

T = TypeVar("T")
#: What a bulk operation calls as it goes: done, total.
Progress = Callable[[int, int | None], None]

#: sysexits' "temporary failure, try again later": rows deferred by a daily quota.
EX_TEMPFAIL = 75

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)
output_option = click.option("--output", "-o", "out", help="Write to FILE instead of stdout.")
failed_option = click.option(
    "--failed-csv",
    default="failed-rows.csv",
    show_default=True,
    help="Where to write the rows that failed.",
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
)


def _cli_words(text: str) -> str:
    for python, cli_words in _CLI_WORDS:
        text = text.replace(python, cli_words)
    return text


def _auth_advice(exc: AuthenticationError, settings: Settings | None) -> str:
    if "/scim/" not in exc.path:
        return "check SENTRY_AUTH_TOKEN (or --token): Sentry did not accept it"
    if settings is not None and not settings.scim_token:
        return (
            "check SENTRY_SCIM_TOKEN (or --scim-token): none is set, so the auth "
            "token was sent and Sentry did not accept it for SCIM"
        )
    return "check SENTRY_SCIM_TOKEN (or --scim-token): Sentry did not accept it"


def _advice(exc: BaseException, settings: Settings | None = None) -> str:
    if isinstance(exc, AuthenticationError):
        return _auth_advice(exc, settings)
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


def _secrets(settings: Settings | None) -> tuple[str, ...]:
    """The tokens given on the command line or in the environment.

    A server or a proxy may echo them in its answer, which the message and
    the traceback show.
    """
    given = (settings.token, settings.scim_token) if settings else ()
    env = (os.environ.get("SENTRY_AUTH_TOKEN"), os.environ.get("SENTRY_SCIM_TOKEN"))
    return tuple(s for s in (*given, *env) if s)


def fail(exc: BaseException, settings: Settings | None) -> Exit:
    """Print one line for ``exc`` (never the token) and give the exit code."""
    advice = _advice(exc, settings)
    message = _cli_words(str(exc)) if isinstance(exc, ConfigurationError) else str(exc)
    text = f"error: {message}" + (f" ({advice})" if advice else "")
    secrets = _secrets(settings)
    err.print(mask_secrets(text, secrets), markup=False, soft_wrap=True)
    if settings is not None and settings.debug:
        trace = "".join(traceback.format_exception(exc))
        err.print(mask_secrets(trace, secrets), markup=False)
    return Exit(_exit_code(exc))


def go(ctx: click.Context, work: Callable[[Settings], Coroutine[Any, Any, int]]) -> None:
    """Run a command's ``work`` on the settings; any error ends it with one line."""
    settings: Settings = ctx.obj
    try:
        code = asyncio.run(work(settings))
    except BrokenPipeError:
        raise Exit(silence_stdout()) from None
    except BulkAborted as exc:
        raise fail(exc.error, settings) from None
    except (SentryError, OSError) as exc:
        raise fail(exc, settings) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise Exit(130) from None
    if code:
        raise Exit(code)


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


async def stream(
    settings: Settings,
    fmt: str,
    out: str | None,
    columns: Iterable[str],
    make: Callable[[Org], Any],
    to_row: Callable[[Any], dict[str, Any]],
    label: str,
) -> int:
    """Write every item ``make(org)`` lists as a row, with progress (a ``list`` command)."""
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


def bulk_command(
    ctx: click.Context,
    doing: str,
    rows: list[T],
    call: Callable[[Org, list[T], Progress], Awaitable[BulkReport[Any]]],
    *,
    failed_csv: str,
    label: str,
) -> None:
    """Run one bulk operation on ``rows`` with progress, then print its outcomes.

    ``doing`` names the progress ("removing"), ``label`` the outcome table; the
    rows that failed go to ``failed_csv``; exit code 1 when any did.
    """

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            with Reporter(doing, len(rows), client, quiet=settings.quiet) as reporter:
                report = await call(org, rows, reporter.update)
        return summary(report, failed_csv=failed_csv, label=label)

    go(ctx, work)
