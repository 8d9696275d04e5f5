"""``python -m sentry_members_async`` / the ``sentry-members`` console script."""

from __future__ import annotations

import argparse
import sys

from ._version import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sentry-members`` command."""
    parser = argparse.ArgumentParser(
        prog="sentry-members",
        description="Manage the members, teams and SCIM users of a Sentry organization.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
