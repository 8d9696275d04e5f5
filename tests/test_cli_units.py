"""The command line's pure parts: safe text, global-flag hoisting, the journal, failed rows."""

from __future__ import annotations

import csv
import json
import pathlib

import click
import pytest

from sentry_members_async.bulk import InviteRow, RoleRow, TeamRow
from sentry_members_async.cli import cli
from sentry_members_async.cli.failed import write_failed
from sentry_members_async.cli.globalflags import hoist
from sentry_members_async.cli.journal import Journal
from sentry_members_async.cli.safe import csv_cell, terminal_text


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3@x.com", "'-2+3@x.com"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\\rx"),
        ("ann@example.com", "ann@example.com"),
        ("a\x1b]0;t\x07b", "a\\x1b]0;t\\x07b"),
        ("line\nnext\ttab", "line\nnext\ttab"),  # quoted by the csv module: data
        (None, ""),
        (["backend", "web"], "backend;web"),
        (True, "True"),
    ],
)
def test_csv_cells_are_neutralised_unless_raw(value: object, safe: str) -> None:
    assert csv_cell(value) == safe
    if isinstance(value, str):
        assert csv_cell(value, raw=True) == value


def test_terminal_text_shows_every_control_character() -> None:
    assert (
        terminal_text("a\x1b[2Jb\x9bc\x07\x00\u202ed\n") == "a\\x1b[2Jb\\x9bc\\x07\\x00\\u202ed\\n"
    )
    assert terminal_text("[/] [link=x]y[/link]") == "[/] [link=x]y[/link]"  # printed as text
    assert terminal_text(["a", "b"]) == "a, b"
    assert terminal_text(None) == ""


@pytest.mark.parametrize(
    ("args", "hoisted"),
    [
        (["members", "list", "--org", "acme"], ["--org", "acme", "members", "list"]),
        (["members", "list", "-q", "-v"], ["-q", "-v", "members", "list"]),
        (["members", "list", "-qv"], ["-qv", "members", "list"]),
        (["teams", "list", "--token=x"], ["--token=x", "teams", "list"]),
        (
            ["--format", "csv", "members", "list", "--role", "owner"],
            ["members", "list", "--format", "csv", "--role", "owner"],
        ),
        (["members", "list", "--query", "-q"], ["members", "list", "--query", "-q"]),
        (["members", "remove", "--", "--org"], ["members", "remove", "--", "--org"]),
        (["plan", "roster.csv", "--url", "http://x"], ["--url", "http://x", "plan", "roster.csv"]),
    ],
)
def test_global_flags_move_before_the_subcommand(args: list[str], hoisted: list[str]) -> None:
    assert hoist(cli, click.Context(cli), args) == hoisted


def test_format_for_a_command_without_one_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError, match="does not apply to 'sentry-members teams create'"):
        hoist(cli, click.Context(cli), ["--format", "json", "teams", "create", "x"])


def _lines(path: pathlib.Path, *entries: object) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + '{"done": "torn')


def test_the_journal_of_a_killed_run(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "hires.csv.journal"
    _lines(
        path,
        {"start": {"command": "members invite"}},
        {"sent": "a"}, {"sent": "b"}, {"sent": "c"}, {"sent": "d"},
        {"done": "a", "kind": "created"},
        {"redo": "b"},
        {"done": "c"},  # outcome unknown, and the run never reached its end
        {"start": {"command": "members remove"}},
        {"done": "z", "kind": "removed"},
        {"end": {"complete": False}},
    )  # fmt: skip
    state = Journal(path, "members invite").load()
    assert state.confirmed == {"a"}
    assert state.unconfirmed == {"c", "d"}  # b failed: it runs again, unchecked
    assert Journal(path, "members remove").load().confirmed == {"z"}
    assert not Journal(tmp_path / "none.journal", "members invite").load()


def test_the_journal_of_runs_that_ended(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "j"
    journal = Journal(path, "teams add")
    journal.start()
    for key in ("a", "b", "c"):
        journal.sent(key)
    journal.done("a")
    journal.done("b")
    journal.finish(["b", "c"], complete=False)
    state = Journal(path, "teams add").load()
    assert (state.confirmed, state.unconfirmed) == ({"a"}, set())
    again = Journal(path, "teams add")
    again.start()
    again.done("b", "updated")
    again.finish([], complete=True)
    assert not path.exists()  # nothing left to resume


def test_failed_rows_keep_the_columns_their_command_reads(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "failed.csv"
    write_failed(
        str(path),
        [(InviteRow("a@x.com", "manager", ("web",), {"backend": "admin"}), "=500 boom")],
    )
    with path.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["email", "role", "teams", "error"],
            ["a@x.com", "manager", "web;backend:admin", "'=500 boom"],
        ]
    write_failed(str(path), [(TeamRow("b@x.com", "backend", "admin"), "404")])
    assert path.read_text().splitlines() == ["member,team,role,error", "b@x.com,backend,admin,404"]
    write_failed(str(path), [(RoleRow("7", "owner"), "403"), ("-1@x.com", "x")])
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[1]["email"] == "-1@x.com"  # the row's own value stays as given: it reads back
