"""``python -m sentry_members_async`` / the ``sentry-members`` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sentry-members`` command (needs the ``cli`` extra)."""
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
