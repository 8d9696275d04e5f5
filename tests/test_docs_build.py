"""The documentation site as a reader gets it: built by ``mkdocs build --strict``.

Skipped where mkdocs is not installed (the tests session); ``nox -s docs``
runs it on the site it has just built (``$SMA_DOCS_SITE``); otherwise it
builds the site once into a temporary folder. Then it reads the HTML:

* no Sphinx role is left unrendered (``:class:`Plan``` as text): the
  docstrings' roles become cross-references (``docs/_griffe/sphinx_roles.py``);
* the site works opened from disk: every link inside it names a file that
  exists (``use_directory_urls: false``), never a folder, which a browser
  shows as a directory listing;
* each command of ``sentry-members`` has its page, generated from the click
  definitions (mkdocs-click), naming every subcommand and option;
* shell completion and the exit codes are documented.
"""

from __future__ import annotations

import html
import os
import pathlib
import re
import subprocess
import sys
from urllib.parse import unquote, urlsplit

import click
import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocs_click")

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROLE = re.compile(r":(?:py:)?(?:class|mod|meth|func|data|attr|exc|obj|const|term):`?[\w.~]")
HREF = re.compile(r'\b(?:href|src)="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    built = os.environ.get("SMA_DOCS_SITE")
    if built:  # nox -s docs has just built it there
        return (ROOT / built).resolve()
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _pages(site: pathlib.Path) -> list[pathlib.Path]:
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) > 20
    return pages


def _text(page: pathlib.Path) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_no_sphinx_role_is_left_unrendered(site: pathlib.Path) -> None:
    left = {
        page.relative_to(site).as_posix(): sorted(set(ROLE.findall(_text(page))))[:5]
        for page in _pages(site)
        if ROLE.search(_text(page))
    }
    assert left == {}


def test_the_roles_became_links(site: pathlib.Path) -> None:
    # sentry_members_async/reconcile's docstrings name :class:`Plan`: a link to it now.
    bulk = (site / "reference" / "bulk.html").read_text(encoding="utf-8")
    assert re.search(
        r'<a class="autorefs autorefs-internal"[^>]*href="[^"]*#sentry_members_async\.', bulk
    )


def test_every_link_opens_a_file_from_disk(site: pathlib.Path) -> None:
    broken: list[str] = []
    for page in _pages(site):
        for href in HREF.findall(page.read_text(encoding="utf-8")):
            parts = urlsplit(html.unescape(href))
            if parts.scheme or parts.netloc or not parts.path:
                continue  # another site, or an anchor on this page
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {href}")
    assert broken == []


def _commands() -> dict[str, click.Command]:
    from sentry_members_async.cli import cli

    assert isinstance(cli, click.Group)
    return dict(cli.commands)


def test_each_command_has_its_generated_page(site: pathlib.Path) -> None:
    for name, command in _commands().items():
        page = site / "reference" / "cli" / f"{name}.html"
        assert page.is_file(), f"no page for sentry-members {name}"
        text = _text(page)
        assert f"sentry-members {name}" in text
        assert "Usage:" in text
        subcommands = command.commands if isinstance(command, click.Group) else {}
        for sub_name, sub in subcommands.items():
            assert f"sentry-members {name} {sub_name}" in text, (name, sub_name)
            for param in sub.params:
                if isinstance(param, click.Option) and not param.hidden:
                    assert param.opts[0] in text, (name, sub_name, param.opts[0])


def test_shell_completion_and_exit_codes_are_documented(site: pathlib.Path) -> None:
    completion = _text(site / "reference" / "cli" / "index.html")
    for shell in ("bash_source", "zsh_source", "fish_source"):
        assert f"_SENTRY_MEMBERS_COMPLETE={shell} sentry-members" in completion
    guide = _text(site / "guides" / "cli.html")
    for code in ("130", "141", "75"):
        assert re.search(rf"\b{code}\b", guide), f"exit code {code} is not in the CLI guide"
