"""Cases: the member list, a member's details, invites, updates and removals.

The org is ``tools/live/seed.py``'s: ``owner@example.com`` (owner, on
``backend``), ``reader@example.com`` (member; the read-only token's user),
``member000..198@example.com`` (000-019 on ``backend``), ``manager@example.com``,
pending ``invitee000..048@example.com``. Cases that change a seeded member put
it back; new people and teams carry ``{run}`` so every run starts fresh.
"""

from __future__ import annotations

from .engine import Case, Step

__all__ = ["CASES"]

O = "/api/0/organizations/acme"  # noqa: E741 - the org's path, everywhere below
L = f"{O}/members/"


def m(email: str, tail: str = "") -> str:
    """The details path of the member with ``email``."""
    return f"{O}/members/{{m:{email}}}/{tail}"


def get(path: str, token: str = "owner") -> Step:
    return Step("GET", path, token)


def post(path: str, body: object = None, token: str = "owner") -> Step:
    return Step("POST", path, token, body)


def put(path: str, body: object = None, token: str = "owner") -> Step:
    return Step("PUT", path, token, body)


def delete(path: str, token: str = "owner") -> Step:
    return Step("DELETE", path, token)


def case(name: str, *steps: Step, quota_full: bool = False) -> Case:
    return Case(name, steps, quota_full=quota_full)


def fresh(name: str) -> str:
    return f"dx-{{run}}-{name}@example.com"


_LIST = [
    case("list: first page", get(L)),
    case("list: per_page=1", get(f"{L}?per_page=1")),
    case("list: second page", get(f"{L}?per_page=100&cursor=100:1:0")),
    case("list: last page", get(f"{L}?per_page=100&cursor=100:2:0")),
    case("list: past the end", get(f"{L}?per_page=100&cursor=100:9:0")),
    case("list: previous cursor", get(f"{L}?per_page=10&cursor=10:2:1")),
    case("list: cursor 0:0:0", get(f"{L}?cursor=0:0:0")),
    case("list: per_page=0", get(f"{L}?per_page=0")),
    case("list: per_page=101", get(f"{L}?per_page=101")),
    case("list: per_page=abc", get(f"{L}?per_page=abc")),
    case("list: per_page=-1", get(f"{L}?per_page=-1")),
    case("list: cursor=bad", get(f"{L}?cursor=bad")),
    case("list: negative cursor", get(f"{L}?cursor=100:-1:0")),
    case("list: query email", get(f"{L}?query=email:member005@example.com")),
    case("list: query email upper case", get(f"{L}?query=email:MEMBER005@EXAMPLE.COM")),
    case("list: query role", get(f"{L}?query=role:manager")),
    case("list: query invited", get(f"{L}?query=isInvited:true&per_page=5")),
    case("list: query not invited", get(f"{L}?query=isInvited:false&per_page=5")),
    case("list: free text", get(f"{L}?query=member01")),
    case("list: unknown query key", get(f"{L}?query=colour:blue")),
    case("list: query id", get(f"{L}?query=id:{{m:member001@example.com}}")),
    case("list: query scope", get(f"{L}?query=scope:member:admin")),
    case("list: query ssoLinked", get(f"{L}?query=ssoLinked:false&per_page=3")),
    case("list: query has2fa", get(f"{L}?query=has2fa:false&per_page=3")),
    case("list: read-only token", get(f"{L}?per_page=5", "readonly")),
    case("list: SCIM token", get(f"{L}?per_page=5", "scim")),
    case("list: unknown org", get("/api/0/organizations/no-such-org/members/")),
]

_DETAILS = [
    case("details: me", get(f"{O}/members/me/")),
    case("details: me, read-only", get(f"{O}/members/me/", "readonly")),
    case("details: a member", get(m("member005@example.com"))),
    case("details: a manager", get(m("manager@example.com"))),
    case("details: a pending invite", get(m("invitee005@example.com"))),
    case("details: another member, read-only", get(m("member006@example.com"), "readonly")),
    case("details: unknown id", get(f"{O}/members/999999999/")),
    case("details: id not a number", get(f"{O}/members/abc/")),
    case("details: me with the SCIM token", get(f"{O}/members/me/", "scim")),
    case("details: outsider", get(m("member005@example.com"), "outsider")),
]

