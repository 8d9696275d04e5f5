"""``sentry-members scim ...``: SCIM users and groups (uses SENTRY_SCIM_TOKEN when set)."""

from __future__ import annotations

from typing import Any

import click

from ..org import Org
from .common import bulk_command, failed_option, format_option, go, output_option, stream
from .output import scim_group_row, scim_user_row

__all__ = ["scim"]


@click.group()
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

    go(ctx, lambda s: stream(s, fmt, out, columns, make, scim_user_row, "scim users"))


@scim_users.command("deactivate")
@click.argument("emails", nargs=-1, required=True)
@failed_option
@click.pass_context
def scim_users_deactivate(ctx: click.Context, emails: tuple[str, ...], failed_csv: str) -> None:
    """Offboard people by e-mail (SCIM active=false; REST for owners or without SCIM)."""
    bulk_command(
        ctx,
        "deprovisioning",
        list(emails),
        lambda org, rows, progress: org.bulk.deprovision(rows, progress=progress),
        failed_csv=failed_csv,
        label="deprovision",
    )


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
        lambda s: stream(
            s, fmt, out, columns, lambda o: o.scim.groups.list(), scim_group_row, "scim groups"
        ),
    )
