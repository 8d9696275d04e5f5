"""``python -m sentry_members_async.testing serve --port 8765 --org acme --members 10000``.

Prints lines a POSIX shell can source (``export SENTRY_URL=...``; the banner
is a ``#`` comment), so ``... serve > emulator.env &`` then
``. ./emulator.env`` points the CLI and the SDK at the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from typing import Any

from .emulator import RateLimit, SentryEmulator


def build(args: argparse.Namespace) -> tuple[SentryEmulator, str, str]:
    profile = getattr(args, "profile", "latest")
    limits = {"none": None, "docs": RateLimit.seed_docs(), "saas": RateLimit.saas()}
    extra: dict[str, Any] = {}
    if args.rate_limit != "profile":
        extra["rate_limit"] = limits[args.rate_limit]
    emulator = SentryEmulator(
        seed=args.seed,
        latency=args.latency,
        # Unset: the profile's (Retry-After for "latest", none for "23.7").
        retry_after=False if args.no_retry_after else None,
        invite_quotas=True if getattr(args, "invite_quotas", False) else None,
        profile=profile,
        self_hosted=getattr(args, "self_hosted", False),
        **extra,
    )
    emulator.add_org(args.org, scim=True)
    if args.teams:
        emulator.add_teams(args.org, args.teams)
    emulator.add_team(args.org, "backend")  # the team the README's examples use
    if args.members:
        emulator.add_members(args.org, args.members, teams=args.teams)
    token = emulator.add_token(args.org)
    scim_token = emulator.add_token(args.org, kind="scim")
    return emulator, token, scim_token


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
    serve.add_argument("--seed", type=int, default=0, help="random seed")
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
