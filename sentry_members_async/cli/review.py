"""``sentry-members review``: an access review of the org, as evidence files.

Prints the summary counts and whether the reading is proven complete; writes
the JSON (``--json``), CSV (``--csv``) and HTML (``--html``) exports; with
``--against previous.json`` compares with an earlier review (joined, left,
role changes, 2FA or SSO lost). Exit code 0, or 1 when the review could not be
proven complete (the org kept changing while it was read).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..review import (
    Review,
    ReviewDiff,
    diff_reviews,
    load_review,
    review,
    review_csv,
    review_html,
    review_json,
)
from .common import Settings, go, opened
from .output import err

__all__ = ["review_cmd"]

_LABELS = {
    "members": "members and invites",
    "accepted": "accepted",
    "pending": "pending invites",
    "owners": "owners",
    "managers": "managers",
    "without2fa": "without 2FA",
    "ownersWithout2fa": "owners without 2FA",
    "ssoNotLinked": "SSO not linked",
    "ssoInvalid": "SSO invalid",
    "idpProvisioned": "IdP-provisioned",
    "invitesOlderThan7Days": "invites older than 7 days",
    "invitesOlderThan30Days": "invites older than 30 days",
    "expired": "expired invites",
    "withoutTeam": "members without a team",
}


def _print(result: Review, diff: ReviewDiff | None) -> None:
    data = result.summary.to_json()
    table = Table(title=f"access review of {result.org}", show_header=False)
    for key, label in _LABELS.items():
        table.add_row(label, str(data[key]))
    if diff is not None:
        for key, value in diff.counts().items():
            table.add_row(f"since the previous review: {key}", str(value))
    Console().print(table)
    proof = result.completeness
    if proof is not None:
        verdict = "complete" if proof.consistent and proof.teams_complete else "NOT proven complete"
        click.echo(
            f"{verdict}: {proof.members_walked} members on {proof.member_pages} pages, "
            f"{proof.members_at_end} counted at the end, {proof.team_pages} team list pages, "
            f"{proof.requests} requests, {proof.rounds} reading(s)"
        )
        for sign in proof.changed.signs:
            err.print(f"changed while reading: {sign}", markup=False)
    click.echo(f"sha256 {result.content_hash}")


def _write(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")
    err.print(f"wrote {path}", markup=False)


def _previous(path: str | None) -> Review | None:
    return load_review(Path(path).read_bytes()) if path else None


@click.command("review")
@click.option("--json", "json_out", metavar="FILE", help="Write the review as JSON.")
@click.option("--csv", "csv_out", metavar="FILE", help="Write one CSV row per member.")
@click.option("--html", "html_out", metavar="FILE", help="Write the HTML report.")
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False),
    metavar="PREVIOUS.json",
    help="Compare with an earlier review's JSON.",
)
@click.pass_context
def review_cmd(
    ctx: click.Context,
    json_out: str | None,
    csv_out: str | None,
    html_out: str | None,
    against: str | None,
) -> None:
    """Review who has access: roles, teams, 2FA, SSO, invites; export the evidence."""

    async def work(settings: Settings) -> int:
        previous = _previous(against)
        async with opened(settings) as (_, org):
            result = await review(org)
        diff = diff_reviews(previous, result) if previous is not None else None
        _print(result, diff)
        if json_out:
            _write(json_out, json.dumps(review_json(result, diff), indent=2, ensure_ascii=False))
        if csv_out:
            _write(csv_out, review_csv(result))
        if html_out:
            _write(html_out, review_html(result, diff))
        proof = result.completeness
        return 0 if proof is None or (proof.consistent and proof.teams_complete) else 1

    go(ctx, work)