_INVITE = [
    case("invite: no role", post(L, {"email": fresh("plain"), "sendInvite": False})),
    case("invite: orgRole manager", post(L, {"email": fresh("orgrole"), "orgRole": "manager"})),
    case("invite: role manager", post(L, {"email": fresh("role"), "role": "manager"})),
    case(
        "invite: role and orgRole",
        post(L, {"email": fresh("both"), "role": "manager", "orgRole": "manager"}),
    ),
    case("invite: retired admin", post(L, {"email": fresh("admin"), "role": "admin"})),
    case("invite: owner", post(L, {"email": fresh("owner"), "role": "owner"})),
    case("invite: orgRole not a role", post(L, {"email": fresh("bogus1"), "orgRole": "boss"})),
    case("invite: role not a role", post(L, {"email": fresh("bogus2"), "role": "boss"})),
    case("invite: with teams", post(L, {"email": fresh("teams"), "teams": ["backend"]})),
    case("invite: unknown team", post(L, {"email": fresh("noteam"), "teams": ["nope"]})),
    case(
        "invite: team roles",
        post(L, {"email": fresh("tr"), "teamRoles": [{"teamSlug": "backend", "role": "admin"}]}),
    ),
    case(
        "invite: bad team role",
        post(L, {"email": fresh("tr2"), "teamRoles": [{"teamSlug": "backend", "role": "boss"}]}),
    ),
    case(
        "invite: billing with teams",
        post(L, {"email": fresh("billing"), "role": "billing", "teams": ["backend"]}),
    ),
    case("invite: no email", post(L, {"role": "member"})),
    case("invite: bad email", post(L, {"email": "not-an-email"})),
    case("invite: email too long", post(L, {"email": "x" * 70 + "@example.com"})),
    case("invite: a member", post(L, {"email": "member010@example.com"})),
    case("invite: a member, upper case", post(L, {"email": "MEMBER011@example.com"})),
    case("invite: a pending invitee", post(L, {"email": "invitee003@example.com"})),
    case(
        "invite: twice",
        post(L, {"email": fresh("twice"), "sendInvite": False}),
        post(L, {"email": fresh("twice"), "sendInvite": False}),
    ),
    case("invite: sendInvite not a boolean", post(L, {"email": fresh("sb"), "sendInvite": "x"})),
    case("invite: read-only token", post(L, {"email": fresh("ro")}, "readonly")),
    case("invite: outsider", post(L, {"email": fresh("out")}, "outsider")),
    case("invite: SCIM token", post(L, {"email": fresh("scim")}, "scim")),
    case("invite: no token", post(L, {"email": fresh("anon")}, "none")),
    case("invite: bad JSON", Step("POST", L, raw=b'{"email": ')),
    case("invite: a JSON list", post(L, [{"email": fresh("list")}])),
    case(
        "invite: quota reached",
        post(L, {"email": fresh("quota"), "sendInvite": False}),
        quota_full=True,
    ),
    case(
        "invite: then read it back",
        post(L, {"email": fresh("readback"), "role": "manager", "sendInvite": False}),
        get(m(fresh("readback"))),
        get(f"{L}?query=email:{fresh('readback')}"),
    ),
]

_UPDATE = [
    case(
        "update: a pending invite's role",
        post(L, {"email": fresh("upd"), "sendInvite": False}),
        put(m(fresh("upd")), {"orgRole": "manager"}),
        get(m(fresh("upd"))),
    ),
    case(
        "update: deprecated role key",
        post(L, {"email": fresh("upd2"), "sendInvite": False}),
        put(m(fresh("upd2")), {"role": "manager"}),
    ),
    case("update: retired admin", put(m("member020@example.com"), {"orgRole": "admin"})),
    case("update: orgRole not a role", put(m("member020@example.com"), {"orgRole": "boss"})),
    case("update: role not a role", put(m("member020@example.com"), {"role": "boss"})),
    case(
        "update: manager and back",
        put(m("member021@example.com"), {"orgRole": "manager"}),
        put(m("member021@example.com"), {"orgRole": "member"}),
    ),
    case(
        "update: teams and back",
        put(m("member030@example.com"), {"teams": ["backend", "frontend"]}),
        get(m("member030@example.com")),
        put(m("member030@example.com"), {"teams": []}),
    ),
    case(
        "update: team roles and back",
        put(m("member031@example.com"), {"teamRoles": [{"teamSlug": "frontend", "role": "admin"}]}),
        get(m("member031@example.com")),
        put(m("member031@example.com"), {"teamRoles": []}),
    ),
    case("update: unknown team", put(m("member032@example.com"), {"teams": ["nope"]})),
    case("update: own role", put(f"{O}/members/me/", {"orgRole": "member"})),
    case("update: reinvite a pending invite", put(m("invitee010@example.com"), {"reinvite": True})),
    case(
        "update: regenerate a pending invite",
        put(m("invitee011@example.com"), {"reinvite": True, "regenerate": True}),
    ),
    case("update: reinvite a member", put(m("member033@example.com"), {"reinvite": True})),
    case(
        "update: reinvite and a role",
        put(m("invitee012@example.com"), {"reinvite": True, "orgRole": "manager"}),
    ),
    case(
        "update: reinvite past the quota",
        put(m("invitee013@example.com"), {"reinvite": True}),
        quota_full=True,
    ),
    case("update: empty body", put(m("member034@example.com"), {})),
    case(
        "update: read-only token",
        put(m("member035@example.com"), {"orgRole": "manager"}, "readonly"),
    ),
    case("update: unknown member", put(f"{O}/members/999999999/", {"orgRole": "member"})),
    case("update: bad JSON", Step("PUT", m("member036@example.com"), raw=b"{nope")),
    case("update: outsider", put(m("member037@example.com"), {"orgRole": "member"}, "outsider")),
]

_REMOVE = [
    case(
        "remove: an invite, twice",
        post(L, {"email": fresh("rm"), "sendInvite": False}),
        delete(m(fresh("rm"))),
        get(m(fresh("rm"))),
        delete(m(fresh("rm"))),
    ),
    case("remove: the last owner", delete(f"{O}/members/me/")),
    case("remove: the last owner by id", delete(m("owner@example.com"))),
    case("remove: read-only token", delete(m("member040@example.com"), "readonly")),
    case("remove: unknown member", delete(f"{O}/members/999999999/")),
    case("remove: outsider", delete(m("member041@example.com"), "outsider")),
    case("remove: SCIM token", delete(m("invitee040@example.com"), "scim")),
    case(
        "remove: an IdP-provisioned member by REST",
        post(f"{O}/scim/v2/Users", {"userName": fresh("idp"), "active": True}, "scim"),
        delete(m(fresh("idp"))),
        delete(f"{O}/scim/v2/Users/{{m:{fresh('idp')}}}", "scim"),
    ),
]

CASES = _LIST + _DETAILS + _INVITE + _UPDATE + _REMOVE
