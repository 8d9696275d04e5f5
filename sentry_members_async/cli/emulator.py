"""``sentry-members emulator``: the embedded Sentry emulator, seeded, on loopback.

``serve`` prints lines a POSIX shell can source (``export SENTRY_URL=...``; the
banner is a ``#`` comment). With ``--detach`` it returns once the emulator
answers, leaving it running in the background (``kill "$SENTRY_EMULATOR_PID"``
stops it), so ``sentry-members emulator serve --detach > emulator.env`` then
``. ./emulator.env`` has no race. ``accept`` plays an invitee accepting their
invite (the e-mail link, or an SSO login with ``--sso``) through the served
emulator's admin endpoint (``testing/handlers/admin.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
import threading
from typing import Any

import click

from ..errors import SentryError
from .common import Exit, Settings, fail, go
from .output import err

__all__ = ["emulator_group"]

#: How long ``--detach`` waits for the emulator to answer before giving up.
DETACH_TIMEOUT = 60.0


@click.group("emulator")
def emulator_group() -> None:
    """The embedded Sentry emulator: serve it, accept invites on it."""


def _exports(url: str, org: str, token: str, scim_token: str) -> list[str]:
    lines = [f"# Sentry emulator serving organization {org!r} at {url}"]
    for name, value in (
        ("SENTRY_URL", url),
        ("SENTRY_ORG", org),
        ("SENTRY_AUTH_TOKEN", token),
        ("SENTRY_SCIM_TOKEN", scim_token),
        ("SENTRY_EMULATOR_PID", str(os.getpid())),
    ):
        lines.append(f"export {name}={shlex.quote(value)}")
    return lines


async def _serve(args: argparse.Namespace, people: bool) -> None:
    # Imported here: the emulator's server would slow every other command's start-up.
    from ..testing.__main__ import build
    from ..testing.people import add_example_people

    emulator, token, scim_token = build(args)
    if people:
        add_example_people(emulator, args.org)
    async with emulator.serve(args.host, args.port) as url:
        print("\n".join(_exports(url, args.org, token, scim_token)), flush=True)
        await asyncio.Event().wait()


def _detach(argv: list[str]) -> int:
    """Start ``serve`` (without ``--detach``) in its own session; print its exports once up."""
    child = subprocess.Popen(  # noqa: S603 - this interpreter, this package
        [sys.executable, "-m", "sentry_members_async", "emulator", "serve", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a Ctrl-C or hang-up of this shell leaves it running
    )
    assert child.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("export SENTRY_EMULATOR_PID="):
                ready.set()
                return
        ready.set()  # ended before it served

    threading.Thread(target=read, daemon=True).start()
    started = ready.wait(DETACH_TIMEOUT)
    if not started or not lines or not lines[-1].startswith("export SENTRY_EMULATOR_PID="):
        child.kill()
        child.wait()
        err.print(
            f"error: the emulator did not start within {DETACH_TIMEOUT:.0f} s",
            markup=False,
            soft_wrap=True,
        )
        for line in lines:
            err.print(line, markup=False, soft_wrap=True)
        return 1
    # Only the shell lines go to stdout (`> emulator.env`); anything else the child said
    # while starting (a warning, a log line) goes to stderr.
    shell = [line for line in lines if line.startswith(("export ", "# "))]
    for line in lines:
        if line not in shell:
            err.print(line, markup=False, soft_wrap=True)
    print("\n".join(shell), flush=True)
    err.print(f'emulator running (pid {child.pid}); stop it with: kill "$SENTRY_EMULATOR_PID"')
    return 0


@emulator_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=int,
    default=8765,
    show_default=True,
    envvar="SENTRY_EMULATOR_PORT",
    help="Port, 0 for any free one [SENTRY_EMULATOR_PORT].",
)
@click.option("--org", "org_slug", default="acme", show_default=True, help="Organization slug.")
@click.option("--members", type=int, default=100, show_default=True, help="Members to seed.")
@click.option(
    "--teams", type=int, default=5, show_default=True, help="Teams team-01... (plus backend)."
)
@click.option(
    "--people/--no-people",
    default=True,
    show_default=True,
    help="Seed the examples' people (ann@, bob@, leaver@example.com).",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Random seed of the data and the tokens (default: the data of seed 0, random tokens).",
)
@click.option("--token", default=None, help="The owner's token (default: random).")
@click.option("--scim-token", default=None, help="The SCIM token (default: random).")
@click.option("--latency", type=float, default=0.0, show_default=True, help="Seconds per answer.")
@click.option(
    "--rate-limit",
    type=click.Choice(["none", "docs", "saas", "profile"]),
    default="none",
    show_default=True,
    help="Per-token limit: docs (100 per 10 s), saas (40/s, 25 concurrent), "
    "profile (the profile's).",
)
@click.option(
    "--profile",
    type=click.Choice(["latest", "23.7"]),
    default="latest",
    show_default=True,
    help="The Sentry release to answer as: latest (sentry.io) or 23.7 (self-hosted 23.7.1).",
)
@click.option(
    "--self-hosted", is_flag=True, help="No request limit and no X-Sentry-Rate-Limit-* headers."
)
@click.option("--no-retry-after", is_flag=True, help="Send no Retry-After on 429.")
@click.option(
    "--invite-quotas",
    is_flag=True,
    help="sentry.io's daily invite quotas (100 per token, 100 per org, 10 per address).",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Return once it answers, leaving it running; its PID is in SENTRY_EMULATOR_PID.",
)
def emulator_serve(people: bool, detach: bool, org_slug: str, **options: Any) -> None:
    """Serve a seeded emulator on HTTP; print `export SENTRY_URL=...` lines for a shell.

    With --detach it returns once the emulator answers and leaves it running:
    `sentry-members emulator serve --detach > emulator.env`, then
    `. ./emulator.env`; `kill "$SENTRY_EMULATOR_PID"` stops it.
    """
    if detach:
        argv = ["--org", org_slug, "--people" if people else "--no-people"]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is None:
                continue
            if isinstance(value, bool):
                argv += [flag] if value else []
            else:
                argv += [flag, str(value)]
        raise Exit(_detach(argv))
    args = argparse.Namespace(org=org_slug, **options)
    try:
        asyncio.run(_serve(args, people))
    except KeyboardInterrupt:
        raise Exit(0) from None
    except OSError as exc:  # the port is taken, say
        err.print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")
        raise Exit(1) from None


@emulator_group.command("accept")
@click.argument("emails", nargs=-1, required=True)
@click.option("--sso", is_flag=True, help="Accept by an SSO login instead of the e-mail link.")
@click.pass_context
def emulator_accept(ctx: click.Context, emails: tuple[str, ...], sso: bool) -> None:
    """Accept the pending invites of EMAILS on a served emulator (as the invitee would)."""

    async def work(settings: Settings) -> int:
        from .common import opened

        failed = 0
        async with opened(settings) as (client, org):
            for email in emails:
                try:
                    await client.request(
                        "POST",
                        "/_emulator/organizations/{org}/accept/",
                        path_params={"org": org.slug},
                        json={"email": email, "sso": sso},
                    )
                except SentryError as exc:
                    fail(exc, settings)
                    failed += 1
                    continue
                print(f"accepted: {email}" + (" (SSO login)" if sso else " (e-mail link)"))
        return 1 if failed else 0

    go(ctx, work)
