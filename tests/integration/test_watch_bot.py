"""examples/watch_bot.py, run as a program against the emulator and a local webhook."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sys
from typing import Any

from aiohttp import web

from sentry_members_async import MemberId, SentryClient
from sentry_members_async.testing import SentryEmulator

BOT = pathlib.Path(__file__).resolve().parents[2] / "examples" / "watch_bot.py"


async def test_bot_posts_each_joined_and_removed_to_the_webhook(tmp_path: pathlib.Path) -> None:
    emu = SentryEmulator(seed=8, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 60, pending_ratio=0.1)
    token = emu.add_token("acme")
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with emu.serve() as url:
            env = {**os.environ, "SENTRY_URL": url, "SENTRY_AUTH_TOKEN": token}
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                str(BOT),
                "--org",
                "acme",
                "--webhook",
                f"http://127.0.0.1:{port}/hook",
                "--interval",
                "0.05",
                "--state-dir",
                str(tmp_path),
                "--max-posts",
                "2",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            assert bot.stdout is not None
            ready = await asyncio.wait_for(bot.stdout.readline(), 60)
            assert ready == b"watching acme\n"
            invite = next(m for m in emu.members("acme") if m["pending"])
            leaver = next(m for m in emu.members("acme") if m["role"] == "member")
            mover = next(
                m for m in emu.members("acme") if m["role"] == "member" and m is not leaver
            )
            async with SentryClient(token, base_url=url) as client:
                acme = client.org("acme")
                await acme.members.update(MemberId(str(mover["id"])), role="manager")  # not posted
                emu.accept_invite("acme", invite["email"])
                await acme.members.remove(MemberId(str(leaver["id"])))
            _out, err = await asyncio.wait_for(bot.communicate(), 60)
            assert bot.returncode == 0, err.decode()
    finally:
        await runner.cleanup()
    texts = sorted(body["text"] for body in received)
    assert texts == sorted([f"{invite['email']} joined acme", f"{leaver['email']} left acme"])
    assert {body["event"]["kind"] for body in received} == {"joined", "removed"}
    assert token.encode() not in err


async def test_ctrl_c_stops_the_bot_with_one_line_and_130(tmp_path: pathlib.Path) -> None:
    emu = SentryEmulator(seed=8, rate_limit=None)
    emu.add_org("acme")
    emu.add_members("acme", 5)
    token = emu.add_token("acme")
    async with emu.serve() as url:
        env = {**os.environ, "SENTRY_URL": url, "SENTRY_AUTH_TOKEN": token}
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOT),
            "--org",
            "acme",
            "--webhook",
            "http://127.0.0.1:9/hook",  # never posted to: nothing changes
            "--interval",
            "0.05",
            "--state-dir",
            str(tmp_path),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # a pytest-xdist worker ignores SIGINT, and a child would inherit that
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert bot.stdout is not None
        assert await asyncio.wait_for(bot.stdout.readline(), 60) == b"watching acme\n"
        bot.send_signal(signal.SIGINT)
        _out, err = await asyncio.wait_for(bot.communicate(), 60)
    assert bot.returncode == 130
    assert err == b"stopped\n"  # no traceback
