"""``sentry-members scim ...``: SCIM users and groups (uses SENTRY_SCIM_TOKEN when set)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ValidationError
from ..org import Org
from .bulkrun import BulkJob, bulk_command, journal_for
from .common import (
    columns_option,
    failed_option,
    format_option,
    go,
    output_option,
    raw_csv_option,
    read_table,
    resume_option,
    stream,
)
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
@columns_option
@raw_csv_option
@click.pass_context
def scim_users_list(
    ctx: click.Context,
    user_name: str | None,
    fmt: str,
    out: str | None,
    columns: str | None,
    raw_csv: bool,
) -> None:
    """List SCIM users (columns: id, user_name, role, active)."""
    available = ("id", "user_name", "role", "active")

    def make(org: Org) -> Any:
        return org.scim.users.list(user_name=user_name)

    go(
        ctx,
        lambda s: stream(
            s,
            fmt,
            out,
            available,
            make,
            scim_user_row,
            "scim users",
            chosen=columns,
            raw_csv=raw_csv,
        ),
    )


@scim_users.command("deactivate")
@click.argument("emails", metavar="[EMAIL]...", nargs=-1)
@click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(exists=True, dir_okay=False),
    help="Every row of FILE (column email).",
)
@resume_option
@failed_option
@click.pass_context
def scim_users_deactivate(
    ctx: click.Context,
    emails: tuple[str, ...],
    from_csv: str | None,
    resume: bool,
    failed_csv: str | None,
) -> None:
    """Offboard people by e-mail (SCIM active=false; REST for owners or without SCIM)."""
    if bool(emails) == bool(from_csv):
        raise click.UsageError("give e-mails or --from-csv FILE (one of the two)")
    rows = list(emails)
    if from_csv:
        for line, row in read_table(from_csv, ("email",)):
            if not row.get("email"):
                raise ValidationError(f"{from_csv}: line {line}: no e-mail")
            rows.append(row["email"])
    journal = journal_for(from_csv, "scim users deactivate", resume=resume)
    bulk_command(
        ctx,
        BulkJob(
            "deprovisioning",
            "deprovision",
            rows,
            lambda org, todo, progress, fill: org.bulk.deprovision(
                todo, progress=progress, **fill(org.bulk.deprovision)
            ),
            lambda email: email.lower(),
            failed_csv=failed_csv or "failed-scim-users-deactivate.csv",
            rerun="sentry-members scim users deactivate --from-csv {path}",
            journal=journal,
        ),
    )


@scim.group("groups")
def scim_groups() -> None:
    """SCIM groups."""


@scim_groups.command("list")
@format_option
@output_option
@columns_option
@raw_csv_option
@click.pass_context
def scim_groups_list(
    ctx: click.Context, fmt: str, out: str | None, columns: str | None, raw_csv: bool
) -> None:
    """List SCIM groups (columns: id, display_name, members)."""
    available = ("id", "display_name", "members")
    go(
        ctx,
        lambda s: stream(
            s,
            fmt,
            out,
            available,
            lambda o: o.scim.groups.list(),
            scim_group_row,
            "scim groups",
            chosen=columns,
            raw_csv=raw_csv,
        ),
    )
