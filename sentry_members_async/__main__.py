"""``python -m sentry_members_async`` / the ``sentry-members`` console script."""

from __future__ import annotations

import os
import sys


def _ca_bundle(args: list[str]) -> str | None:
    """The ``--ca-bundle FILE`` given anywhere on the line (before ``--``), if any."""
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        if arg == "--ca-bundle" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--ca-bundle="):
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sentry-members`` command (needs the ``cli`` extra)."""
    bundle = _ca_bundle(sys.argv[1:] if argv is None else argv)
    if bundle and os.path.isfile(bundle) and argv is None:
        path = os.path.abspath(bundle)
        if os.environ.get("SSL_CERT_FILE") != path:
            # aiohttp builds its TLS context when it is imported (the package's
            # import, before this runs), reading the CA file SSL_CERT_FILE names
            # then: start again with it set. (The transport has no ssl= option.)
            env = {**os.environ, "SSL_CERT_FILE": path}
            command = [sys.executable, "-m", "sentry_members_async", *sys.argv[1:]]
            os.execve(sys.executable, command, env)  # noqa: S606 (this program, its own line)
    try:
        from .cli import run
    except ImportError as exc:
        print(
            "sentry-members needs the 'cli' extra: pip install 'sentry-members-async[cli]' "
            f"({exc})",
            file=sys.stderr,
        )
        return 2
    return run(argv)


def cli_main() -> None:
    """Console-script wrapper: exits with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
