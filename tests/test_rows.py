"""The one CSV reader (``rows``): every bad row reported with its line, one teams parser."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from sentry_members_async import (
    DesiredMember,
    InviteRow,
    ValidationError,
    load_invite_rows,
    load_roster,
)
from sentry_members_async.rows import RosterError, RowError, as_invite_row, team_column


def test_a_roster_with_three_bad_rows_reports_all_three_with_their_lines() -> None:
    text = (
        "email,role,teams\n"
        "ann@example.com,member,backend\n"
        "not-an-email,member,\n"  # line 3
        "bob@example.com,wizard,\n"  # line 4
        "carol@example.com,member,web\n"
        "ANN@example.com,admin,\n"  # line 6: listed twice
    )
    with pytest.raises(RosterError) as info:
        load_roster(io.StringIO(text))
    error = info.value
    assert isinstance(error, ValidationError)
    assert [(e.line, e.field) for e in error.errors] == [(3, "email"), (4, "role"), (6, "email")]
    assert "listed twice (first on row 2)" in error.errors[2].message
    assert error.errors[0].row == {"email": "not-an-email", "role": "member", "teams": ""}
    lines = str(error).splitlines()
    assert lines[0] == "3 problems in the roster:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "roster row 3",
        "roster row 4",
        "roster row 6",
    ]


def test_one_bad_row_reads_as_before() -> None:
    with pytest.raises(ValidationError) as info:
        load_roster([{"email": "ann@example.com", "teams": "backend:boss"}])
    assert str(info.value) == "roster row 1: teams: unknown team role 'boss' for 'backend'"


def test_a_good_roster_parses_team_roles() -> None:
    text = "email,role,teams\nann@example.com,Manager,backend:admin;web\nbob@example.com,,\n"
    assert load_roster(io.StringIO(text)) == [
        DesiredMember("ann@example.com", "manager", {"backend": "admin", "web": None}),
        DesiredMember("bob@example.com", "member", {}),
    ]


def test_a_csv_without_an_email_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="a header with an 'email' column"):
        load_roster(io.StringIO("mail,role\nann@example.com,member\n"))


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("backend:admin;web", {"backend": "admin", "web": None}),
        ("backend, web ;", {"backend": None, "web": None}),
        (["a", "b"], {"a": None, "b": None}),
        ({"a": "admin"}, {"a": "admin"}),
        ("", {}),
        (None, {}),
    ],
)
def test_one_teams_parser(value: object, parsed: dict[str, str | None]) -> None:
    assert team_column(value) == parsed


def test_invite_rows_read_team_roles_from_the_teams_column_and_collect_every_problem() -> None:
    text = (
        "email,role,teams\nann@example.com,member,team-01:admin;team-02\nbad,wizard,ghosts:boss\n"
    )
    batch = load_invite_rows(io.StringIO(text), known_teams=["team-01", "team-02"])
    assert batch.rows == [
        InviteRow("ann@example.com", "member", ("team-01", "team-02"), {"team-01": "admin"})
    ]
    assert [(e.line, e.field) for e in batch.errors] == [
        (3, "email"),
        (3, "role"),
        (3, "teams"),
        (3, "team_roles"),
    ]
    assert all(isinstance(e, RowError) for e in batch.errors)


def test_an_invite_row_built_in_code_keeps_a_colon_in_its_slug() -> None:
    # Only the CSV column reads "slug:role"; InviteRow(teams=...) takes slugs, so a
    # colon there stays in the slug and the slug check refuses it.
    batch = load_invite_rows([{"email": "ann@example.com", "teams": ["team-01:admin"]}])
    assert [(e.line, e.field) for e in batch.errors] == [(1, "teams")]
    assert InviteRow("ann@example.com", teams="a:admin;b").teams == ("a:admin", "b")


def test_a_dict_row_reads_the_same_in_load_invite_rows_and_in_bulk() -> None:
    data = {" email ": " ann@example.com ", "role": "Admin", "teams": "team-01:admin; team-02"}
    batch = load_invite_rows([data])
    assert batch.errors == []
    expected = InviteRow("ann@example.com", "admin", ("team-01", "team-02"), {"team-01": "admin"})
    assert batch.rows == [expected]
    assert as_invite_row(data) == expected  # bulk.invite's per-row path


@pytest.mark.parametrize("teams", ["team-01,team-01", "team-01:admin;team-01", ["a", "a"]])
def test_a_team_listed_twice_is_refused_in_every_reader(teams: object) -> None:
    batch = load_invite_rows([{"email": "ann@example.com", "teams": teams}])
    assert batch.rows == []
    assert [(e.line, e.field, e.message) for e in batch.errors] == [
        (1, "teams", "teams lists a team twice")
    ]
    with pytest.raises(RosterError) as info:
        load_roster([{"email": "ann@example.com", "teams": teams}])
    assert str(info.value) == "roster row 1: teams: teams lists a team twice"


def test_capitalised_headers_are_read_as_their_lower_case_names() -> None:
    text = "Email,ROLE, Teams\nann@example.com,Manager,backend:admin\n"
    batch = load_invite_rows(io.StringIO(text), known_teams=["backend"])
    assert batch.errors == []
    assert batch.rows == [
        InviteRow("ann@example.com", "manager", ("backend",), {"backend": "admin"})
    ]
    assert load_roster(io.StringIO(text)) == [
        DesiredMember("ann@example.com", "manager", {"backend": "admin"})
    ]


def test_a_header_without_email_names_the_file_and_the_columns_found(tmp_path: Any) -> None:
    path = tmp_path / "people.csv"
    path.write_text("mail,role\nann@example.com,member\n")
    with pytest.raises(ValidationError) as info:
        load_invite_rows(path)
    assert str(info.value) == (
        f"{path}: the first row must be a header with an 'email' column (columns found: mail, role)"
    )


def test_a_field_over_the_csv_limit_is_one_line_with_the_file_and_line(tmp_path: Any) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(
        "email,role,teams\nok@example.com,member,\nann@example.com,member," + "x" * 200_000 + "\n"
    )
    with pytest.raises(ValidationError) as info:
        load_invite_rows(path)
    assert str(info.value) == (
        f"{path}: line 3: not a CSV row this tool can read "
        f"(a field is longer than {csv.field_size_limit():,} characters)"
    )
    with pytest.raises(ValidationError, match=r"^big\.csv: line 3: "):
        load_invite_rows(io.StringIO(path.read_text()), name="big.csv")
