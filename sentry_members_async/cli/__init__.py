"""The ``sentry-members`` command line (extra ``cli``: click and rich).

A thin layer over the public SDK. Settings follow sentry-cli:
``SENTRY_AUTH_TOKEN``, ``SENTRY_ORG``, ``SENTRY_URL``, plus
``SENTRY_SCIM_TOKEN``; each is also a flag.

Exit codes: :data:`.exitcodes.EXIT_CODES` (0 done, 1 some items failed, 2
usage or configuration, 3 not found, 75 quota, 130 interrupted, 141 broken
pipe, 143 SIGTERM). Errors print one line, never the token, and a traceback
only with ``--debug``.

The global flags (``--org``, ``--url``, ``--token``, ``--scim-token``,
``--allow-insecure-http``, ``-q/--quiet``, ``-v/--verbose``, ``--debug``,
``--format``) are accepted before or after the subcommand, as gh and
sentry-cli take them (:mod:`.globalflags`).

One module per command group (``members``, ``watch``, ``teams``, ``scim``,
``roster`` for plan/apply, ``emulator``, ``demo``), over ``common``
(settings, options, running a command, errors) and ``output`` (rows,
tables, progress). This module builds the root group from them and runs it.
"""

from __future__ import annotations

import logging
import sys

import click

from .._version import __version__
from .common import Exit, Settings
from .demo import demo_cmd
from .emulator import emulator_group
from .exitcodes import EX_USAGE
from .globalflags import GlobalFlagsGroup
from .members import members
from .output import err, silence_stdout
from .resolve import resolve_cmd
from .review import review_cmd
from .roster import apply_cmd, plan_cmd
from .scim import scim
from .teams import teams

__all__ = ["cli", "run"]


@click.group(cls=GlobalFlagsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sentry-members")
@click.option("--token", envvar="SENTRY_AUTH_TOKEN", help="Auth token (prefer SENTRY_AUTH_TOKEN).")
@click.option("--org", envvar="SENTRY_ORG", help="Organization slug [SENTRY_ORG].")
@click.option("--url", envvar="SENTRY_URL", help="Sentry URL [SENTRY_URL], default sentry.io.")
@click.option("--scim-token", envvar="SENTRY_SCIM_TOKEN", help="SCIM token [SENTRY_SCIM_TOKEN].")
@click.option(
    "--allow-insecure-http", is_flag=True, help="Allow plain http:// to a non-loopback --url."
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM file of the CA that signed Sentry's certificate (a self-hosted Sentry "
    "with a private CA); the same as SSL_CERT_FILE=FILE.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option(
    "--verbose", "-v", count=True, help="Log what the SDK does to stderr (-vv: every request)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(
    ctx: click.Context,
    token: str | None,
    org: str | None,
    url: str | None,
    scim_token: str | None,
    allow_insecure_http: bool,
    ca_bundle: str | None,
    quiet: bool,
    verbose: int,
    debug: bool,
) -> None:
    """Manage the members, teams and SCIM users of a Sentry organization.

    The options below may also be given after the subcommand
    (sentry-members members list --org acme), as may --format.
    """
    del ca_bundle  # read by __main__ before aiohttp is imported (SSL_CERT_FILE)
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        log = logging.getLogger("sentry_members_async")
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    ctx.obj = Settings(
        token,
        org,
        url,
        scim_token,
        debug,
        quiet=quiet,
        allow_insecure_http=allow_insecure_http,
        verbose=verbose,
    )


cli.add_command(members)
cli.add_command(teams)
cli.add_command(scim)
cli.add_command(plan_cmd)
cli.add_command(apply_cmd)
cli.add_command(emulator_group)
cli.add_command(demo_cmd)
cli.add_command(review_cmd)
cli.add_command(resolve_cmd)


def run(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="sentry-members", standalone_mode=False)
        sys.stdout.flush()
    except BrokenPipeError:
        return silence_stdout()
    except Exit as stop:
        return stop.code
    except click.exceptions.Abort:
        err.print("aborted: nothing was changed")
        return EX_USAGE
    except click.ClickException as exc:
        exc.show()
        return EX_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    return 0
