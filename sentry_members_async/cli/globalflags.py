"""Global flags anywhere on the line: ``sentry-members members list --org acme``.

gh and sentry-cli take their global flags after the subcommand too; click
takes a group's options only before its subcommand. :class:`GlobalFlagsGroup`
(the root group) moves them to the front before click parses the line:

- an option of the root group (``--org``, ``--url``, ``--token``,
  ``--scim-token``, ``--allow-insecure-http``, ``-q``, ``-v``, ``--debug``)
  found after a subcommand goes before it, unless that subcommand has an
  option of the same name (its own then wins);
- ``--format`` given before the subcommand goes to the command that has a
  ``--format`` (every listing; a command without one is a usage error);
- the walk knows which options take a value, so a value that looks like a
  flag (``--query -q``) stays where it is, and nothing after ``--`` moves.

It works for every command of the tree, whichever module defines it.
"""

from __future__ import annotations

import click

__all__ = ["GlobalFlagsGroup", "hoist"]

_NOT_HOISTED = {"--help", "-h", "--version"}


def _options(command: click.Command) -> dict[str, bool]:
    """Each option string of ``command``, and whether it takes a value."""
    found: dict[str, bool] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            takes = not param.is_flag and not param.count
            for name in (*param.opts, *param.secondary_opts):
                found[name] = takes
    return found


class _Walk:
    def __init__(self, root: click.Group, ctx: click.Context) -> None:
        self.ctx = ctx
        self.globals = {k: v for k, v in _options(root).items() if k not in _NOT_HOISTED}
        self.command: click.Command = root
        self.own = _options(root)
        self.path = ["sentry-members"]
        self.front: list[str] = []
        self.rest: list[str] = []
        self.leaf_at = 0
        self.fmt: str | None = None

    def option(self, args: list[str], i: int) -> int:
        """Move or keep the option at ``args[i]``; the index after it (and its value)."""
        arg = args[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        nxt = args[i + 1] if i + 1 < len(args) else None
        is_root = len(self.path) == 1
        if name == "--format" and "--format" not in self.own:
            # Given before the subcommand that has it: carried to it.
            if eq:
                self.fmt = value
                return i + 1
            self.fmt = nxt
            return i + 2
        if name in self.globals and (is_root or name not in self.own):
            takes = self.globals[name]
            self.front.append(arg)
            if takes and not eq and nxt is not None:
                self.front.append(nxt)
                return i + 2
            return i + 1
        if _short_flags(arg, self.globals) and not any(f"-{c}" in self.own for c in arg[1:]):
            self.front.append(arg)
            return i + 1
        self.rest.append(arg)
        if self.own.get(name) and not eq and nxt is not None and len(name) == len(arg):
            self.rest.append(nxt)
            return i + 2
        return i + 1

    def word(self, arg: str) -> None:
        if isinstance(self.command, click.Group):
            sub = self.command.get_command(self.ctx, arg)
            if sub is not None:
                self.command = sub
                self.own = _options(sub)
                self.path.append(arg)
                self.rest.append(arg)
                self.leaf_at = len(self.rest)
                return
        self.rest.append(arg)


def _short_flags(arg: str, known: dict[str, bool]) -> bool:
    """``-qv``: several short global flags in one word."""
    if not arg.startswith("-") or arg.startswith("--") or len(arg) < 3:
        return False
    return all(known.get(f"-{c}") is False for c in arg[1:])


def hoist(root: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with the global flags before the subcommand and ``--format`` after it."""
    walk = _Walk(root, ctx)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            walk.rest.extend(args[i:])
            break
        if arg.startswith("-") and len(arg) > 1:
            i = walk.option(args, i)
            continue
        walk.word(arg)
        i += 1
    rest = walk.rest
    if walk.fmt is not None:
        if "--format" in _options(walk.command):
            rest = [*rest[: walk.leaf_at], "--format", walk.fmt, *rest[walk.leaf_at :]]
        elif not isinstance(walk.command, click.Group):
            raise click.UsageError(f"--format does not apply to '{' '.join(walk.path)}'")
    return [*walk.front, *rest]


class GlobalFlagsGroup(click.Group):
    """The root group: global flags before or after the subcommand (:func:`hoist`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist(self, ctx, args)
        return super().parse_args(ctx, args)
