"""Cases: authentication, unknown routes, trailing slashes and methods."""

from __future__ import annotations

from .cases_members import L, O, case, get, post
from .engine import Step

__all__ = ["CASES"]


def header(value: str, path: str = L) -> Step:
    return Step("GET", path, "none", headers={"Authorization": value})


_AUTH = [
    case("auth: no token", get(L, "none")),
    case("auth: bad token", get(L, "bad")),
    case("auth: bad token, details", get(f"{O}/members/me/", "bad")),
    case("auth: Bearer and nothing", header("Bearer")),
    case("auth: Bearer with spaces", header("Bearer a b")),
    case("auth: Basic", header("Basic dXNlcjpwYXNz")),
    case("auth: Token scheme", header("Token abc")),
    case("auth: no token, unknown org", get("/api/0/organizations/no-such-org/members/", "none")),
    case(
        "auth: outsider, unknown org", get("/api/0/organizations/no-such-org/members/", "outsider")
    ),
    case("auth: outsider, own org", get("/api/0/organizations/other/members/", "outsider")),
    case("auth: no token, teams", get(f"{O}/teams/", "none")),
]

_ROUTES = [
    case("slash: GET without it", get(f"{O}/members")),
    case("slash: POST JSON without it", post(f"{O}/members", {"email": "x@example.com"})),
    case("slash: GET details without it", get(f"{O}/members/me")),
    case("slash: no token, without it", get(f"{O}/teams", "none")),
    case("route: unknown, with a slash", get(f"{O}/no-such-thing/")),
    case("route: unknown, no token", get("/api/0/no-such-thing/", "none")),
    case("method: PATCH the list", Step("PATCH", L, body={})),
    case("method: DELETE the list", Step("DELETE", L)),
    case("method: POST a member's details", post(f"{O}/members/me/", {})),
    case("method: PUT the teams list", Step("PUT", f"{O}/teams/", body={})),
]

CASES = _AUTH + _ROUTES
