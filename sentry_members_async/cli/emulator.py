"""``sentry-members emulator serve``: the embedded Sentry emulator, seeded, on loopback."""

from __future__ import annotations

import click

from .common import Exit

__all__ = ["emulator_group"]


@click.group("emulator")
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
    # Imported here: the emulator's server would slow every other command's start-up.
    from ..testing.__main__ import main as serve_main

    raise Exit(serve_main(["serve", *ctx.args], prog="sentry-members emulator"))
