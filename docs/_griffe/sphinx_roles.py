"""A Griffe extension: the docstrings' Sphinx roles as cross-references.

The package's docstrings use Sphinx roles (``:class:`Plan```, ``:mod:`..reconcile```,
``:meth:`acquire```, ``:func:``, ``:data:``, ``:attr:``, ``:exc:``, ``:obj:``).
mkdocstrings' Sphinx docstring style parses the ``:param:`` fields but leaves
these roles as text. This extension, loaded by mkdocstrings-python
(``extensions:`` in ``mkdocs.yml``), rewrites each role in every docstring of
the package, before it is parsed, as an mkdocs-autorefs reference:
``<autoref identifier="sentry_members_async.reconcile.Plan" optional><code>Plan</code></autoref>``.
The name is resolved in the object's scope (its imports included); a leading
``.`` is relative to the object's package, as in a relative import; ``~``
shows the last part only. ``optional``: a target the reference pages do not
render (a private helper) shows as code, with no link and no warning.

Nothing in the package's source changes; ``tests/test_docs_build.py`` checks
that no role is left in the built HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:class|mod|meth|func|data|attr|exc|obj|const|term):`(?P<target>[^`]+)`"
)


def _relative(obj: griffe.Object, target: str) -> str:
    """``.name`` / ``..name``: as a relative import from the object's module."""
    dots = len(target) - len(target.lstrip("."))
    module = obj if isinstance(obj, griffe.Module) else obj.module
    package = module.path if module.is_init_module else module.path.rpartition(".")[0]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (dots - 1)]) if dots > 1 else package
    rest = target[dots:]
    return f"{base}.{rest}" if rest else base


def _resolve(obj: griffe.Object, target: str) -> str:
    if target.startswith("."):
        return _relative(obj, target)
    head, _, tail = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            found = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            scope = scope.parent
            continue
        return f"{found}.{tail}" if tail else found
    return target


def convert(obj: griffe.Object, text: str) -> str:
    """``text`` with each Sphinx role made an optional autorefs reference."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"].strip()
        if "<" in target and target.endswith(">"):  # :class:`title <target>`
            title, _, target = target[:-1].partition("<")
            title = title.strip()
        else:
            short = target.startswith("~")
            target = target.lstrip("~")
            title = target.lstrip(".").rpartition(".")[2] if short else target.lstrip(".")
        identifier = _resolve(obj, target)
        return (
            f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>"
        )

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = convert(obj, obj.docstring.value)
            stack.extend(m for m in obj.members.values() if not m.is_alias)  # type: ignore[misc]

    # Older Griffe releases call this hook on_package_loaded; the rewrite is idempotent.
    def on_package_loaded(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self.on_package(pkg=pkg, **kwargs)
