"""A review as evidence: JSON (schema :data:`.snapshot.SCHEMA`), CSV, and back.

The CSV neutralises formula cells as OWASP's "CSV Injection" page advises: a
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with ``'`` so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from .diff import ReviewDiff
from .snapshot import SCHEMA, Completeness, Review, ReviewMember, ReviewTeam, parse_time

__all__ = ["CSV_COLUMNS", "load_review", "review_csv", "review_json", "safe_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "member_id", "email", "name", "org_role", "pending", "expired", "invite_status",
    "invite_age_days", "inviter", "user_id", "user_email", "verified_emails",
    "unverified_emails", "has_2fa", "sso_linked", "sso_invalid", "idp_provisioned",
    "idp_role_restricted", "teams", "account_last_login", "account_last_active",
    "date_created",
)  # fmt: skip


def safe_cell(value: object) -> str:
    """``value`` as CSV text that a spreadsheet never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _when(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _row(m: ReviewMember, at: dt.datetime) -> list[str]:
    age = m.invite_age_days(at)
    teams = ";".join(f"{slug}:{role}" if role else slug for slug, role in m.teams)
    values: list[object] = [
        m.member_id, m.email, m.name, m.org_role, m.pending, m.expired, m.invite_status,
        f"{age:.1f}" if age is not None else None, m.inviter_name, m.user_id, m.user_email,
        ";".join(e for e, v in m.emails if v), ";".join(e for e, v in m.emails if not v),
        m.has_2fa, m.sso_linked, m.sso_invalid, m.idp_provisioned, m.idp_role_restricted,
        teams, _when(m.last_login), _when(m.last_active), _when(m.date_created),
    ]  # fmt: skip
    return [safe_cell(v) for v in values]


def review_csv(review: Review) -> str:
    """One row per member or invite; ``account_*`` columns are account-wide, not per org."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for member in review.members:
        writer.writerow(_row(member, review.finished_at))
    return out.getvalue()


def review_json(review: Review, diff: ReviewDiff | None = None) -> dict[str, Any]:
    """The whole review as JSON-ready data (schema ``sentry-members-review/1``)."""
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "org": review.org,
        "startedAt": review.started_at.isoformat(),
        "finishedAt": review.finished_at.isoformat(),
        "contentHash": review.content_hash,
        "hashAlgorithm": "sha256 of the canonical JSON (sorted keys, no spaces) of"
        " {org, members, teams[slug, teamId, memberCount]}",
        "note": "accountLastLogin and accountLastActive are the account's, across every"
        " organization, not activity in this one (Sentry does not record that)",
        "summary": review.summary.to_json(),
        "completeness": review.completeness.to_json() if review.completeness else None,
        "findings": {
            name: [m.member_id for m in found] for name, found in review.findings().items()
        },
        "members": [m.to_json() for m in review.members],
        "teams": [t.to_json() for t in review.teams],
    }
    if diff is not None:
        data["diff"] = diff.to_json()
    return data


def _completeness(data: Mapping[str, Any] | None) -> Completeness | None:
    if not data:
        return None
    return Completeness(
        members_walked=int(data.get("membersWalked", 0)),
        members_at_end=int(data.get("membersAtEnd", 0)),
        member_pages=int(data.get("memberPages", 0)),
        team_pages=int(data.get("teamPages", 0)),
        requests=int(data.get("requests", 0)),
        rounds=int(data.get("rounds", 1)),
        teams_complete=bool(data.get("teamsComplete")),
        consistent=bool(data.get("consistent")),
    )


def load_review(text: str | bytes) -> Review:
    """A review from its JSON export; refuses another schema or a hash that does not match."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"not a review file: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith(
        SCHEMA.rsplit("/", 1)[0] + "/"
    ):
        raise ValidationError(f"not a review file (schema {SCHEMA} expected)")
    if data["schema"].rsplit("/", 1)[1].split(".")[0] != SCHEMA.rsplit("/", 1)[1]:
        raise ValidationError(f"review schema {data['schema']} is not {SCHEMA}")
    started = parse_time(data.get("startedAt"))
    finished = parse_time(data.get("finishedAt"))
    if started is None or finished is None:
        raise ValidationError("a review file needs startedAt and finishedAt")
    review = Review(
        org=data["org"],
        started_at=started,
        finished_at=finished,
        members=tuple(ReviewMember.from_json(m) for m in data.get("members", [])),
        teams=tuple(ReviewTeam.from_json(t) for t in data.get("teams", [])),
        completeness=_completeness(data.get("completeness")),
    )
    if data.get("contentHash") and data["contentHash"] != review.content_hash:
        raise ValidationError(
            "the review file was changed after it was written (its content hash does not match)"
        )
    return review
