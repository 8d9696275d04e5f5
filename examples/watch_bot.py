"""A small bot: post every ``joined`` and ``removed`` of a Sentry org to a webhook.

Sentry sends no webhook for member lifecycle events; this bot derives them with
``acme.members.watch()`` and forwards two kinds as JSON (``{"text": ...}``, the
shape Slack and most chat webhooks accept, plus the event itself).

    SENTRY_AUTH_TOKEN=... SENTRY_ORG=acme python examples/watch_bot.py \\
        --webhook https://hooks.example.com/T000/B000/XXXX

Against the emulator (no Sentry account needed)::

    sentry-members emulator serve --detach > emulator.env && . ./emulator.env
    python examples/watch_bot.py --webhook http://127.0.0.1:9000/hook

The checkpoint (``--state-dir``) makes restarts safe: a bot that was down
posts what happened meanwhile, once. One bot per checkpoint: a second one on
the same state directory and org stops at once (``CheckpointBusyError``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import aiohttp

from sentry_members_async import MemberEvent, SentryClient
from sentry_members_async.watch import FileStore

POSTED = ("joined", "removed")


def message(event: MemberEvent) -> dict[str, object]:
    if event.kind == "joined":
        text = f"{event.email} joined {event.org}"
    else:
        text = f"{event.email} left {event.org}"
    return {"text": text, "event": event.to_json()}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--webhook", required=True, help="URL to POST each message to")
    parser.add_argument("--org", help="organization slug (default: SENTRY_ORG)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    parser.add_argument("--state-dir", help="checkpoint directory")
    parser.add_argument("--max-posts", type=int, help="exit after this many posts")
    args = parser.parse_args(argv)
    org_slug = args.org or os.environ.get("SENTRY_ORG")
    if not org_slug:
        parser.error("pass --org or set SENTRY_ORG")
    posts = 0
    async with SentryClient() as client, aiohttp.ClientSession() as http:
        watch = client.org(org_slug).members.watch(
            interval=args.interval, budget=0.2, store=FileStore(args.state_dir)
        )
        async with watch:
            await watch.poll()  # the baseline (or what changed while the bot was down)
            print(f"watching {org_slug}", flush=True)
            async for event in watch:
                if event.kind not in POSTED:
                    continue
                async with http.post(args.webhook, json=message(event)) as answer:
                    answer.raise_for_status()
                posts += 1
                if args.max_posts is not None and posts >= args.max_posts:
                    break
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:  # Ctrl-C: the checkpoint holds what was posted
        print("stopped", file=sys.stderr)
        sys.exit(130)
