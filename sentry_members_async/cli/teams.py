"""``sentry-members teams ...``: list, create and delete teams; add and remove members."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from ..bulk import TeamRow
from ..errors import ValidationError
from ..org import Org
from .bulkrun import BulkJob, Fill, bulk_command, journal_for
from .common import (
    Settings,
    columns_option,
    confirm,
    failed_option,
    format_option,
    go,
    opened,
    output_option,
    raw_csv_option,
    read_table,
    resume_option,
    stream,
    yes_option,
)
from .output import team_row
from .safe import terminal_text

__all__ = ["teams"]

TEAM_COLUMNS = ("id", "slug", "name", "members")


@click.group()
def teams() -> None:
    """Teams and team membership."""


@teams.command("list")
@format_option
@output_option
@columns_option
@raw_csv_option
@click.pass_context
def teams_list(
    ctx: click.Context, fmt: str, out: str | None, columns: str | None, raw_csv: bool
) -> None:
    """List teams (columns: id, slug, name, members)."""
    go(
        ctx,
        lambda s: stream(
            s,
            fmt,
            out,
            TEAM_COLUMNS,
            lambda o: o.teams.list(),
            team_row,
            "teams",
            chosen=columns,
            raw_csv=raw_csv,
        ),
    )


@teams.command("create")
@click.argument("slug")
@click.option("--name", help="Display name (default: the slug).")
@click.pass_context
def teams_create(ctx: click.Context, slug: str, name: str | None) -> None:
    """Create a team."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            team = await org.teams.create(slug, name=name)
        click.echo(f"created: {terminal_text(team.slug)} (id {team.id})")
        return 0

    go(ctx, work)


@teams.command("delete")
@click.argument("slug")
@yes_option
@click.pass_context
def teams_delete(ctx: click.Context, slug: str, yes: bool) -> None:
    """Delete a team (on a terminal it asks first; --yes does not)."""
    confirm(f"delete the team {terminal_text(slug)} and its memberships?", yes)

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            await org.teams.delete(slug)
        click.echo(f"deleted: {terminal_text(slug)}")
        return 0

    go(ctx, work)


def _team_rows(
    team: str | None,
    members_: tuple[str, ...],
    role: str | None,
    from_csv: str | None,
) -> list[TeamRow]:
    if from_csv is not None:
        if team or members_:
            raise click.UsageError("give TEAM MEMBER... or --from-csv FILE, not both")
        rows = []
        for line, row in read_table(from_csv, ("member", "email")):
            member = row.get("member") or row.get("email") or ""
            slug = row.get("team") or ""
            if not member or not slug:
                raise ValidationError(f"{from_csv}: line {line}: needs a member and a team")
            rows.append(TeamRow(member, slug, row.get("role") or role or None))
        return rows
    if not team or not members_:
        raise click.UsageError("give TEAM and at least one MEMBER, or --from-csv FILE")
    return [TeamRow(m, team, role) for m in members_]


def _team_job(
    command: str,
    doing: str,
    label: str,
    rows: list[TeamRow],
    call: Any,
    from_csv: str | None,
    resume: bool,
    failed_csv: str | None,
) -> BulkJob[TeamRow]:
    journal = journal_for(from_csv, command, resume=resume)
    slug = command.replace(" ", "-")
    return BulkJob(
        doing,
        label,
        rows,
        call,
        lambda row: f"{str(row.member).lower()} {row.team}",
        failed_csv=failed_csv or f"failed-{slug}.csv",
        rerun=f"sentry-members {command} --from-csv {{path}}",
        journal=journal,
    )


_from_csv = click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(exists=True, dir_okay=False),
    help="Every row of FILE (columns: member or email, team, role).",
)


@teams.command("add")
@click.argument("team", required=False)
@click.argument("members_", metavar="[MEMBER]...", nargs=-1)
@click.option("--role", type=click.Choice(["contributor", "admin"]), default=None)
@_from_csv
@resume_option
@failed_option
@click.pass_context
def teams_add(
    ctx: click.Context,
    team: str | None,
    members_: tuple[str, ...],
    role: str | None,
    from_csv: str | None,
    resume: bool,
    failed_csv: str | None,
) -> None:
    """Add members (ids or e-mails) to TEAM, or every row of --from-csv."""
    rows = _team_rows(team, members_, role, from_csv)
    label = f"add to {team}" if team else "add to teams"

    def call(org: Org, todo: Iterable[TeamRow], progress: Any, fill: Fill) -> Any:
        return org.bulk.add_to_teams(todo, progress=progress, **fill(org.bulk.add_to_teams))

    job = _team_job("teams add", "adding", label, rows, call, from_csv, resume, failed_csv)
    bulk_command(ctx, job)


@teams.command("remove")
@click.argument("team", required=False)
@click.argument("members_", metavar="[MEMBER]...", nargs=-1)
@_from_csv
@resume_option
@failed_option
@click.pass_context
def teams_remove(
    ctx: click.Context,
    team: str | None,
    members_: tuple[str, ...],
    from_csv: str | None,
    resume: bool,
    failed_csv: str | None,
) -> None:
    """Remove members (ids or e-mails) from TEAM, or every row of --from-csv."""
    rows = _team_rows(team, members_, None, from_csv)
    label = f"remove from {team}" if team else "remove from teams"

    def call(org: Org, todo: Iterable[TeamRow], progress: Any, fill: Fill) -> Any:
        method = org.bulk.remove_from_teams
        return method(todo, progress=progress, **fill(method))

    job = _team_job("teams remove", "removing", label, rows, call, from_csv, resume, failed_csv)
    bulk_command(ctx, job)
