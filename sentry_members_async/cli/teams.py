"""``sentry-members teams ...``: list, create and delete teams; add and remove members."""

from __future__ import annotations

import click

from ..bulk import TeamRow
from .common import (
    Settings,
    bulk_command,
    failed_option,
    format_option,
    go,
    opened,
    output_option,
    stream,
)
from .output import team_row

__all__ = ["teams"]


@click.group()
def teams() -> None:
    """Teams and team membership."""


@teams.command("list")
@format_option
@output_option
@click.pass_context
def teams_list(ctx: click.Context, fmt: str, out: str | None) -> None:
    """List teams."""
    columns = ("id", "slug", "name", "members")
    go(ctx, lambda s: stream(s, fmt, out, columns, lambda o: o.teams.list(), team_row, "teams"))


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
    bulk_command(
        ctx,
        "adding",
        [TeamRow(m, team, role) for m in members_],
        lambda org, rows, progress: org.bulk.add_to_teams(rows, progress=progress),
        failed_csv=failed_csv,
        label=f"add to {team}",
    )


@teams.command("remove")
@click.argument("team")
@click.argument("members_", metavar="MEMBER...", nargs=-1, required=True)
@failed_option
@click.pass_context
def teams_remove(ctx: click.Context, team: str, members_: tuple[str, ...], failed_csv: str) -> None:
    """Remove members (ids or e-mails) from TEAM."""
    bulk_command(
        ctx,
        "removing",
        [TeamRow(m, team) for m in members_],
        lambda org, rows, progress: org.bulk.remove_from_teams(rows, progress=progress),
        failed_csv=failed_csv,
        label=f"remove from {team}",
    )
