"""Cases: teams, a team's members, and a member on a team."""

from __future__ import annotations

from .cases_members import O, case, delete, get, m, post, put
from .engine import Step

__all__ = ["CASES"]

TEAMS = f"{O}/teams/"


def t(slug: str, tail: str = "") -> str:
    return f"/api/0/teams/acme/{slug}/{tail}"


def on(email: str, team: str) -> str:
    """A member on a team: ``members/{id}/teams/{slug}/``."""
    return m(email, f"teams/{team}/")


_TEAMS = [
    case("teams: list", get(TEAMS)),
    case("teams: per_page=1", get(f"{TEAMS}?per_page=1")),
    case("teams: second page", get(f"{TEAMS}?per_page=1&cursor=1:1:0")),
    case("teams: query slug", get(f"{TEAMS}?query=slug:backend")),
    case("teams: free text", get(f"{TEAMS}?query=front")),
    case("teams: not detailed", get(f"{TEAMS}?detailed=0")),
    case("teams: read-only token", get(TEAMS, "readonly")),
    case("teams: outsider", get(TEAMS, "outsider")),
    case("teams: SCIM token", get(TEAMS, "scim")),
    case(
        "teams: create, again, delete, read",
        post(TEAMS, {"slug": "dx-{run}-a"}),
        post(TEAMS, {"slug": "dx-{run}-a"}),
        delete(t("dx-{run}-a")),
        get(t("dx-{run}-a")),
    ),
    case(
        "teams: create from a name",
        post(TEAMS, {"name": "DX {run} Named"}),
        get(t("dx-{run}-named")),
        delete(t("dx-{run}-named")),
    ),
    case("teams: create, empty body", post(TEAMS, {})),
    case("teams: create, bad slug", post(TEAMS, {"slug": "Bad Slug!"})),
    case("teams: create, numeric slug", post(TEAMS, {"slug": "12345"})),
    case("teams: create, long slug", post(TEAMS, {"slug": "x" * 60})),
    case("teams: create, long name", post(TEAMS, {"slug": "dx-{run}-long", "name": "n" * 70})),
    case("teams: create, read-only token", post(TEAMS, {"slug": "dx-{run}-ro"}, "readonly")),
    case("teams: create, SCIM token", post(TEAMS, {"slug": "dx-{run}-scim"}, "scim")),
    case("team: details", get(t("backend"))),
    case("team: details, read-only", get(t("frontend"), "readonly")),
    case("team: unknown", get(t("no-such-team"))),
    case("team: unknown org", get("/api/0/teams/no-such-org/backend/")),
    case(
        "team: rename and back",
        put(t("frontend"), {"name": "Front End"}),
        put(t("frontend"), {"name": "Frontend"}),
    ),
    case("team: slug taken", put(t("frontend"), {"slug": "backend"})),
    case("team: bad slug", put(t("frontend"), {"slug": "Bad Slug"})),
    case("team: update, read-only", put(t("frontend"), {"name": "x"}, "readonly")),
    case("team: delete, read-only", delete(t("frontend"), "readonly")),
    case("team: delete, outsider", delete(t("frontend"), "outsider")),
    case("team members: backend", get(t("backend", "members/"))),
    case("team members: per_page=5", get(t("backend", "members/?per_page=5"))),
    case("team members: unknown team", get(t("no-such-team", "members/"))),
]

_ON_TEAM = [
    case(
        "member team: join, again, leave, again",
        post(on("member050@example.com", "frontend")),
        post(on("member050@example.com", "frontend")),
        delete(on("member050@example.com", "frontend")),
        delete(on("member050@example.com", "frontend")),
    ),
    case("member team: unknown team", post(on("member051@example.com", "no-such-team"))),
    case("member team: unknown member", post(f"{O}/members/999999999/teams/backend/")),
    case("member team: read", get(on("member001@example.com", "backend"))),
    case("member team: read, not on it", get(on("member001@example.com", "frontend"))),
    case(
        "member team: team admin and back",
        put(on("member002@example.com", "backend"), {"teamRole": "admin"}),
        put(on("member002@example.com", "backend"), {"teamRole": "contributor"}),
    ),
    case(
        "member team: bad team role", put(on("member003@example.com", "backend"), {"teamRole": "x"})
    ),
    case(
        "member team: role where not on the team",
        put(on("member004@example.com", "frontend"), {"teamRole": "admin"}),
    ),
    case(
        "member team: read-only joins and leaves",
        post(f"{O}/members/me/teams/frontend/", token="readonly"),
        delete(f"{O}/members/me/teams/frontend/", token="readonly"),
    ),
    case(
        "member team: read-only adds another",
        post(on("member052@example.com", "frontend"), token="readonly"),
    ),
    case("member team: outsider", post(on("member053@example.com", "frontend"), token="outsider")),
    case(
        "member team: a pending invite joins",
        post(on("invitee020@example.com", "frontend")),
        delete(on("invitee020@example.com", "frontend")),
    ),
    case("member team: SCIM token", post(on("member054@example.com", "frontend"), token="scim")),
    case(
        "member team: bad JSON",
        Step("PUT", on("member005@example.com", "backend"), raw=b"[1,"),
    ),
]

CASES = _TEAMS + _ON_TEAM
