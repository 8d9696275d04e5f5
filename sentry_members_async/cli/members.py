"""``sentry-members members ...``: list, show, invite, change and remove members."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..bulk import BulkReport, InviteRow, OutcomeKind, RoleRow, RowBatch, load_invite_rows
from ..errors import ValidationError
from ..models import Member, MemberId
from ..org import Org
from .bulkrun import BulkJob, bulk_command, journal_for, run_bulk
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
    read_csv,
    read_table,
    resume_option,
    stream,
    yes_option,
)
from .exitcodes import EX_NOT_FOUND, EX_TEMPFAIL, EX_USAGE
from .failed import write_failed
from .output import MEMBER_COLUMNS, MEMBER_TERMINAL_COLUMNS, err, member_row, plural
from .safe import terminal_text
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
@click.option(
    "--sso-linked/--sso-not-linked", default=None, help="Only members with (or without) SSO linked."
)
@click.option("--query", help="A raw Sentry members query.")
@format_option
@output_option
@columns_option
@raw_csv_option
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
    columns: str | None,
    raw_csv: bool,
) -> None:
    """List members (streams: any size, bounded memory).

    On a terminal the table shows id, email, role, pending, expired and teams;
    piped, every column, tab-separated. Columns: id, email, name, role,
    pending, expired, teams, user_id, invite_status, date_created, sso_linked,
    idp_provisioned.
    """

    def make(org: Org) -> Any:
        return org.members.list(
            query,
            role=list(role) or None,
            email=list(email) or None,
            is_invited=invited,
            has_2fa=has_2fa,
            sso_linked=sso_linked,
        )

    go(ctx, lambda s: _members_stream(s, fmt, out, make, "members", columns, raw_csv))


def _members_stream(
    settings: Settings,
    fmt: str,
    out: str | None,
    make: Any,
    label: str,
    columns: str | None,
    raw_csv: bool,
) -> Any:
    return stream(
        settings,
        fmt,
        out,
        MEMBER_COLUMNS,
        make,
        member_row,
        label,
        chosen=columns,
        terminal_columns=MEMBER_TERMINAL_COLUMNS,
        raw_csv=raw_csv,
    )


@members.command("pending")
@format_option
@output_option
@columns_option
@raw_csv_option
@click.pass_context
def members_pending(
    ctx: click.Context, fmt: str, out: str | None, columns: str | None, raw_csv: bool
) -> None:
    """List pending invites."""
    make = lambda org: org.members.pending()  # noqa: E731
    go(ctx, lambda s: _members_stream(s, fmt, out, make, "pending", columns, raw_csv))


async def _details(org: Org, key: str) -> Member:
    """One member's details, by member id or ``me`` (Sentry's 404 if none) or by e-mail."""
    if "@" in key:
        member = await org.members.find_by_email(key)
        if member is None:
            raise _NotFound(f"no member or invite with the e-mail {key}")
        key = member.id
    if key != "me" and not (key.isdigit() and int(key) >= 1):
        raise ValidationError(
            f"{key!r} is not a member: give a member id (a number), an e-mail or 'me'"
        )
    return await org.members.get(MemberId(key) if key != "me" else "me")


class _NotFound(ValidationError):
    """Nothing matched what the command line named (exit code 3)."""


def _detail_row(detail: Member) -> dict[str, Any]:
    """A member's row plus its teams (``slug:role`` where the team role is set)."""
    row = member_row(detail)
    row["teams"] = [
        f"{t.team_slug}:{t.role}" if t.role else t.team_slug for t in detail.team_roles
    ] or list(detail.teams)
    return row


