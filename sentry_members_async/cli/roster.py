"""``sentry-members plan`` / ``apply``: make the org match a roster CSV (email, role, teams)."""

from __future__ import annotations

import sys

import click

from ..errors import ConfigurationError
from ..reconcile import Plan, load_roster
from .common import EX_TEMPFAIL, Settings, failed_option, go, opened, read_csv
from .output import Reporter, err, summary

__all__ = ["apply_cmd", "plan_cmd"]

roster_argument = click.argument("roster", type=click.Path(exists=True, dir_okay=False))
keep_missing_option = click.option(
    "--keep-missing", is_flag=True, help="Do not remove members missing from ROSTER."
)


@click.command("plan")
@roster_argument
@keep_missing_option
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


def _confirm(plan: Plan, yes: bool) -> None:
    """Ask before applying, unless ``--yes``; without a terminal to ask, refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigurationError("not a terminal: pass --yes to apply")
    click.confirm(f"apply {len(plan)} changes?", abort=True)


@click.command("apply")
@roster_argument
@keep_missing_option
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
            _confirm(plan, yes)
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
