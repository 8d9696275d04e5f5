"""``python -m sentry_members_async.testing serve --port 8765 --org acme --members 10000``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .emulator import RateLimit, SentryEmulator


def build(args: argparse.Namespace) -> tuple[SentryEmulator, str, str]:
    limit = {
        "none": None,
        "docs": RateLimit.seed_docs(),
        "saas": RateLimit.saas(),
    }[args.rate_limit]
    emulator = SentryEmulator(
        seed=args.seed, rate_limit=limit, latency=args.latency, retry_after=not args.no_retry_after
    )
    emulator.add_org(args.org, scim=True)
    if args.teams:
        emulator.add_teams(args.org, args.teams)
    if args.members:
        emulator.add_members(args.org, args.members, teams=args.teams)
    token = emulator.add_token(args.org)
    scim_token = emulator.add_token(args.org, kind="scim")
    return emulator, token, scim_token


async def _serve(args: argparse.Namespace) -> None:
    emulator, token, scim_token = build(args)
    async with emulator.serve(args.host, args.port) as url:
        print(f"Sentry emulator serving organization {args.org!r} at {url}", flush=True)
        print(f"SENTRY_URL={url}")
        print(f"SENTRY_ORG={args.org}")
        print(f"SENTRY_AUTH_TOKEN={token}")
        print(f"SENTRY_SCIM_TOKEN={scim_token}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentry_members_async.testing")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a seeded emulator over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--org", default="acme")
    serve.add_argument("--members", type=int, default=100)
    serve.add_argument("--teams", type=int, default=5)
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--latency", type=float, default=0.0)
    serve.add_argument("--rate-limit", choices=["none", "docs", "saas"], default="none")
    serve.add_argument("--no-retry-after", action="store_true")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
