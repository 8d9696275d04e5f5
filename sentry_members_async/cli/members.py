"""``sentry-members members ...``: list, show, invite, change and remove members."""

from __future__ import annotations

import io
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..bulk import BulkReport, InviteRow, OutcomeKind, RoleRow, RowBatch, load_invite_rows
from ..errors import ValidationError
from ..models import Member, MemberId
from ..org import Org
from .common import (
    EX_TEMPFAIL,
    Settings,
    failed_option,
    format_option,
    go,
    opened,
    output_option,
    read_csv,
    stream,
)
from .output import MEMBER_COLUMNS, Reporter, append_invalid, err, member_row, summary, write_rows
from .watch import members_watch

__all__ = ["members"]


@click.group()
def members() -> None:
    """Organization members and invites."""


members.add_command(members_watch)


@members.command("list")
@click.option("--role", multiple=True, help="Only these org roles (repeatable).")
@click.option("--email", multiple=True, help="Only these e-mails (repeatable).")
@click.option("--invited/--not-invited", default=None, help="Only pending invites, or none.")
@click.option("--2fa/--no-2fa", "has_2fa", default=None, help="With or without 2FA.")
@click.option("--sso-linked/--sso-not-linked", default=None)
@click.option("--query", help="A raw Sentry members query.")
@format_option
@output_option
@click.pass_context
def members_list(
    ctx: click.Context,
    role: tuple[str, ...],
    email: tuple[str, ...],
    invited: bool | None,
    has_2fa: bool | None,
    sso_linked: bool | None,
    query: str | None,
    fmt: str,
    out: str | None,
) -> None:
    """List members (streams: any size, bounded memory)."""

    def make(org: Org) -> Any:
        return org.members.list(
            query,
            role=list(role) or None,
            email=list(email) or None,
            is_invited=invited,
            has_2fa=has_2fa,
            sso_linked=sso_linked,
        )

    go(ctx, lambda s: stream(s, fmt, out, MEMBER_COLUMNS, make, member_row, "members"))


@members.command("pending")
@format_option
@output_option
@click.pass_context
def members_pending(ctx: click.Context, fmt: str, out: str | None) -> None:
    """List pending invites."""
    go(
        ctx,
        lambda s: stream(
            s, fmt, out, MEMBER_COLUMNS, lambda org: org.members.pending(), member_row, "pending"
        ),
    )


async def _details(org: Org, key: str) -> Member:
    """One member's details, by member id or ``me`` (Sentry's 404 if none) or by e-mail."""
    if "@" in key:
        member = await org.members.find_by_email(key)
        if member is None:
            raise ValidationError(f"no member or invite with the e-mail {key}")
        key = member.id
    return await org.members.get(MemberId(key) if key != "me" else "me")


def _detail_row(detail: Member) -> dict[str, Any]:
    """A member's row plus its teams (``slug:role`` where the team role is set)."""
    row = member_row(detail)
    row["teams"] = ", ".join(
        f"{t.team_slug}:{t.role}" if t.role else t.team_slug for t in detail.team_roles
    ) or ", ".join(detail.teams)
    return row


@members.command("get")
@click.argument("member")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def members_get(ctx: click.Context, member: str, fmt: str) -> None:
    """Show one member (member id, e-mail or 'me')."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            detail = await _details(org, member)
        row = _detail_row(detail)
        if fmt == "json":
            click.echo(json.dumps(row, default=str, indent=2))
        else:
            table = Table(show_header=False)
            for key, value in row.items():
                table.add_row(key, str(value))
            Console().print(table)
        return 0

    go(ctx, work)


async def _invite_rows(
    org: Org, text: io.StringIO | None, emails: tuple[str, ...], role: str, teams: tuple[str, ...]
) -> RowBatch[InviteRow]:
    """The rows to invite (from the CSV or the arguments), checked against the org's teams."""
    known = [t.slug async for t in org.teams.list(detailed=False)]
    if text is not None:
        batch = load_invite_rows(text, known_teams=known)
    else:
        records = [{"email": e, "role": role, "teams": list(teams)} for e in emails]
        batch = load_invite_rows(records, known_teams=known)
    for error in batch.errors:
        err.print(f"invalid: {error}", markup=False)
    return batch


def _defer(report: BulkReport[InviteRow], deferred_csv: str) -> bool:
    """Write the rows a daily invite quota deferred, and say so; whether there were any."""
    deferred = report.deferred()
    if not deferred:
        return False
    write_rows(deferred_csv, [(row, report.quota) for row in deferred])
    err.print(
        f"the daily invite quota was reached: {len(deferred)} rows were not sent, "
        f"written to {deferred_csv} (run again tomorrow with --from-csv "
        f"{deferred_csv}, or use --via scim)",
        markup=False,
    )
    return True


