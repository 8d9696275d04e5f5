"""``python -m sentry_members_async.testing serve --port 8765 --org acme --members 10000``.

Prints lines a POSIX shell can source (``export SENTRY_URL=...``; the banner
is a ``#`` comment), so ``... serve > emulator.env &`` then
``. ./emulator.env`` points the CLI and the SDK at the emulator.

The tokens it prints are random (``secrets``) unless ``--seed`` is given (the
seeded, repeatable tokens of the in-process emulator) or ``--token`` /
``--scim-token`` name them: a served emulator is reachable by every local
user (every host, with ``--host 0.0.0.0``), and a token computed from the
default seed would let any of them act as its owner. Without ``--seed`` the
data is that of seed 0.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import shlex
import sys
from typing import Any

from .emulator import RateLimit, SentryEmulator


def build(args: argparse.Namespace) -> tuple[SentryEmulator, str, str]:
    """The emulator ``serve`` answers with, its owner's token and its SCIM token.

    ``args.seed`` ``None``: the data of seed 0 and random tokens; ``args.token``
    and ``args.scim_token`` (optional): the tokens to use.
    """
    given = {kind: _given(args, name) for kind, name in (("user", "token"), ("scim", "scim_token"))}
    emulator = _emulator(args)
    emulator.add_org(args.org, scim=True)
    if args.teams:
        emulator.add_teams(args.org, args.teams)
    emulator.add_team(args.org, "backend")  # the team the README's examples use
    if args.members:
        emulator.add_members(args.org, args.members, teams=args.teams)
    random_tokens = args.seed is None
    token = _rekey(emulator, emulator.add_token(args.org), given["user"], random_tokens)
    scim_token = _rekey(
        emulator, emulator.add_token(args.org, kind="scim"), given["scim"], random_tokens
    )
    return emulator, token, scim_token


def _given(args: argparse.Namespace, name: str) -> str | None:
    value = getattr(args, name, None)
    if value is not None and (
        not value or any(ch.isspace() or not ch.isprintable() for ch in value)
    ):
        raise ValueError(f"--{name.replace('_', '-')} must be a token: printable, no spaces")
    return value


def _rekey(emulator: SentryEmulator, minted: str, given: str | None, random_token: bool) -> str:
    """The token ``minted`` under another value: ``given``, else a random one of the
    same kind (its prefix kept), else as minted (seeded, repeatable)."""
    if given is None and not random_token:
        return minted
    prefix = minted[: len(minted) - 64]  # mint_token: the kind's prefix + 64 hex digits
    new = given if given is not None else prefix + secrets.token_hex(32)
    tokens = emulator.state.tokens
    if new in tokens:
        raise ValueError("--token and --scim-token must differ")
    tokens[new] = dataclasses.replace(tokens.pop(minted), token=new)
    return new


def _emulator(args: argparse.Namespace) -> SentryEmulator:
    profile = getattr(args, "profile", "latest")
    limits = {"none": None, "docs": RateLimit.seed_docs(), "saas": RateLimit.saas()}
    extra: dict[str, Any] = {}
    if args.rate_limit != "profile":
        extra["rate_limit"] = limits[args.rate_limit]
    return SentryEmulator(
        seed=0 if args.seed is None else args.seed,
        latency=args.latency,
        # Unset: the profile's (Retry-After for "latest", none for "23.7").
        retry_after=False if args.no_retry_after else None,
        invite_quotas=True if getattr(args, "invite_quotas", False) else None,
        profile=profile,
        self_hosted=getattr(args, "self_hosted", False),
        **extra,
    )


async def _serve(args: argparse.Namespace) -> None:
    emulator, token, scim_token = build(args)
    async with emulator.serve(args.host, args.port) as url:
        print(f"# Sentry emulator serving organization {args.org!r} at {url}", flush=True)
        for name, value in (
            ("SENTRY_URL", url),
            ("SENTRY_ORG", args.org),
            ("SENTRY_AUTH_TOKEN", token),
            ("SENTRY_SCIM_TOKEN", scim_token),
        ):
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        await asyncio.Event().wait()


PROG = "python -m sentry_members_async.testing"


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve a seeded emulator over HTTP",
        description="Serve a seeded Sentry emulator on HTTP until interrupted. Prints "
        "`export SENTRY_URL=...` lines (and the org and tokens) that a shell can source.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    serve.add_argument("--org", default="acme", help="organization slug")
    serve.add_argument("--members", type=int, default=100, help="members to seed")
    serve.add_argument(
        "--teams", type=int, default=5, help="teams team-01... to seed (plus 'backend')"
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed of the data and the tokens (default: the data of seed 0, random tokens)",
    )
    serve.add_argument("--token", default=None, help="the owner's token (default: random)")
    serve.add_argument("--scim-token", default=None, help="the SCIM token (default: random)")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    serve.add_argument(
        "--rate-limit",
        choices=["none", "docs", "saas", "profile"],
        default="none",
        help="per-token limit: none, docs (100 per 10 s), saas (40/s, 25 concurrent), "
        "profile (the profile's: 999/s with its headers for 23.7)",
    )
    serve.add_argument(
        "--profile",
        choices=["latest", "23.7"],
        default="latest",
        help="the Sentry release to answer as: latest (sentry.io) or 23.7 (self-hosted 23.7.1)",
    )
    serve.add_argument(
        "--self-hosted",
        action="store_true",
        help="SENTRY_SELF_HOSTED: no request limit and no X-Sentry-Rate-Limit-* headers",
    )
    serve.add_argument("--no-retry-after", action="store_true", help="send no Retry-After on 429")
    serve.add_argument(
        "--invite-quotas",
        action="store_true",
        help="sentry.io's daily invite quotas (100 per token, 100 per org, 10 per address)",
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
