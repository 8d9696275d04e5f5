"""A review as one self-contained HTML page a reviewer can open and sign off.

The summary, charts drawn as inline SVG (roles, 2FA and SSO coverage, invite
age), the findings (owners without 2FA, stale invites, members without a
team), the diff against the previous review and the completeness proof. No
script, no style sheet, font or image from anywhere else: the page names no
network address at all. Every string that comes from Sentry or from the
caller is HTML-escaped (:func:`html.escape`, quotes included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape

from .diff import ReviewDiff
from .snapshot import Review, ReviewMember, Summary

__all__ = ["review_html"]

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#57606a;font-size:12px}.tiles{display:flex;flex-wrap:wrap;gap:10px}
.tile{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:120px}
.tile b{display:block;font-size:22px}.tile.warn b{color:#cf222e}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{border:1px solid #d0d7de;border-radius:6px;
padding:8px}table{border-collapse:collapse;margin-top:6px}td,th{border:1px solid #d0d7de;
padding:3px 8px;text-align:left;font-size:13px}th{background:#f6f8fa}
.ok{color:#1a7f37}.bad{color:#cf222e}code{font-size:12px}
"""

_TILES = (
    ("members", "Members and invites", False),
    ("accepted", "Accepted", False),
    ("pending", "Pending invites", False),
    ("owners", "Owners", False),
    ("managers", "Managers", False),
    ("without2fa", "Without 2FA", True),
    ("ownersWithout2fa", "Owners without 2FA", True),
    ("ssoNotLinked", "SSO not linked", True),
    ("ssoInvalid", "SSO invalid", True),
    ("idpProvisioned", "IdP-provisioned", False),
    ("invitesOlderThan7Days", "Invites older than 7 days", True),
    ("invitesOlderThan30Days", "Invites older than 30 days", True),
    ("expired", "Expired invites", True),
    ("withoutTeam", "Members without a team", True),
)
_COLOURS = ("#0969da", "#1a7f37", "#9a6700", "#cf222e", "#8250df", "#57606a", "#bf3989")


_GOOD, _WARN, _BAD = "#1a7f37", "#9a6700", "#cf222e"
_DIFF_WORDS = {
    "joined": "joined",
    "left": "left",
    "roleChanged": "changed role",
    "lost2fa": "lost 2FA",
    "lostSso": "lost SSO",
}


