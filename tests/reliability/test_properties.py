"""Property-based tests: parsers and the converter take arbitrary input.

Each either succeeds or raises its documented typed error, never anything else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from sentry_members_async import (
    APIError,
    DecodeError,
    Flags,
    Member,
    MemberId,
    Team,
    TeamId,
    User,
    UserId,
    ValidationError,
)
from sentry_members_async.api.scim import scim_filter
from sentry_members_async.converter import converter, decode
from sentry_members_async.models import TeamRoleAssignment
from sentry_members_async.pagination import Link, parse_link_header
from sentry_members_async.pipeline import error_from_response
from sentry_members_async.transports import Request, Response

REQ = Request("GET", URL("https://sentry.io/api/0/organizations/acme/members/"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.text())
def test_link_parser_never_raises(value: str) -> None:
    links = parse_link_header(value)
    assert all(isinstance(k, str) and isinstance(v, Link) for k, v in links.items())


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["next", "previous", "prev", "first"]),
            st.from_regex(r"[0-9]{1,4}:[0-9]{1,3}:[01]", fullmatch=True),
            st.booleans(),
        ),
        max_size=4,
        unique_by=lambda t: t[0],
    )
)
def test_link_parser_reads_what_sentry_writes(entries: list[tuple[str, str, bool]]) -> None:
    header = ", ".join(
        f'<https://sentry.io/x/?&cursor={c}>; rel="{rel}"; results="{str(r).lower()}"; cursor="{c}"'
        for rel, c, r in entries
    )
    links = parse_link_header(header)
    assert {rel: (links[rel].cursor, links[rel].results) for rel, _, _ in entries} == {
        rel: (c, r) for rel, c, r in entries
    }


@given(
    st.integers(min_value=400, max_value=599),
    st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["Retry-After", "X-Sentry-Rate-Limit-Reset"]), st.text(max_size=40)
    ),
)
def test_error_body_parser_gives_an_api_error(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    error = error_from_response(Response(status, headers, body, REQ))
    assert isinstance(error, APIError)
    assert error.status == status
    assert isinstance(error.detail, str)
    assert len(error.detail) <= 300
    if status == 429:
        assert error.retry_after is None or error.retry_after >= 0  # type: ignore[attr-defined]


@given(st.sampled_from(["userName", "displayName", "value"]), st.text())
def test_scim_filter_builder(attribute: Any, value: str) -> None:
    try:
        built = scim_filter(attribute, value)
    except ValidationError:
        return
    # whatever was accepted is exactly one `eq` condition with the value intact
    assert built == f'{attribute} eq "{value}"'
    assert built.count('"') == 2


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_converter_takes_any_json(payload: Any) -> None:
    for cls in (Member, Team):
        with contextlib.suppress(DecodeError):
            decode(payload, cls, endpoint="GET /x")


ids = st.from_regex(r"[1-9][0-9]{0,12}", fullmatch=True)
texts = st.text(max_size=20)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.just(dt.timezone.utc),
)
extras = st.dictionaries(
    st.text(min_size=1, max_size=8).map(lambda k: "x_" + k), json_values, max_size=3
)
users = st.builds(
    User,
    id=ids.map(UserId),
    name=texts,
    email=texts,
    date_joined=st.none() | moments,
    has_2fa=st.booleans(),
    extra=extras,
)
members = st.builds(
    Member,
    id=ids.map(MemberId),
    email=texts,
    name=texts,
    user=st.none() | users,
    org_role=st.sampled_from(["member", "owner", "a-role-sentry-adds-later"]),
    pending=st.booleans(),
    flags=st.builds(Flags, sso_linked=st.booleans(), extra=st.just({})),
    date_created=st.none() | moments,
    teams=st.lists(texts, max_size=3).map(tuple),
    team_roles=st.lists(
        st.builds(TeamRoleAssignment, team_slug=texts, role=st.none() | texts), max_size=2
    ).map(tuple),
    extra=extras,
)
teams = st.builds(
    Team, id=ids.map(TeamId), slug=texts, member_count=st.integers(0, 10**6), extra=extras
)


@given(members)
def test_member_round_trip(member: Member) -> None:
    again = converter.structure(json.loads(json.dumps(converter.unstructure(member))), Member)
    assert again == member
    assert again.extra == member.extra


@given(teams)
def test_team_round_trip(team: Team) -> None:
    assert converter.structure(converter.unstructure(team), Team) == team
