"""``sentry-members members watch``: stream membership changes as lines or JSON lines."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

import click

from ..errors import ConfigurationError
from ..watch import (
    CheckpointBusyError,
    CheckpointStore,
    FileStore,
    MemberEvent,
    MemberWatch,
    RedisStore,
    WatchOptions,
    default_key,
)
from .common import EX_TEMPFAIL, Exit, Settings, fail, go, opened
from .safe import terminal_text

__all__ = ["members_watch"]


async def _follow(
    watch: MemberWatch,
    show: Callable[[MemberEvent], None],
    *,
    once: bool,
    max_events: int | None,
    alerts: bool = False,
) -> None:
    """Show one poll's events (``once``), or every event until ``max_events``.

    ``alerts``: only the privilege alerts are shown (and counted); the other
    events are handed out all the same.
    """
    if once:
        for event in await watch.poll():
            if event.is_alert or not alerts:
                show(event)
        if watch.stats.baseline is not None:
            click.echo(
                f"baseline recorded: {watch.stats.baseline} members and invites; "
                "changes are shown from the next run on",
                err=True,
            )
        return
    shown = 0
    async for event in watch:
        if alerts and not event.is_alert:
            continue
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
@click.option(
    "--alerts",
    "only_alerts",
    is_flag=True,
    help="Print only privilege alerts (role raised to manager/owner, 2FA off, SSO lost, IdP).",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Start a new baseline over the stored checkpoint (unreadable, say).",
)
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
    only_alerts: bool,
    reset: bool,
    max_events: int | None,
    fmt: str,
) -> None:
    """Stream membership changes (invited, joined, removed, role/teams changed, ...).

    One watcher per checkpoint: while another holds it (a daemon, when this is
    a cron run), this one says so and exits 75 ("try again later"). With
    --alerts the checkpoint is one of its own, so an alerts feed and a full
    feed of one org can run side by side.
    """
    text = fmt == "text" or (fmt == "auto" and sys.stdout.isatty())
    log = logging.getLogger("sentry_members_async.watch")
    if not log.handlers:
        log.addHandler(logging.StreamHandler(sys.stderr))

    def show(event: MemberEvent) -> None:
        click.echo(terminal_text(event.describe()) if text else json.dumps(event.to_json()))
        sys.stdout.flush()

    async def work(settings: Settings) -> int:
        store = _store(redis_url, state_dir)
        try:
            async with opened(settings) as (_client, org):
                options = WatchOptions(
                    interval=interval,
                    teams=with_teams,
                    budget=budget,
                    store=store,
                    emit_initial=emit_initial,
                    reset=reset,
                    key=default_key(org, with_teams) + ":alerts" if only_alerts else None,
                )
                async with MemberWatch(org, options) as watch:
                    await _follow(watch, show, once=once, max_events=max_events, alerts=only_alerts)
        except CheckpointBusyError as exc:
            fail(exc, settings)  # one line
            raise Exit(EX_TEMPFAIL) from None  # held by another watcher: try again later
        except _redis_errors() as exc:
            where = _no_password(redis_url or "")
            raise ConfigurationError(f"the Redis store at {where}: {exc}") from None
        finally:
            if isinstance(store, RedisStore):
                await store.aclose()
        return 0

    go(ctx, work)


def _store(redis_url: str | None, state_dir: str | None) -> CheckpointStore:
    """``--redis URL`` or ``--state-dir DIR`` (default: the state directory)."""
    if not redis_url:
        return FileStore(state_dir)
    try:
        return RedisStore(redis_url)
    except ValueError as exc:  # redis-py's answer to a URL it cannot read
        where = _no_password(redis_url)
        raise ConfigurationError(f"--redis {where} is not a Redis URL: {exc}") from None


def _redis_errors() -> tuple[type[BaseException], ...]:
    """redis-py's errors (when the extra is installed): one line, not a traceback."""
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - the extra is installed in CI
        return ()
    return (RedisError,)


def _no_password(url: str) -> str:
    """A Redis URL without its password (``redis://:secret@host`` -> ``redis://:***@host``)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
