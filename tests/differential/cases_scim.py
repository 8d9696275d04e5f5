"""Cases: SCIM 2.0 Users, Groups and Schemas (the SCIM token unless said)."""

from __future__ import annotations

from .cases_members import O, case, delete, fresh, get, post, put
from .engine import Step

__all__ = ["CASES"]

S = f"{O}/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def sget(path: str, token: str = "scim") -> Step:
    return get(f"{S}/{path}", token)


def spost(path: str, body: object, token: str = "scim") -> Step:
    return post(f"{S}/{path}", body, token)


def sput(path: str, body: object, token: str = "scim") -> Step:
    return put(f"{S}/{path}", body, token)


def spatch(path: str, body: object, token: str = "scim") -> Step:
    return Step("PATCH", f"{S}/{path}", token, body)


def sdelete(path: str, token: str = "scim") -> Step:
    return delete(f"{S}/{path}", token)


def user(email: str) -> dict[str, object]:
    return {"schemas": [USER], "userName": email, "emails": [{"value": email}], "active": True}


def ops(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def uid(email: str) -> str:
    return f"Users/{{m:{email}}}"


_USERS = [
    case("scim users: list", sget("Users")),
    case("scim users: a page", sget("Users?startIndex=1&count=5")),
    case("scim users: count=0", sget("Users?count=0")),
    case("scim users: startIndex=0", sget("Users?startIndex=0")),
    case("scim users: count not a number", sget("Users?count=abc")),
    case("scim users: past the end", sget("Users?startIndex=1000&count=5")),
    case("scim users: filter", sget('Users?filter=userName eq "member005@example.com"')),
    case(
        "scim users: filter, upper case", sget('Users?filter=userName eq "MEMBER005@example.com"')
    ),
    case("scim users: filter, nobody", sget('Users?filter=userName eq "nobody@example.com"')),
    case("scim users: bad filter", sget("Users?filter=userName sw member")),
    case("scim users: one", sget(uid("member005@example.com"))),
    case("scim users: a pending invite", sget(uid("invitee005@example.com"))),
    case("scim users: the owner", sget(uid("owner@example.com"))),
    case("scim users: unknown id", sget("Users/999999999")),
    case("scim users: id not a number", sget("Users/abc")),
    case("scim users: trailing slash", sget("Users/")),
    case("scim users: owner's user token", sget("Users?count=2", "owner")),
    case("scim users: read-only token", sget("Users?count=2", "readonly")),
    case("scim users: no token", sget("Users", "none")),
    case("scim users: outsider", sget("Users", "outsider")),
    case(
        "scim users: provision, again, read, deactivate, read",
        spost("Users", user(fresh("s1"))),
        spost("Users", user(fresh("s1"))),
        sget(uid(fresh("s1"))),
        spatch(uid(fresh("s1")), ops({"op": "replace", "value": {"active": False}})),
        sget(uid(fresh("s1"))),
    ),
    case(
        "scim users: provision with a role",
        spost("Users", {**user(fresh("s2")), "sentryOrgRole": "manager"}),
        sdelete(uid(fresh("s2"))),
    ),
    case("scim users: provision, bad e-mail", spost("Users", user("not-an-email"))),
    case("scim users: provision, no userName", spost("Users", {"schemas": [USER]})),
    case("scim users: provision an existing member", spost("Users", user("member060@example.com"))),
    case("scim users: provision a pending invite", spost("Users", user("invitee030@example.com"))),
    case(
        "scim users: PATCH a role",
        spost("Users", user(fresh("s3"))),
        spatch(
            uid(fresh("s3")), ops({"op": "replace", "path": "sentryOrgRole", "value": "manager"})
        ),
        sget(uid(fresh("s3"))),
        sdelete(uid(fresh("s3"))),
    ),
    case(
        "scim users: PATCH path active",
        spost("Users", user(fresh("s4"))),
        spatch(uid(fresh("s4")), ops({"op": "replace", "path": "active", "value": False})),
    ),
    case(
        "scim users: PATCH bad op",
        spatch(uid("member061@example.com"), ops({"op": "explode", "value": {}})),
    ),
    case("scim users: PATCH no operations", spatch(uid("member061@example.com"), {"schemas": []})),
    case(
        "scim users: PUT a role",
        spost("Users", user(fresh("s5"))),
        sput(uid(fresh("s5")), {**user(fresh("s5")), "sentryOrgRole": "manager"}),
        sget(uid(fresh("s5"))),
        sdelete(uid(fresh("s5"))),
    ),
    case(
        "scim users: delete, twice",
        spost("Users", user(fresh("s6"))),
        sdelete(uid(fresh("s6"))),
        sdelete(uid(fresh("s6"))),
    ),
    case("scim users: delete the last owner", sdelete(uid("owner@example.com"))),
    case("scim users: delete, read-only token", sdelete(uid("member062@example.com"), "readonly")),
]


def gid(slug: str) -> str:
    return f"Groups/{{t:{slug}}}"


_GROUPS = [
    case("scim groups: list", sget("Groups")),
    case("scim groups: without members", sget("Groups?excludedAttributes=members")),
    case("scim groups: a page", sget("Groups?startIndex=2&count=1")),
    case("scim groups: filter", sget('Groups?filter=displayName eq "backend"')),
    case("scim groups: bad filter", sget("Groups?filter=displayName co x")),
    case("scim groups: one", sget(gid("backend"))),
    case("scim groups: unknown id", sget("Groups/999999999")),
    case("scim groups: by slug", sget("Groups/backend")),
    case(
        "scim groups: provision, again, members, rename, delete",
        spost("Groups", {"displayName": "dx-{run}-g1", "members": []}),
        spost("Groups", {"displayName": "dx-{run}-g1", "members": []}),
        spatch(
            gid("dx-{run}-g1"),
            ops(
                {"op": "add", "path": "members", "value": [{"value": "{m:member070@example.com}"}]}
            ),
        ),
        sget(gid("dx-{run}-g1")),
        spatch(
            gid("dx-{run}-g1"),
            ops({"op": "remove", "path": 'members[value eq "{m:member070@example.com}"]'}),
        ),
        spatch(gid("dx-{run}-g1"), ops({"op": "replace", "value": {"displayName": "dx-{run}-g2"}})),
        sget(gid("dx-{run}-g2")),
        sdelete(gid("dx-{run}-g2")),
    ),
    case("scim groups: provision, no name", spost("Groups", {"members": []})),
    case(
        "scim groups: PATCH bad op",
        spost("Groups", {"displayName": "dx-{run}-g3", "members": []}),
        spatch(gid("dx-{run}-g3"), ops({"op": "explode", "path": "members", "value": []})),
        sdelete(gid("dx-{run}-g3")),
    ),
    case(
        "scim groups: PATCH an unknown member",
        spost("Groups", {"displayName": "dx-{run}-g4", "members": []}),
        spatch(
            gid("dx-{run}-g4"),
            ops({"op": "add", "path": "members", "value": [{"value": "999999999"}]}),
        ),
        sdelete(gid("dx-{run}-g4")),
    ),
    case("scim groups: PUT", sput(gid("backend"), {"displayName": "backend"})),
    case("scim groups: read-only token", sget("Groups", "readonly")),
]

_SCHEMAS = [
    case("scim schemas: list", sget("Schemas")),
    case("scim schemas: one", sget(f"Schemas/{USER}")),
    case("scim schemas: filter", sget("Schemas?filter=x")),
    case("scim schemas: owner's user token", sget("Schemas", "owner")),
]

CASES = _USERS + _GROUPS + _SCHEMAS
