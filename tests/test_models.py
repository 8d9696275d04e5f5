"""The models against every response example of Sentry's OpenAPI extract."""

from __future__ import annotations

import json
import pathlib
import textwrap
from typing import Any

import pytest

from sentry_members_async import DecodeError, Member, MemberId, Team, TeamMembership, UserId
from sentry_members_async.converter import converter, decode
from sentry_members_async.models import ScimGroup, ScimUser

SPEC = pathlib.Path(__file__).resolve().parent / "data" / "sentry-openapi-members.json"

#: operationId -> (model, whether the payload is a list, SCIM list envelope)
MODEL_OF: dict[str, tuple[type, str]] = {
    "listOrganizationMembers": (Member, "list"),
    "addOrganizationMember": (Member, "one"),
    "getOrganizationMember": (Member, "one"),
    "updateOrganizationMember": (Member, "one"),
    "addOrganizationMemberTeam": (Team, "one"),
    "updateOrganizationMemberTeam": (TeamMembership, "one"),
    "deleteOrganizationMemberTeam": (Team, "one"),
    "listOrganizationTeams": (Team, "list"),
    "createOrganizationTeam": (Team, "one"),
    "getTeam": (Team, "one"),
    "updateTeam": (Team, "one"),
    "listTeamMembers": (Member, "list"),
    "listOrganizationScimV2Users": (ScimUser, "scim"),
    "provisionOrganizationScimV2User": (ScimUser, "one"),
    "getOrganizationScimV2User": (ScimUser, "one"),
    "listOrganizationScimV2Groups": (ScimGroup, "scim"),
    "provisionOrganizationScimV2Group": (ScimGroup, "one"),
    "getOrganizationScimV2Group": (ScimGroup, "one"),
}


def examples() -> list[tuple[str, str, Any]]:
    spec = json.loads(SPEC.read_text())
    found = []
    for methods in spec["paths"].values():
        for op in methods.values():
            if not isinstance(op, dict) or op.get("operationId") not in MODEL_OF:
                continue
            for status, response in op["responses"].items():
                if not status.startswith("2"):
                    continue
                content = response.get("content", {}).get("application/json", {})
                for name, example in content.get("examples", {}).items():
                    found.append((op["operationId"], name, example["value"]))
    return found


EXAMPLES = examples()


def test_every_operation_with_a_body_has_examples() -> None:
    assert {op for op, _, _ in EXAMPLES} >= set(MODEL_OF) - {"getOrganizationScimV2User"}


def structure(op: str, value: Any) -> list[Any]:
    cls, shape = MODEL_OF[op]
    if shape == "list":
        return [converter.structure(item, cls) for item in value]
    if shape == "scim":
        return [converter.structure(item, cls) for item in value["Resources"]]
    return [converter.structure(value, cls)]


@pytest.mark.parametrize(
    ("op", "name", "value"), EXAMPLES, ids=[f"{o}-{n}" for o, n, _ in EXAMPLES]
)
def test_example_decodes_and_round_trips(op: str, name: str, value: Any) -> None:
    items = structure(op, value)
    assert items
    for item in items:
        again = converter.structure(converter.unstructure(item), type(item))
        assert again == item
        assert again.extra == item.extra


def test_member_example_fields_and_unknown_keys() -> None:
    op, _, value = next(e for e in EXAMPLES if e[0] == "getOrganizationMember")
    member = structure(op, value)[0]
    assert isinstance(member.id, MemberId)
    assert member.user is not None
    assert isinstance(member.user.id, UserId)
    assert member.user_id == member.user.id
    assert member.team_roles[0].team_slug == "ancient-gabelers"
    # Keys the model has no field for are kept, not dropped.
    assert set(member.user.extra) == {"experiments", "avatar", "authenticators", "canReset2fa"}
    assert member.org_role_list[0].extra == {"is_global": False}


def test_new_fields_and_roles_are_kept() -> None:
    payload = {
        "id": "7",
        "email": "a@b.c",
        "name": "",
        "orgRole": "superhero",
        "flags": {"sso:linked": True, "future:flag": True},
        "brandNew": {"x": 1},
        "expired": "false",
    }
    member = converter.structure(payload, Member)
    assert member.org_role == "superhero"
    assert member.extra == {"brandNew": {"x": 1}}
    assert member.flags.sso_linked is True
    assert member.flags.extra == {"future:flag": True}
    assert member.expired is False  # Sentry types it as a string in places
    assert converter.unstructure(member)["brandNew"] == {"x": 1}


def test_decode_error_names_the_field_and_endpoint() -> None:
    with pytest.raises(DecodeError) as info:
        decode({"id": "1", "user": {"id": None}}, Member, endpoint="GET /api/0/x/")
    assert info.value.path == "$.user.id"
    assert info.value.endpoint == "GET /api/0/x/"
    assert str(info.value).startswith("could not decode Member from GET /api/0/x/: ")


def test_converter_structure_raises_decode_error_with_the_path() -> None:
    # The public converter keeps the README's promise: DecodeError, not a bare TypeError.
    with pytest.raises(DecodeError) as info:
        converter.structure(
            [
                {"id": "1", "email": "a@b.c", "name": "", "orgRole": "member"},
                {"id": "2", "user": {"id": None}},
            ],
            list[Member],
        )
    assert (info.value.path, info.value.endpoint) == ("$[1].user.id", None)
    with pytest.raises(DecodeError) as not_an_object:
        converter.structure("x", Member)
    assert not_an_object.value.path == "$"
    assert isinstance(not_an_object.value, ValueError)


def test_mypy_refuses_a_user_id_where_a_member_id_is_required(tmp_path: pathlib.Path) -> None:
    from mypy import api

    source = tmp_path / "mixup.py"
    source.write_text(
        textwrap.dedent(
            """
            from sentry_members_async import Member, SentryClient

            async def offboard(client: SentryClient, member: Member) -> None:
                assert member.user is not None
                await client.org("acme").members.remove(member.user.id)
                await client.org("acme").members.remove(member.id)
                await client.org("acme").members.remove("me")
            """
        )
    )
    stdout, _, status = api.run(["--strict", "--no-incremental", str(source)])
    assert status == 1
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1
    assert "mixup.py:6:" in errors[0]
    assert '"UserId"' in errors[0]
    assert "\"MemberId | Literal['me']\"" in errors[0]
