"""The differential engine's own guards, with no real server: a comparison that
cannot fail is no comparison.

- an id placeholder the lookup did not resolve fails the case (two identical 404s
  to an id neither backend knew would agree about nothing), unless the case asks
  for an unknown id (``{m?:...}``, ``{t?:...}``, or a literal id);
- a ``burst`` step that never met a 429 fails the case;
- the list values of semantic keys are compared (``teams`` and ``schemas`` as
  sets), not only their lengths.

The placeholder and burst guards run against stub aiohttp servers on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from .engine import (
    Answer,
    Backend,
    Case,
    NotLimited,
    Step,
    Unresolved,
    compare,
    describe,
    run_case,
    send,
    shape_diff,
)

JSON = {"Content-Type": "application/json"}
NOT_FOUND = json.dumps({"detail": "The requested resource does not exist"}).encode()


def answer(status: int, body: Any) -> Answer:
    return describe(status, JSON, json.dumps(body).encode(), closed=False)


# -- semantic list values ------------------------------------------------------------


def test_teams_values_are_compared() -> None:
    diff = shape_diff({"teams": ["backend"]}, {"teams": ["frontend"]})
    assert diff == ["$.teams: ['backend'] (real) vs ['frontend'] (emulator)"]


def test_teams_are_a_set() -> None:
    assert shape_diff({"teams": ["a", "b"]}, {"teams": ["b", "a"]}) == []


def test_teams_within_a_member_list() -> None:
    real = [{"email": "x@example.com", "teams": ["backend"]}]
    emu = [{"email": "x@example.com", "teams": []}]
    assert shape_diff(real, emu) == ["$[*].teams: ['backend'] (real) vs [] (emulator)"]


def test_schemas_values_are_compared() -> None:
    real = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
    emu = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}
    assert len(shape_diff(real, emu)) == 1


def test_schemas_are_a_set() -> None:
    a, b = "urn:ietf:params:scim:api:messages:2.0:ListResponse", "urn:x"
    assert shape_diff({"schemas": [a, b]}, {"schemas": [b, a]}) == []


def test_other_semantic_lists_keep_their_order() -> None:
    assert shape_diff({"email": ["a", "b"]}, {"email": ["b", "a"]}) != []


def test_non_semantic_lists_compare_by_shape() -> None:
    assert shape_diff({"scopes": ["a", "b"]}, {"scopes": ["c", "d"]}) == []
    assert shape_diff({"scopes": ["a", "b"]}, {"scopes": ["c"]}) != []


def test_compare_sees_teams_in_a_2xx_body() -> None:
    real = answer(200, {"id": "1", "teams": ["backend"]})
    emu = answer(200, {"id": "2", "teams": ["frontend"]})
    assert compare(real, emu) == ["$.teams: ['backend'] (real) vs ['frontend'] (emulator)"]


def test_compare_ignores_ids() -> None:
    assert compare(answer(200, {"id": "1"}), answer(200, {"id": "2"})) == []


# -- stub servers --------------------------------------------------------------------

Handler = Callable[[web.Request], Any]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[dict[str, Handler]], Any]]:
    """Starts a stub server on 127.0.0.1 with the given GET/POST routes; its URL."""
    runners: list[web.AppRunner] = []

    async def start(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for route, handler in routes.items():
            method, path = route.split(" ", 1)
            app.router.add_route(method, path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def backend(name: str, url: str) -> Backend:
    return Backend(name, url, {"owner": "t0"}, "run1")


def members(found: list[dict[str, str]], status: int = 200) -> Handler:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response(found, status=status)

    return handler


async def member_404(_: web.Request) -> web.Response:
    return web.Response(status=404, body=NOT_FOUND, content_type="application/json")


async def team_404(_: web.Request) -> web.Response:
    return web.Response(status=404, body=NOT_FOUND, content_type="application/json")


def routes(lookup: Handler) -> dict[str, Handler]:
    return {
        "GET /api/0/organizations/acme/members/": lookup,
        "GET /api/0/organizations/acme/members/{id}/": member_404,
        "GET /api/0/teams/acme/{slug}/": team_404,
        "GET /api/0/organizations/acme/teams/{id}/": team_404,
    }


# -- placeholders --------------------------------------------------------------------

MEMBER = Case("a member", (Step("GET", "/api/0/organizations/acme/members/{m:x@example.com}/"),))


async def test_unresolved_member_fails_the_case(serve: Any) -> None:
    url = await serve(routes(members([])))
    differences = await run_case(MEMBER, backend("real", url), backend("emulator", url))
    assert len(differences) == 2
    assert all("{m:x@example.com} unresolved" in d for d in differences)
    assert "on real" in differences[0]
    assert "on emulator" in differences[1]


async def test_unresolved_on_one_side_only(serve: Any) -> None:
    real = await serve(routes(members([{"id": "7"}])))
    emu = await serve(routes(members([])))
    differences = await run_case(MEMBER, backend("real", real), backend("emulator", emu))
    assert differences == [
        "step 1 GET /api/0/organizations/acme/members/{m:x@example.com}/: "
        "{m:x@example.com} unresolved on emulator: lookup answered 200, []"
    ]


@pytest.mark.parametrize("status", [404, 429, 500])
async def test_a_lookup_that_is_not_200_is_unresolved(serve: Any, status: int) -> None:
    url = await serve(routes(members([{"id": "7"}], status=status)))
    with pytest.raises(Unresolved, match=f"answered {status}"):
        await backend("real", url).resolve("/x/{m:x@example.com}/")


async def test_unresolved_team_fails_the_case(serve: Any) -> None:
    url = await serve(routes(members([])))
    team = Case("a team", (Step("GET", "/api/0/organizations/acme/teams/{t:nope}/"),))
    differences = await run_case(team, backend("real", url), backend("emulator", url))
    assert len(differences) == 2
    assert all("{t:nope} unresolved" in d and "answered 404" in d for d in differences)


async def test_steps_after_an_unresolved_one_are_not_sent(serve: Any) -> None:
    sent: list[str] = []

    async def record(request: web.Request) -> web.Response:
        sent.append(request.path)
        return web.json_response({})

    url = await serve({**routes(members([])), "POST /later/": record})
    case = Case("two", (*MEMBER.steps, Step("POST", "/later/")))
    differences = await run_case(case, backend("real", url), backend("emulator", url))
    assert len(differences) == 2
    assert sent == []


async def test_the_same_404_agrees_when_asked_for(serve: Any) -> None:
    """``{m?:...}`` and a literal unknown id: the case wants the not-found answer."""
    url = await serve(routes(members([])))
    for path in ("{m?:x@example.com}", "{t?:nope}", "999999999"):
        case = Case("unknown", (Step("GET", f"/api/0/organizations/acme/members/{path}/"),))
        assert await run_case(case, backend("real", url), backend("emulator", url)) == []
    assert await backend("real", url).resolve("/{m?:x@example.com}/{t?:y}/") == "/0/0/"


async def test_a_resolved_placeholder_is_the_backends_id(serve: Any) -> None:
    url = await serve(routes(members([{"id": "42"}])))
    found = await backend("real", url).resolve('{"value": "{m:x@example.com}", "s": "{run}"}')
    assert found == '{"value": "42", "s": "run1"}'


# -- bursts --------------------------------------------------------------------------


def counting(limit: int | None) -> tuple[Handler, list[int]]:
    """A route that answers 200, or 429 from request ``limit + 1`` on."""
    calls = [0]

    async def handler(_: web.Request) -> web.Response:
        calls[0] += 1
        if limit is not None and calls[0] > limit:
            return web.Response(status=429, text="Too Many Requests")
        return web.json_response([])

    return handler, calls


async def test_a_burst_that_meets_no_429_fails(serve: Any) -> None:
    handler, calls = counting(None)
    url = await serve({"GET /b/": handler})
    step = Step("GET", "/b/", burst=5)
    with pytest.raises(NotLimited, match="burst of 5 met no 429 on real"):
        await send(backend("real", url), step)
    assert calls == [5]
    differences = await run_case(
        Case("burst", (step,)), backend("real", url), backend("emulator", url)
    )
    assert len(differences) == 2
    assert all("met no 429" in d for d in differences)


async def test_a_burst_limited_on_one_side_only_fails(serve: Any) -> None:
    limited, _ = counting(2)
    unlimited, _ = counting(None)
    real = await serve({"GET /b/": limited})
    emu = await serve({"GET /b/": unlimited})
    case = Case("burst", (Step("GET", "/b/", burst=5),))
    differences = await run_case(case, backend("real", real), backend("emulator", emu))
    assert differences == ["step 1 GET /b/: burst of 5 met no 429 on emulator (last status 200)"]


async def test_a_burst_stops_at_the_429(serve: Any) -> None:
    handler, calls = counting(2)
    url = await serve({"GET /b/": handler})
    got = await send(backend("real", url), Step("GET", "/b/", burst=12))
    assert got.status == 429
    assert calls == [3]


async def test_repeat_expects_no_429(serve: Any) -> None:
    handler, calls = counting(None)
    url = await serve({"GET /b/": handler})
    got = await send(backend("real", url), Step("GET", "/b/", repeat=4))
    assert got.status == 200
    assert calls == [4]
