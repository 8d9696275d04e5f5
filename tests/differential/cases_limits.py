"""Cases: rate-limit answers. The daily invite quota on the main server (its
counter set at the limit first: ``Case.quota_full``); the generic request
limiter on a server that has it on (``variant="ratelimit"``: bursts until the
429); and a self-hosted server, which sends no rate-limit headers at all.

Paths here hold no ``{m:...}`` placeholder: looking an id up is a request too,
and on the rate-limited server it would spend the window.
"""

from __future__ import annotations

from .cases_members import L, O, case, fresh, post
from .engine import Case, Step

__all__ = ["CASES"]


def burst(method: str, path: str, token: str = "owner", body: object = None) -> Step:
    return Step(method, path, token, body, burst=12)


def limited(name: str, *steps: Step) -> Case:
    return Case(name, steps, variant="ratelimit")


def hosted(name: str, *steps: Step, quota_full: bool = False) -> Case:
    return Case(name, steps, quota_full=quota_full, variant="selfhosted")


_QUOTA = [
    case(
        "quota: a bad address is refused first",
        post(L, {"email": "not-an-email"}),
        quota_full=True,
    ),
    case(
        "quota: SCIM provisioning",
        post(f"{O}/scim/v2/Users", {"userName": fresh("q-scim"), "active": True}, "scim"),
        quota_full=True,
    ),
    case(
        "quota: a member's address",
        post(L, {"email": "member090@example.com"}),
        quota_full=True,
    ),
]

_LIMITER = [
    limited("limiter: GET burst", burst("GET", f"{L}?per_page=1")),
    limited("limiter: GET burst, read-only", burst("GET", f"{O}/teams/", "readonly")),
    limited("limiter: POST burst", burst("POST", L, body={})),
    limited("limiter: PUT burst", burst("PUT", f"{O}/members/me/", body={})),
    limited("limiter: SCIM burst", burst("GET", f"{O}/scim/v2/Users?count=1", "scim")),
    limited("limiter: no token burst", burst("GET", L, "none")),
    limited("limiter: bad token burst", burst("GET", L, "bad")),
    limited("limiter: trailing slash burst", burst("GET", f"{O}/members")),
]

_SELF_HOSTED = [
    hosted("self-hosted: list", Step("GET", f"{L}?per_page=2")),
    hosted("self-hosted: details", Step("GET", f"{O}/members/me/")),
    hosted("self-hosted: no token", Step("GET", L, "none")),
    hosted("self-hosted: teams", Step("GET", f"{O}/teams/", "readonly")),
    hosted("self-hosted: SCIM", Step("GET", f"{O}/scim/v2/Users?count=1", "scim")),
    hosted("self-hosted: trailing slash", Step("GET", f"{O}/members")),
    hosted("self-hosted: no limiter", Step("GET", f"{L}?per_page=1", repeat=12)),
    hosted(
        "self-hosted: invite quota",
        Step("POST", L, body={"email": fresh("hq"), "sendInvite": False}),
        quota_full=True,
    ),
]

CASES = _QUOTA + _LIMITER + _SELF_HOSTED
