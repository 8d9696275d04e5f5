"""``python -m sentry_members_async.testing serve`` prints an unguessable token unless
a seed or a token is given (finding #19 of the 2026-12-03 review: the default seed 0
gave every run on every machine the owner token sha256("0:0:user"))."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import urllib.request

import pytest

from sentry_members_async.testing.__main__ import build

PREDICTABLE = "sntryu_" + hashlib.sha256(b"0:0:user").hexdigest()


def namespace(**changes: object) -> argparse.Namespace:
    options: dict[str, object] = {
        "seed": None,
        "latency": 0.0,
        "no_retry_after": False,
        "rate_limit": "none",
        "org": "acme",
        "teams": 0,
        "members": 2,
    }
    options.update(changes)
    return argparse.Namespace(**options)


def test_without_a_seed_the_tokens_are_random() -> None:
    runs = [build(namespace()) for _ in range(2)]
    tokens = [(token, scim) for _, token, scim in runs]
    assert tokens[0] != tokens[1]
    for token, scim in tokens:
        assert token != PREDICTABLE
        assert token.startswith("sntryu_")
        assert len(token) == len(PREDICTABLE)
        assert scim.startswith("sntrys_scim_")
    # The data stays that of seed 0: only the credentials are random.
    assert runs[0][0].members("acme") == runs[1][0].members("acme")
    emu, token, scim = runs[0]
    seeded, _, _ = build(namespace(seed=0))
    assert emu.members("acme") == seeded.members("acme")
    assert token in emu.state.tokens
    assert scim in emu.state.tokens
    assert emu.state.tokens[token].token == token


def test_a_seed_gives_the_repeatable_tokens_of_that_seed() -> None:
    _, token, scim = build(namespace(seed=0))
    assert token == PREDICTABLE
    assert build(namespace(seed=0))[1:] == (token, scim)


def test_given_tokens_are_used_as_they_are() -> None:
    emu, token, scim = build(namespace(token="sntryu_mine", scim_token="sntrys_scim_mine"))
    assert (token, scim) == ("sntryu_mine", "sntrys_scim_mine")
    assert emu.state.tokens["sntryu_mine"].kind == "user"
    assert emu.state.tokens["sntrys_scim_mine"].kind == "scim"


@pytest.mark.parametrize("bad", ["", "a b", "x\ny"])
def test_a_given_token_must_be_one(bad: str) -> None:
    with pytest.raises(ValueError, match="token"):
        build(namespace(token=bad))


MODULE = ("-m", "sentry_members_async.testing", "serve")
CLI = ("-m", "sentry_members_async", "emulator", "serve")  # sentry-members emulator serve


def serve_once(*extra: str, entry: tuple[str, ...] = MODULE) -> dict[str, str]:
    """Start ``serve`` on a free port, read its exports, ask it who the token is, stop it."""
    proc = subprocess.Popen(
        [sys.executable, *entry, "--port", "0", "--members", "1", "--teams", "0", *extra],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        exports: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value
            if "SENTRY_SCIM_TOKEN" in exports:
                break
        url = exports["SENTRY_URL"] + "/api/0/organizations/acme/members/me/"
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {exports['SENTRY_AUTH_TOKEN']}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            exports["me"] = json.load(answer)["email"]
        return exports
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.parametrize("entry", [MODULE, CLI], ids=["module", "cli"])
def test_serve_prints_a_random_token_that_the_server_accepts(entry: tuple[str, ...]) -> None:
    first, second = serve_once(entry=entry), serve_once(entry=entry)
    assert first["SENTRY_AUTH_TOKEN"] != second["SENTRY_AUTH_TOKEN"]
    assert PREDICTABLE not in (first["SENTRY_AUTH_TOKEN"], second["SENTRY_AUTH_TOKEN"])
    assert first["me"] == second["me"]  # the same owner, as seed 0 makes it
    seeded = serve_once("--seed", "0", entry=entry)
    assert seeded["SENTRY_AUTH_TOKEN"] == PREDICTABLE


def test_the_cli_takes_the_tokens_it_is_given() -> None:
    given = serve_once("--token", "sntryu_mine", "--scim-token", "sntrys_scim_mine", entry=CLI)
    assert (given["SENTRY_AUTH_TOKEN"], given["SENTRY_SCIM_TOKEN"]) == (
        "sntryu_mine",
        "sntrys_scim_mine",
    )
