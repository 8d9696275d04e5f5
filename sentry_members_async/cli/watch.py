"""``sentry-members members watch``: stream membership changes as lines or JSON lines."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

import click

from ..watch import CheckpointStore, FileStore, MemberEvent, MemberWatch, RedisStore
from .common import Settings, go, opened

__all__ = ["members_watch"]


async def _follow(
    watch: MemberWatch, show: Callable[[MemberEvent], None], *, once: bool, max_events: int | None
) -> None:
    """Show one poll's events (``once``), or every event until ``max_events``."""
    if once:
        for event in await watch.poll():
            show(event)
        return
    shown = 0
    async for event in watch:
        show(event)
        shown += 1
        if max_events is not None and shown >= max_events:
            break


@click.command("watch")
@click.option("--interval", type=float, default=60.0, show_default=True, help="Seconds per poll.")
@click.option("--teams", "with_teams", is_flag=True, help="Also report team changes.")
@click.option("--budget", type=float, default=0.2, show_default=True, help="Share of the limit.")
@click.option("--state-dir", help="Checkpoint directory (default ~/.local/state/sentry-members).")
@click.option("--redis", "redis_url", help="Keep the checkpoint in Redis at this URL instead.")
@click.option("--emit-initial", is_flag=True, help="First run: report every member.")
@click.option("--once", is_flag=True, help="Poll once, print what changed, exit.")
@click.option("--max-events", type=click.IntRange(min=1), help="Exit after N events.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto", "jsonl", "text")),
    default="auto",
    show_default=True,
    help="auto: a readable line each on a terminal, JSON lines otherwise.",
)
@click.pass_context
def members_watch(
    ctx: click.Context,
    interval: float,
    with_teams: bool,
    budget: float,
    state_dir: str | None,
    redis_url: str | None,
    emit_initial: bool,
    once: bool,
    max_events: int | None,
    fmt: str,
) -> None:
    """Stream membership changes (invited, joined, removed, role/teams changed, ...)."""
    text = fmt == "text" or (fmt == "auto" and sys.stdout.isatty())
    log = logging.getLogger("sentry_members_async.watch")
    if not log.handlers:
        log.addHandler(logging.StreamHandler(sys.stderr))

    def show(event: MemberEvent) -> None:
        click.echo(event.describe() if text else json.dumps(event.to_json()))
        sys.stdout.flush()

    async def work(settings: Settings) -> int:
        store: CheckpointStore = RedisStore(redis_url) if redis_url else FileStore(state_dir)
        try:
            async with opened(settings) as (_client, org):
                watch = org.members.watch(
                    interval=interval,
                    teams=with_teams,
                    budget=budget,
                    store=store,
                    emit_initial=emit_initial,
                )
                async with watch:
                    await _follow(watch, show, once=once, max_events=max_events)
        finally:
            if isinstance(store, RedisStore):
                await store.aclose()
        return 0

    go(ctx, work)
