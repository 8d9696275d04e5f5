"""``sentry-members plan`` / ``apply``: make the org match a roster CSV (email, role, teams).

Members missing from the roster stay unless ``--remove-missing``; a plan that
would remove more than 10 % of the org (at least 25) is refused unless
``--max-removals N`` allows that many. ``apply`` prints the plan and asks
before it removes anyone (``--yes`` to skip the question; without a terminal
to ask, removals need ``--yes``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ..errors import ConfigurationError, ValidationError
from ..reconcile import Plan, RemoveMember, load_roster
from .common import EX_TEMPFAIL, Settings, failed_option, go, opened, read_csv
from .output import Reporter, err, summary

if TYPE_CHECKING:
    from ..org import Org

__all__ = ["apply_cmd", "plan_cmd"]

roster_argument = click.argument("roster", type=click.Path(exists=True, dir_okay=False))
remove_missing_option = click.option(
    "--remove-missing",
    is_flag=True,
    help="Remove members missing from ROSTER (never Owners or you). Off by default.",
)
keep_missing_option = click.option(
    "--keep-missing",
    is_flag=True,
    hidden=True,
    help="Keep members missing from ROSTER (the default; kept for existing scripts).",
)
max_removals_option = click.option(
    "--max-removals",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="With --remove-missing: allow up to N removals "
    "(default: 10 % of the org, at least 25; more is refused).",
)


async def _plan(
    org: Org, roster: str, remove_missing: bool, keep_missing: bool, max_removals: int | None
) -> Plan:
    if remove_missing and keep_missing:
        raise ValidationError("--remove-missing and --keep-missing contradict each other")
    if max_removals is not None and not remove_missing:
        raise ValidationError("--max-removals needs --remove-missing")
    desired = load_roster(read_csv(roster))
    return await org.plan(desired, remove_missing=remove_missing, max_removals=max_removals)


@click.command("plan")
@roster_argument
@remove_missing_option
@keep_missing_option
@max_removals_option
@click.pass_context
def plan_cmd(
    ctx: click.Context,
    roster: str,
    remove_missing: bool,
    keep_missing: bool,
    max_removals: int | None,
) -> None:
    """Print the changes that make the org match ROSTER.csv (email,role,teams)."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            plan = await _plan(org, roster, remove_missing, keep_missing, max_removals)
        click.echo(plan.diff())
        return 0

    go(ctx, work)


def _confirm(plan: Plan, yes: bool) -> None:
    """Ask before applying, unless ``--yes``; without a terminal to ask, refuse.

    The question names the removals, when the plan has any.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigurationError("not a terminal: pass --yes to apply")
    removals = plan.removals - sum(isinstance(plan.changes[i], RemoveMember) for i in plan.refused)
    question = f"apply {len(plan)} changes?"
    if removals > 0:
        question = f"apply {len(plan)} changes, removing {removals} members?"
    click.confirm(question, abort=True)


@click.command("apply")
@roster_argument
@remove_missing_option
@keep_missing_option
@max_removals_option
@click.option("--yes", is_flag=True, help="Apply without asking.")
@failed_option
@click.pass_context
def apply_cmd(
    ctx: click.Context,
    roster: str,
    remove_missing: bool,
    keep_missing: bool,
    max_removals: int | None,
    yes: bool,
    failed_csv: str,
) -> None:
    """Make the org match ROSTER.csv: shows the plan, asks, then applies it.

    Changes whose member changed since the plan are skipped, with the reason.
    """

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            plan = await _plan(org, roster, remove_missing, keep_missing, max_removals)
            click.echo(plan.diff())
            if not plan:
                return 0
            _confirm(plan, yes)
            with Reporter("applying", len(plan), client, quiet=settings.quiet) as reporter:
                report = await org.apply(plan, progress=reporter.update)
        code = summary(
            report, failed_csv=failed_csv, label="apply", rerun="sentry-members apply ROSTER"
        )
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
