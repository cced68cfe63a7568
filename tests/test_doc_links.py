"""Every relative link in README.md and docs/**/*.md leads to a file or directory inside
the repository (a fresh clone has nothing beside it), and each #anchor into a markdown
file names one of its headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def anchors(text: str) -> set[str]:
    """GitHub's anchors of the headings in markdown `text`."""
    headings = re.findall(r"^#+\s+(.*?)\s*#*$", _CODE.sub("", text), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def broken(doc: Path, text: str) -> list[str]:
    """The links of `text` (standing at `doc`) that lead nowhere in the repository."""
    out = []
    for target in _LINK.findall(_CODE.sub("", text)):
        if re.match(r"[a-zA-Z][\w+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve()
        if path and (not resolved.is_relative_to(REPO) or not resolved.exists()):
            out.append(f"{target}: no such file in the repository")
            continue
        if not anchor or (path and resolved.suffix != ".md"):
            continue  # no anchor, or one into a file that is not markdown
        if anchor not in anchors(resolved.read_text() if path else text):
            out.append(f"{target}: no such heading")
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_links_resolve_inside_the_repository(doc: Path) -> None:
    assert broken(doc, doc.read_text()) == []


def test_the_check_finds_what_it_should() -> None:
    text = (
        "# Top heading\n[ok](../README.md) [web](https://example.org) [self](#top-heading)\n"
        "[up](decisions/) [out](../../shared/DESIGN.md) [gone](decisions/9999-none.md)\n"
        "[bad](#nowhere) `[code](nowhere.md)`\n"
    )
    found = broken(REPO / "docs" / "x.md", text)
    assert [f.split(":")[0] for f in found] == [
        "../../shared/DESIGN.md",
        "decisions/9999-none.md",
        "#nowhere",
    ]
