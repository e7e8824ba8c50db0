"""Every relative link in README.md and docs/**/*.md names a file that exists, and every anchor a
heading (or an explicit ``id``) of its target.

MkDocs checks the site's pages (``validation:`` in mkdocs.yml, strict in ``make docs``) but never
sees README.md, which is what GitHub shows first. The pages are read on GitHub too, so an anchor
must be a heading's id there (GitHub's slugs) and on the site (Python-Markdown's).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
PAGES = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")
EXPLICIT_ID = re.compile(r"""<a id="([^"]+)"></a>""")
# Pages MkDocs hooks make at build time (docs/hooks/openapi_page.py, retention_page.py): on the
# site, not in git.
GENERATED = {
    PROJECT_DIR / "docs" / "api-reference.md",
    PROJECT_DIR / "docs" / "security" / "retention-schedule.md",
    PROJECT_DIR / "docs" / "security" / "biometric-notice.md",
}


def prose(text: str) -> str:
    """The Markdown outside fenced code blocks and code spans (a ``# comment`` is no heading)."""
    kept, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(re.sub(r"`[^`]*`", "``", line))
    return "\n".join(kept)


def github_slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def markdown_slug(heading: str) -> str:
    """Python-Markdown's toc slugify, as MkDocs uses it."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path, slug: Callable[[str], str]) -> set[str]:
    """The anchors of ``page`` under one slug flavour: explicit ids, then headings (repeats numbered)."""
    text = page.read_text(encoding="utf-8")
    found: set[str] = set(EXPLICIT_ID.findall(text))
    seen: dict[str, int] = {}
    separator = "_" if slug is markdown_slug else "-"
    for heading in _headings(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}{separator}{count}")
    return found


def _headings(text: str) -> list[str]:
    headings, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.+?)\s*#*$", line)):
            headings.append(match.group(1))
    return headings


def links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page.read_text(encoding="utf-8")))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, mailto:: not ours to check
    ]


def broken_links(page: Path) -> list[str]:
    """Each relative link of ``page`` whose file is missing, or whose anchor no heading has."""
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if resolved in GENERATED:
            continue
        if not resolved.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md":
            slugs = [github_slug] if resolved.name == "README.md" else [github_slug, markdown_slug]
            missing = [s.__name__ for s in slugs if anchor not in anchors(resolved, s)]
            if missing:
                broken.append(f"{target}: no heading with that anchor ({', '.join(missing)})")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(PROJECT_DIR)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert not broken_links(page), page.relative_to(PROJECT_DIR)


def test_the_readme_links_into_the_docs() -> None:
    assert any(target.startswith("docs/") for target in links(PROJECT_DIR / "README.md"))


def test_a_broken_link_and_a_broken_anchor_are_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A heading\n\n```sh\n# not a heading\n```\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-heading) [gone](missing.md) [bad](other.md#no-heading) "
        "[code](other.md#not-a-heading) [web](https://example.com/x.md)\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#no-heading: no heading with that anchor (github_slug, markdown_slug)",
        "other.md#not-a-heading: no heading with that anchor (github_slug, markdown_slug)",
    ]
