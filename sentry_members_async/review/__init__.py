"""Access reviews: one complete, checked snapshot of an organization, as evidence.

``await review(acme)`` reads every member and pending invite with its org
role, teams and team roles (from the team member lists: one request per page,
never one per member), 2FA, SSO and IdP flags, invite age and inviter, and the
account's last login and activity (account-wide: Sentry has no per-org
activity). The :class:`Review` carries summary counts, findings, a proof of
completeness and a content hash; :func:`diff_reviews` compares it with an
earlier one; :func:`review_json`, :func:`review_csv` and :func:`review_html`
export it. ``await resolve(acme, load_directory("people.csv"))`` joins the org
with a people directory on every address Sentry holds, and turns the leavers
still present into a guarded removal plan.
"""

from __future__ import annotations

from .build import review
from .diff import ReviewDiff, RoleChange, diff_reviews
from .directory import Directory, Person, load_directory
from .export import load_review, review_csv, review_json, safe_cell
from .html import review_html
from .resolve import Conflict, Evidence, Kept, Match, Resolution, resolve
from .snapshot import (
    SCHEMA,
    Changes,
    Completeness,
    Review,
    ReviewMember,
    ReviewTeam,
    Summary,
)

__all__ = [
    "SCHEMA",
    "Changes",
    "Completeness",
    "Conflict",
    "Directory",
    "Evidence",
    "Kept",
    "Match",
    "Person",
    "Resolution",
    "Review",
    "ReviewDiff",
    "ReviewMember",
    "ReviewTeam",
    "RoleChange",
    "Summary",
    "diff_reviews",
    "load_directory",
    "load_review",
    "resolve",
    "review",
    "review_csv",
    "review_html",
    "review_json",
    "safe_cell",
]
