"""Every ``§N.N`` that lostbeat's code or tests cite names a section of
docs/reference/esx-artifacts.md, and every reference document they name by file is there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "reference"
_HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", re.MULTILINE)
_CITATION = re.compile(r"§ ?(\d+(?:\.\d+)*)")
_DOCUMENT = re.compile(r"\b([a-z][a-z-]+\.md)\b")


def _sources() -> list[Path]:
    return sorted(
        p for top in ("lostbeat", "tests") for p in (REPO / top).rglob("*.py") if p.is_file()
    )


def sections(text: str) -> set[str]:
    """The section numbers of a markdown document: ``## 1.`` and ``### 1.2`` give 1, 1.2.

    >>> sorted(sections("# T\\n## 1. A\\n### 1.2 B\\n#### 1.2.3 C\\n## Open questions\\n"))
    ['1', '1.2', '1.2.3']
    """
    return set(_HEADING.findall(text))


def test_every_section_cited_exists() -> None:
    known = sections((REFERENCE / "esx-artifacts.md").read_text(encoding="utf-8"))
    assert {"1.2", "2.2", "3.2", "4.1", "8"} <= known
    cited = {
        f"{path.relative_to(REPO)}:{n} §{number}"
        for path in _sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for number in _CITATION.findall(line)
        if number not in known
    }
    assert sorted(cited) == []


def test_the_reference_documents_cited_by_name_are_there() -> None:
    named = {
        name
        for path in _sources()
        for name in _DOCUMENT.findall(path.read_text(encoding="utf-8"))
        if name in ("esx-artifacts.md", "linux-mechanisms.md")
    }
    assert named == {"esx-artifacts.md", "linux-mechanisms.md"}
    assert all((REFERENCE / name).is_file() for name in named)