def _bars(
    title: str, key: str, rows: Sequence[tuple[str, int]], colours: Sequence[str] = _COLOURS
) -> str:
    """A horizontal bar chart as inline SVG; each bar carries its value as text."""
    width, bar, gap, label = 380, 18, 8, 150
    top = max((v for _, v in rows), default=0) or 1
    height = 30 + len(rows) * (bar + gap)
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" data-chart="{escape(key)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for n, (name, value) in enumerate(rows):
        y = 28 + n * (bar + gap)
        length = round((width - label - 50) * value / top)
        colour = colours[n % len(colours)]
        parts += [
            f'<text x="0" y="{y + 13}" font-size="12">{escape(name)}</text>',
            f'<rect x="{label}" y="{y}" width="{max(length, 1)}" height="{bar}" '
            f'fill="{colour}"><title>{escape(name)}: {value}</title></rect>',
            f'<text x="{label + length + 6}" y="{y + 13}" font-size="12" '
            f'data-value="{escape(key)}:{escape(name)}">{value}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _age_rows(review: Review) -> list[tuple[str, int]]:
    at = review.finished_at
    buckets = {"up to 7 days": 0, "7 to 30 days": 0, "over 30 days": 0}
    for m in review.members:
        age = m.invite_age_days(at)
        if age is None:
            continue
        key = "up to 7 days" if age <= 7 else "7 to 30 days" if age <= 30 else "over 30 days"
        buckets[key] += 1
    return list(buckets.items())


def _charts(review: Review, s: Summary) -> str:
    charts = [
        _bars("Org roles", "roles", sorted(s.roles.items(), key=lambda kv: (-kv[1], kv[0]))),
        _bars(
            "2FA (accepted members)",
            "2fa",
            [("with 2FA", s.accepted - s.without_2fa), ("without 2FA", s.without_2fa)],
            (_GOOD, _BAD),
        ),
        _bars(
            "SSO (accepted members)",
            "sso",
            [
                ("linked", s.accepted - s.sso_not_linked),
                ("not linked", s.sso_not_linked),
                ("invalid", s.sso_invalid),
            ],
            (_GOOD, _WARN, _BAD),
        ),
        _bars("Invite age", "invite-age", _age_rows(review), (_GOOD, _WARN, _BAD)),
    ]
    return (
        '<div class="charts">' + "".join(f'<div class="chart">{c}</div>' for c in charts) + "</div>"
    )


def _table(head: Sequence[str], rows: Iterable[Sequence[object]], key: str) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    cols = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<table data-table="{escape(key)}"><tr>{cols}</tr>{body}</table>'


def _day(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def _findings(review: Review) -> str:
    at = review.finished_at
    rows: list[tuple[str, ReviewMember, str]] = []
    found = review.findings()
    for m in found["ownersWithout2fa"]:
        rows.append(("Owner without 2FA", m, "account has no second factor"))
    for m in found["staleInvites"]:
        age = m.invite_age_days(at) or 0.0
        state = "expired" if m.expired else "pending"
        rows.append(
            ("Stale invite", m, f"{state}, sent {age:.0f} days ago by {m.inviter_name or '?'}")
        )
    for m in found["withoutTeam"]:
        rows.append(("Member without a team", m, "on no team"))
    if not rows:
        return "<p>No findings.</p>"
    return _table(
        ("Finding", "E-mail", "Name", "Org role", "Detail", "Member id"),
        ((f, m.email, m.name, m.org_role, d, m.member_id) for f, m, d in rows),
        "findings",
    )


def _diff(diff: ReviewDiff | None) -> str:
    if diff is None:
        return "<p>No previous review was given.</p>"
    counts = diff.counts()
    head = (
        f"<p>Against the review of {escape(diff.previous_finished_at)} "
        f"(hash <code>{escape(diff.previous_hash)}</code>): "
        + ", ".join(
            f'<span data-diff="{escape(k)}">{v}</span> {escape(_DIFF_WORDS.get(k, k))}'
            for k, v in counts.items()
        )
        + ".</p>"
    )
    rows: list[tuple[str, str, str]] = []
    rows += [("joined", m.email, m.org_role) for m in diff.joined]
    rows += [("left", m.email, m.org_role) for m in diff.left]
    rows += [("role changed", c.email, f"{c.before} to {c.after}") for c in diff.role_changed]
    rows += [("lost 2FA", m.email, m.org_role) for m in diff.lost_2fa]
    rows += [("lost SSO", m.email, m.org_role) for m in diff.lost_sso]
    return head + (_table(("Change", "E-mail", "Detail"), rows, "diff") if rows else "")


def _proof(review: Review) -> str:
    c = review.completeness
    if c is None:
        return "<p>No completeness proof (a review read from a file without one).</p>"
    verdict = (
        '<b class="ok">complete and consistent</b>'
        if c.consistent and c.teams_complete
        else '<b class="bad">not proven complete</b>'
    )
    lines = [
        f"<p>{verdict}: {c.members_walked} members on {c.member_pages} pages walked, "
        f"{c.members_at_end} counted at the end; {c.team_pages} team list pages, every team "
        f"list {'read to its end' if c.teams_complete else 'NOT read to its end'}; "
        f"{c.requests} requests in {c.rounds} reading(s).</p>"
    ]
    changed = c.changed
    if changed:
        lines.append(
            "<p>Changed while the review ran: "
            f"{len(changed.appeared)} appeared, {len(changed.disappeared)} disappeared.</p>"
        )
        lines.append("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in changed.signs) + "</ul>")
    lines.append(f"<p>Content hash (SHA-256): <code>{escape(review.content_hash)}</code></p>")
    return "".join(lines)


def review_html(review: Review, diff: ReviewDiff | None = None) -> str:
    """The review as a single HTML page, with no reference to any network resource."""
    s = review.summary
    data = s.to_json()
    tiles = "".join(
        f'<div class="tile{" warn" if warn and data[key] else ""}">{escape(label)}'
        f'<b data-summary="{escape(key)}">{data[key]}</b></div>'
        for key, label, warn in _TILES
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Access review: {escape(review.org)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Access review: {escape(review.org)}</h1>"
        f'<p class="meta">Read from {escape(review.started_at.isoformat())} to '
        f"{escape(review.finished_at.isoformat())}. Last login and last activity are the "
        "account's, across every organization, not activity in this one.</p>"
        f'<h2>Summary</h2><div class="tiles">{tiles}</div>'
        f"<h2>Charts</h2>{_charts(review, s)}"
        f"<h2>Findings</h2>{_findings(review)}"
        f"<h2>Changes since the previous review</h2>{_diff(diff)}"
        f"<h2>Completeness</h2>{_proof(review)}"
        "<h2>Sign-off</h2><p>Reviewed by: ____________________ Date: __________</p>"
        "</body></html>"
    )
