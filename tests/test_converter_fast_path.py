"""The generated structure functions (the hot path) decide exactly as cattrs' own do.

``converter`` structures with functions written once per model; the detailed
twin (``_explainer``) still runs cattrs' ``make_dict_structure_fn``. For any
payload, both must succeed with equal objects (``extra`` included, at every
level) or both must fail.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from sentry_members_async import DecodeError, Member, Team
from sentry_members_async.converter import _explainer, converter, decode_list
from sentry_members_async.models import ScimUser
from sentry_members_async.testing import SentryEmulator
from sentry_members_async.transports.base import Request


def _page() -> list[dict[str, Any]]:
    emu = SentryEmulator(seed=5, rate_limit=None)
    emu.add_org("acme")
    emu.add_teams("acme", 3)
    emu.add_members("acme", 60, teams=3)
    token = emu.add_token("acme")
    url = URL("http://127.0.0.1/api/0/organizations/acme/members/")
    request = Request("GET", url, {"Authorization": f"Bearer {token}"})
    body: list[dict[str, Any]] = json.loads(asyncio.run(emu.handle(request)).body)
    return body


PAGE = _page()
values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["", "1", "true", "False", "2024-05-01T10:00:00Z", "x"])
    | st.lists(st.none() | st.text(max_size=2), max_size=2)
    | st.dictionaries(
        st.sampled_from(["id", "email", "x"]), st.none() | st.text(max_size=2), max_size=2
    )
)


def _deep_extra(obj: Any) -> Any:
    """Every ``extra`` mapping in ``obj`` (they are ``eq=False``), in field order."""
    if attrs.has(type(obj)):
        return [
            (
                f.name,
                getattr(obj, f.name) if f.name == "extra" else _deep_extra(getattr(obj, f.name)),
            )
            for f in attrs.fields(type(obj))
        ]
    if isinstance(obj, tuple):
        return [_deep_extra(item) for item in obj]
    return None


def _outcome(structure: Any, payload: Any, cls: type) -> tuple[str, Any, Any]:
    try:
        obj = structure(payload, cls)
    except Exception:  # both sides: only whether it failed is compared
        return ("error", None, None)
    return ("ok", obj, _deep_extra(obj))


def assert_same(payload: Any, cls: type) -> None:
    fast = _outcome(converter.structure, payload, cls)
    reference = _outcome(_explainer.structure, payload, cls)
    assert fast == reference
    if fast[0] == "ok":
        assert type(fast[1].id) is type(reference[1].id)


@pytest.mark.parametrize("index", range(len(PAGE)))
def test_a_real_page_decodes_as_cattrs_does(index: int) -> None:
    assert_same(PAGE[index], Member)


def test_unknown_keys_are_kept_at_every_level() -> None:
    payload = json.loads(json.dumps(PAGE[0]))
    payload["brandNew"] = [1]
    payload["flags"]["future:flag"] = True
    member = converter.structure(payload, Member)
    assert member.extra["brandNew"] == [1]
    assert member.flags.extra == {"future:flag": True}
    assert member.user is not None
    assert set(member.user.extra) == {"experiments", "avatar", "canReset2fa"}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(PAGE) - 1),
    st.dictionaries(st.sampled_from(sorted(PAGE[0])), values | st.just(KeyError), max_size=4),
    st.dictionaries(
        st.sampled_from(sorted(PAGE[0]["user"])), values | st.just(KeyError), max_size=4
    ),
)
def test_changed_fields_decode_or_fail_as_cattrs_does(
    index: int, changes: dict[str, Any], user_changes: dict[str, Any]
) -> None:
    payload = json.loads(json.dumps(PAGE[index]))
    for target, edits in ((payload, changes), (payload.get("user"), user_changes)):
        if not isinstance(target, dict):
            continue
        for key, value in edits.items():
            if value is KeyError:
                target.pop(key, None)
            else:
                target[key] = value
    assert_same(payload, Member)


@pytest.mark.parametrize(
    ("payload", "cls"),
    [
        ({"id": 7, "slug": "a", "memberCount": "3"}, Team),
        ({"id": "7", "slug": None}, Team),
        (
            {"id": "1", "userName": "a@b.c", "emails": [{"value": "a@b.c", "primary": "true"}]},
            ScimUser,
        ),
        ({"id": "1", "userName": "a@b.c", "emails": ("x",)}, ScimUser),
        ({"id": "1", "userName": "a@b.c", "name": None}, ScimUser),
        ({"userName": "a@b.c"}, ScimUser),
        ([("id", "1")], Member),
    ],
)
def test_other_models_decide_as_cattrs_does(payload: Any, cls: type) -> None:
    assert_same(payload, cls)


def test_a_bad_item_still_names_its_path() -> None:
    payload = json.loads(json.dumps(PAGE[:3]))
    payload[2]["user"]["isStaff"] = "maybe"
    with pytest.raises(DecodeError) as info:
        decode_list(payload, Member, endpoint="GET /x")
    assert info.value.path == "$[2].user.is_staff"
