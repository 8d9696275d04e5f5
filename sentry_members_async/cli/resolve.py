"""``sentry-members resolve people.csv``: join the org with a people directory.

Prints the leavers still present (terminated, still a member or invited),
conflicts, unknown members and people without a membership, each match with
its evidence, then the guarded removal plan of the leavers. ``--apply``
removes them (asking first; ``--yes`` without asking). ``--aliases FILE``: an
alias table, a CSV of ``alias,email``. ``--json FILE`` writes the whole
resolution.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigurationError, ValidationError
from ..review import Match, Resolution, load_directory, resolve
from .common import Settings, failed_option, go, opened
from .output import Reporter, err, summary

__all__ = ["resolve_cmd"]


def _aliases(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    with Path(path).open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    table: dict[str, str] = {}
    for n, row in enumerate(rows, 1):
        if n == 1 and [c.strip().lower() for c in row[:2]] == ["alias", "email"]:
            continue
        if len(row) < 2 or "@" not in row[0] or "@" not in row[1]:
            raise ValidationError(f"{path}:{n}: expected alias,email")
        table[row[0].strip()] = row[1].strip()
    return table


def _match(m: Match) -> dict[str, Any]:
    return {
        "person": m.person.key,
        "memberId": m.member.member_id,
        "email": m.member.email,
        "pending": m.member.pending,
        "orgRole": m.member.org_role,
        "evidence": [str(e) for e in m.evidence],
    }


def _as_json(result: Resolution) -> dict[str, Any]:
    return {
        "org": result.org,
        "counts": result.counts(),
        "leavers": [_match(m) for m in result.leavers],
        "conflicts": [c.describe() for c in result.conflicts],
        "unknown": [{"memberId": m.member_id, "email": m.email} for m in result.unknown],
        "withoutMembership": [p.key for p in result.without_membership],
        "matched": [_match(m) for m in result.matched],
    }


def _print(result: Resolution) -> None:
    counts = result.counts()
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))
    for m in result.leavers:
        what = "invite" if m.member.pending else m.member.org_role
        click.echo(f"leaver still present: {m.person.key}: {m.member.email} ({what})")
        for evidence in m.evidence:
            click.echo(f"    {evidence}")
    for conflict in result.conflicts:
        click.echo(f"conflict: {conflict.describe()}")
    for member in result.unknown:
        click.echo(f"unknown member: {member.email} ({member.org_role})")
    for person in result.without_membership:
        click.echo(f"no membership: {person.key}")
    _, kept = result.guarded()
    for k in kept:
        click.echo(f"kept: {k.match.member.email}: {k.reason}")


def _write(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    err.print(f"wrote {path}", markup=False)


@click.command("resolve")
@click.argument("directory", type=click.Path(exists=True, dir_okay=False))
@click.option("--aliases", type=click.Path(exists=True, dir_okay=False), help="alias,email CSV.")
@click.option("--json", "json_out", metavar="FILE", help="Write the resolution as JSON.")
@click.option("--apply", "do_apply", is_flag=True, help="Remove the leavers (asks first).")
@click.option("--yes", is_flag=True, help="With --apply: do not ask.")
@failed_option
@click.pass_context
def resolve_cmd(
    ctx: click.Context,
    directory: str,
    aliases: str | None,
    json_out: str | None,
    do_apply: bool,
    yes: bool,
    failed_csv: str,
) -> None:
    """Match DIRECTORY (CSV or JSON: email, aliases, employee_id, status) with the org."""

    async def work(settings: Settings) -> int:
        people = load_directory(Path(directory), aliases=_aliases(aliases))
        async with opened(settings) as (client, org):
            result = await resolve(org, people)
            _print(result)
            if json_out:
                _write(json_out, _as_json(result))
            plan = result.plan()
            click.echo(plan.diff())
            if not do_apply or not plan:
                return 0
            if not yes:
                if not sys.stdin.isatty():
                    raise ConfigurationError("not a terminal: pass --yes to apply")
                click.confirm(f"remove {len(plan)} leavers?", abort=True)
            with Reporter("removing", len(plan), client, quiet=settings.quiet) as reporter:
                report = await org.apply(plan, progress=reporter.update)
        if not report:
            err.print("nothing was removed", markup=False)
        return summary(report, failed_csv=failed_csv, label="resolve")

    go(ctx, work)