@members.command("get")
@click.argument("member")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def members_get(ctx: click.Context, member: str, fmt: str) -> None:
    """Show one member (member id, e-mail or 'me')."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            try:
                detail = await _details(org, member)
            except _NotFound as exc:
                err.print(f"error: {terminal_text(exc)}")
                return EX_NOT_FOUND
        row = _detail_row(detail)
        if fmt == "json":
            click.echo(json.dumps(row, default=str, indent=2))
        elif not sys.stdout.isatty():
            for key, value in row.items():
                click.echo(f"{key}\t{terminal_text(value, sep=',')}")
        else:
            table = Table(show_header=False)
            for key, value in row.items():
                table.add_row(key, Text(terminal_text(value)))
            Console().print(table)
        return 0

    go(ctx, work)


def _invite_key(row: InviteRow) -> str:
    return row.email.lower()


async def _invited_already(org: Org, emails: list[str]) -> dict[str, str]:
    """Which of ``emails`` are members or invites already (one lookup per 20 addresses)."""
    found: dict[str, str] = {}
    for start in range(0, len(emails), 20):
        chunk = emails[start : start + 20]
        async with org.members.list(email=chunk) as listed:
            async for member in listed:
                key = member.email.lower()
                if key in chunk:
                    found[key] = "already_invited" if member.pending else "already_member"
    return found


def _defer(report: BulkReport[InviteRow], deferred_csv: str) -> int:
    """Write the rows a daily invite quota deferred, and say so; 75 if there were any."""
    deferred = report.deferred()
    if not deferred:
        return 0
    write_failed(deferred_csv, [(row, str(report.quota or "")) for row in deferred])
    err.print(
        f"the daily invite quota was reached: {plural(len(deferred), 'row')} not sent, "
        f"written to {deferred_csv} (run again tomorrow with: sentry-members members invite "
        f"--from-csv {deferred_csv}; or use --via scim)"
    )
    return EX_TEMPFAIL


@members.command("invite")
@click.argument("emails", nargs=-1)
@click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(exists=True, dir_okay=False),
    help="Invite every row of FILE (columns: email, role, teams; any case).",
)
@click.option("--role", default="member", show_default=True, help="Org role of the e-mails given.")
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
@resume_option
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
    resume: bool,
    failed_csv: str | None,
) -> None:
    """Invite EMAIL... or every row of --from-csv (columns: email, role, teams).

    At sentry.io's daily invite quota the rest is not sent: those rows go to
    --deferred-csv (exit code 75, try again later); --via scim provisions
    through SCIM, which the quota does not cover. A run from a file keeps
    FILE.journal: run the same command again after an interruption (even
    kill -9) and what was done is not sent again.
    """
    if not emails and not from_csv:
        raise click.UsageError("give e-mails or --from-csv FILE")
    if emails and from_csv:
        raise click.UsageError(
            "give e-mails or --from-csv FILE, not both (add the e-mails to the CSV)"
        )
    failed = failed_csv or "failed-members-invite.csv"

    async def work(settings: Settings) -> int:
        text = read_csv(from_csv) if from_csv else None  # checked before anything is sent
        async with opened(settings) as (_, org):
            batch = await _invite_rows(org, text, emails, role, teams, from_csv)
        if batch.errors and text is None:  # bad arguments: a usage error, nothing sent
            return EX_USAGE
        journal = journal_for(from_csv, "members invite", resume=resume)
        job: BulkJob[InviteRow] = BulkJob(
            "inviting",
            "invite",
            batch.rows,
            lambda org, rows, progress, fill: org.bulk.invite(
                rows,
                send_invite=not no_email,
                via="scim" if via == "scim" else "invite",
                progress=progress,
                **fill(org.bulk.invite),
            ),
            _invite_key,
            failed_csv=failed,
            rerun="sentry-members members invite --from-csv {path}",
            journal=journal,
            verify=_invited_already if via == "invite" else None,
            refused=[(e.row or {"email": ""}, str(e)) for e in batch.errors],
            after=lambda report: _defer(report, deferred_csv),
        )
        return await run_bulk(settings, job)

    go(ctx, work)


async def _invite_rows(
    org: Org,
    text: io.StringIO | None,
    emails: tuple[str, ...],
    role: str,
    teams: tuple[str, ...],
    name: str | None,
) -> RowBatch[InviteRow]:
    """The rows to invite (from the CSV or the arguments), checked against the org's teams."""
    known = [t.slug async for t in org.teams.list(detailed=False)]
    if text is not None:
        batch = load_invite_rows(text, known_teams=known, name=name)
    else:
        records = [{"email": e, "role": role, "teams": list(teams)} for e in emails]
        batch = load_invite_rows(records, known_teams=known)
    for error in batch.errors:
        message = str(error)
        if text is None:  # positional e-mails are arguments, not rows
            message = message.replace(f"row {error.line}:", f"argument {error.line}:", 1)
        err.print(f"invalid: {terminal_text(message)}")
    return batch


