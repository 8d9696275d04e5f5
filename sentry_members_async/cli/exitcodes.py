"""The exit codes of ``sentry-members``: one table, honoured by every command.

``docs/guides/cli.md`` prints the same table; ``tests/test_cli_unix.py``
produces each code at least once.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "EX_BROKEN_PIPE",
    "EX_FAILED",
    "EX_INTERRUPTED",
    "EX_NOT_FOUND",
    "EX_OK",
    "EX_TEMPFAIL",
    "EX_TERMINATED",
    "EX_USAGE",
]

EX_OK = 0
#: Some items failed (their rows are in the command's failed-rows file), or the
#: server refused the one item, or an error that is none of the below.
EX_FAILED = 1
#: Usage or configuration: a bad flag or argument, an unreadable input file, no
#: organization, a token Sentry refused (401) or one missing a scope.
EX_USAGE = 2
#: What was asked for does not exist: a member, a team, the organization
#: (for a bulk command: no item failed, but some were not found).
EX_NOT_FOUND = 3
#: sysexits' "temporary failure": a daily invite quota deferred rows (written to
#: a file); run them again later, or use ``--via scim``.
EX_TEMPFAIL = 75
#: Interrupted (Ctrl-C, SIGINT): the outcomes so far are printed and the rows
#: not done written to the command's failed-rows file.
EX_INTERRUPTED = 130
#: The reader of stdout went away (``| head -1``): the shell's code for SIGPIPE.
EX_BROKEN_PIPE = 141
#: Stopped by SIGTERM (systemd, Kubernetes): as for 130.
EX_TERMINATED = 143

#: ``code: meaning``, in the order ``docs/guides/cli.md`` lists them.
EXIT_CODES: dict[int, str] = {
    EX_OK: "everything asked for was done",
    EX_FAILED: "some items failed (see the failed-rows file the command names), "
    "or the server refused the one item",
    EX_USAGE: "usage or configuration error: a bad flag, argument or input file, no "
    "organization, a token Sentry refused or one without the scope needed",
    EX_NOT_FOUND: "not found: the member, team or organization does not exist "
    "(a bulk command: nothing failed, but some items were not found)",
    EX_TEMPFAIL: "the daily invite quota deferred rows (written to a file): run them "
    "again later, or use --via scim",
    EX_INTERRUPTED: "interrupted (Ctrl-C): outcomes so far printed, rows not done "
    "written to a file",
    EX_BROKEN_PIPE: "the reader of the output went away (| head)",
    EX_TERMINATED: "stopped by SIGTERM: as for 130",
}