@members.command("invite")
@click.argument("emails", nargs=-1)
@click.option("--from-csv", "from_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--role", default="member", show_default=True)
@click.option("--team", "teams", multiple=True, help="Team slug to join (repeatable).")
@click.option("--no-email", is_flag=True, help="Do not send the invite e-mail.")
@click.option(
    "--via",
    type=click.Choice(["invite", "scim"]),
    default="invite",
    show_default=True,
    help="invite: POST members/ (daily quota on sentry.io); scim: SCIM POST Users (no quota).",
)
@click.option(
    "--deferred-csv",
    default="deferred-invites.csv",
    show_default=True,
    help="Where to write the rows a daily invite quota deferred (run it again tomorrow).",
)
@failed_option
@click.pass_context
def members_invite(
    ctx: click.Context,
    emails: tuple[str, ...],
    from_csv: str | None,
    role: str,
    teams: tuple[str, ...],
    no_email: bool,
    via: str,
    deferred_csv: str,
    failed_csv: str,
) -> None:
    """Invite EMAIL... or every row of --from-csv (columns: email, role, teams).

    At sentry.io's daily invite quota the rest is not sent: those rows go to
    --deferred-csv (exit code 75, try again later); --via scim provisions
    through SCIM, which the quota does not cover.
    """
    if not emails and not from_csv:
        raise click.UsageError("give e-mails or --from-csv FILE")
    if emails and from_csv:
        raise click.UsageError(
            "give e-mails or --from-csv FILE, not both (add the e-mails to the CSV)"
        )

    async def work(settings: Settings) -> int:
        text = read_csv(from_csv) if from_csv else None  # checked before anything is sent
        async with opened(settings) as (client, org):
            batch = await _invite_rows(org, text, emails, role, teams)
            with Reporter("inviting", len(batch.rows), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.invite(
                    batch.rows,
                    send_invite=not no_email,
                    via="scim" if via == "scim" else "invite",
                    progress=reporter.update,
                )
        code = summary(report, failed_csv=failed_csv, label="invite")
        if _defer(report, deferred_csv):
            code = code or EX_TEMPFAIL
        if batch.errors:
            append_invalid(failed_csv, batch.errors, fresh=code == 0)
            err.print(f"{len(batch.errors)} invalid rows were not sent (see {failed_csv})")
            code = 1
        return code

    go(ctx, work)


@members.command("set-role")
@click.argument("member")
@click.argument("role")
@click.pass_context
def members_set_role(ctx: click.Context, member: str, role: str) -> None:
    """Give MEMBER (id or e-mail) the org ROLE."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            report = await org.bulk.set_roles([RoleRow(member, role)])
        return _single(report, f"{member}: role {role}")

    go(ctx, work)


def _single(report: BulkReport[Any], what: str) -> int:
    outcome = report[0]
    if outcome.kind is OutcomeKind.FAILED:
        assert outcome.error is not None
        raise outcome.error
    if outcome.kind is OutcomeKind.NOT_FOUND:
        err.print(f"not found: {what}")
        return 1
    click.echo(f"{outcome.kind.value}: {what}")
    return 0


@members.command("remove")
@click.argument("members_", metavar="MEMBER...", nargs=-1, required=True)
@click.option(
    "--idp-fallback",
    "idp_fallback",
    type=click.Choice(["scim"]),
    default=None,
    help=(
        "Members the identity provider provisioned (which Sentry's members API refuses "
        "to remove): remove them with SCIM DELETE Users/{id} (the SCIM token). "
        "Off by default: they are reported failed, with how to remove them."
    ),
)
@failed_option
@click.pass_context
def members_remove(
    ctx: click.Context, members_: tuple[str, ...], idp_fallback: str | None, failed_csv: str
) -> None:
    """Remove members or revoke invites (member ids or e-mails).

    A member the identity provider provisioned is refused by Sentry's members
    API; --idp-fallback scim removes them through SCIM, as does
    'sentry-members scim users deactivate EMAIL'.
    """
    rows = list(members_)

    async def work(settings: Settings) -> int:
        async with opened(settings) as (client, org):
            with Reporter("removing", len(rows), client, quiet=settings.quiet) as reporter:
                report = await org.bulk.remove(
                    rows,
                    idp_fallback="scim" if idp_fallback == "scim" else None,
                    progress=reporter.update,
                )
        code = summary(report, failed_csv=failed_csv, label="remove")
        through_scim = report.removed_via().get("scim", 0)
        if through_scim:
            err.print(
                f"{through_scim} provisioned by the identity provider: removed through SCIM",
                markup=False,
            )
        return code

    go(ctx, work)