@members.command("set-role")
@click.argument("member")
@click.argument("role")
@click.pass_context
def members_set_role(ctx: click.Context, member: str, role: str) -> None:
    """Give MEMBER (id or e-mail) the org ROLE."""

    async def work(settings: Settings) -> int:
        async with opened(settings) as (_, org):
            report = await org.bulk.set_roles([RoleRow(member, role.lower())])
        return _single(report, f"{member} (role {role.lower()})")

    go(ctx, work)


def _single(report: BulkReport[Any], what: str) -> int:
    outcome = report[0]
    if outcome.kind is OutcomeKind.FAILED:
        assert outcome.error is not None
        raise outcome.error
    if outcome.kind is OutcomeKind.NOT_FOUND:
        err.print(f"not found: no member or invite {terminal_text(what)}")
        return EX_NOT_FOUND
    click.echo(f"{outcome.kind.value}: {terminal_text(what)}")
    return 0


def _member_keys(members_: tuple[str, ...], from_csv: str | None) -> list[str]:
    if members_ and from_csv:
        raise click.UsageError("give members or --from-csv FILE, not both")
    if not members_ and not from_csv:
        raise click.UsageError("give members (ids or e-mails) or --from-csv FILE")
    if from_csv is None:
        return list(members_)
    keys = []
    for line, row in read_table(from_csv, ("member", "email")):
        key = row.get("member") or row.get("email") or ""
        if not key:
            raise ValidationError(f"{from_csv}: line {line}: no member (id or e-mail)")
        keys.append(key)
    return keys


@members.command("remove")
@click.argument("members_", metavar="[MEMBER]...", nargs=-1)
@click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(exists=True, dir_okay=False),
    help="Remove every row of FILE (column member or email: an id or an e-mail).",
)
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
@yes_option
@resume_option
@failed_option
@click.pass_context
def members_remove(
    ctx: click.Context,
    members_: tuple[str, ...],
    from_csv: str | None,
    idp_fallback: str | None,
    yes: bool,
    resume: bool,
    failed_csv: str | None,
) -> None:
    """Remove members or revoke invites (member ids or e-mails).

    On a terminal it asks first (--yes does not). A member the identity
    provider provisioned is refused by Sentry's members API; --idp-fallback
    scim removes them through SCIM, as does 'sentry-members scim users
    deactivate EMAIL'.
    """
    rows = _member_keys(members_, from_csv)
    shown = ", ".join(terminal_text(r) for r in rows[:3]) + (
        f" and {len(rows) - 3:,} more" if len(rows) > 3 else ""
    )
    confirm(f"remove {plural(len(rows), 'member')} ({shown}) from the organization?", yes)
    journal = journal_for(from_csv, "members remove", resume=resume)

    def after(report: BulkReport[Any]) -> int:
        through_scim = report.removed_via().get("scim", 0)
        if through_scim:
            err.print(f"{through_scim} provisioned by the identity provider: removed through SCIM")
        return 0

    bulk_command(
        ctx,
        BulkJob(
            "removing",
            "remove",
            rows,
            lambda org, todo, progress, fill: org.bulk.remove(
                todo,
                idp_fallback="scim" if idp_fallback == "scim" else None,
                progress=progress,
                **fill(org.bulk.remove),
            ),
            lambda key: str(key).lower(),
            failed_csv=failed_csv or "failed-members-remove.csv",
            rerun="sentry-members members remove --from-csv {path}",
            journal=journal,
            after=after,
        ),
    )
