"""Code shown in docs/ is the real code: every block marked ``<!-- from: PATH -->``
must appear, line for line, in that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- from: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", re.DOTALL)
DOCS = sorted((ROOT / "docs").glob("*.md"))


def blocks() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in BLOCK.finditer(doc.read_text()):
            found.append((doc.name, match["path"], match["code"]))
    return found


def test_docs_have_code_from_source_files() -> None:
    assert len(blocks()) >= 10


@pytest.mark.parametrize(("doc", "path", "code"), blocks())
def test_docs_code_block_matches_its_source(doc: str, path: str, code: str) -> None:
    assert code in (ROOT / path).read_text(), f"{doc}: a block no longer matches {path}"


def test_docs_readme_tells_nc_and_telnet_users_about_their_clients() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "until you press Enter" in readme  # Debian's nc 1.219, even with -N or -q
    assert "`telnet -8` does not help" in readme  # 0x8F and 0x9C break UTF-8 in telnet
    assert "Names are not owned yet" not in (ROOT / "docs" / "protocol.md").read_text()
