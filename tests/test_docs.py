"""Code shown in docs/ is the real code: every block marked ``<!-- from: PATH -->``
must appear, line for line, in that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- from: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", re.DOTALL)
DOCS = sorted((ROOT / "docs").glob("**/*.md"))


def blocks() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in BLOCK.finditer(doc.read_text()):
            found.append((str(doc.relative_to(ROOT)), match["path"], match["code"]))
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


def irc_section() -> str:
    """docs/protocol.md's part on the IRC door (up to the web door's)."""
    doc = (ROOT / "docs" / "protocol.md").read_text()
    return doc[doc.index("## The IRC door") : doc.index("## The web door")]


def test_docs_protocol_names_every_irc_command_numeric_capability_and_isupport_token() -> None:
    """The IRC door's reference is whole: every command of the table, every numeric the door
    can send (a three-digit string in its source), every capability it offers and every
    ISUPPORT token it sends is named in docs/protocol.md, so a new one cannot go unsaid."""
    from chat_trio.doors.irc import commands, registration, render

    said = irc_section()
    source = "".join(path.read_text() for path in (ROOT / "chat_trio/doors/irc").glob("*.py"))
    numerics = set(re.findall(r'"(\d{3})"', source))
    assert len(numerics) > 100  # the search still finds them
    unsaid = [n for n in sorted(numerics) if not re.search(rf"(?<![\d.]){n}(?![\d.])", said)]
    assert unsaid == [], "numerics not in docs/protocol.md"
    unsaid = [c for c in commands.COMMANDS if not re.search(rf"`{c}\b", said)]
    assert unsaid == [], "commands not in docs/protocol.md"
    unsaid = [c for c in registration.CAPABILITIES if f"`{c}`" not in said]
    assert unsaid == [], "capabilities not in docs/protocol.md"
    tokens = [t.split("=")[0] for t in render.isupport(render.IrcSettings())]
    unsaid = [t for t in tokens if not re.search(rf"\b{t}\b", said)]
    assert unsaid == [], "ISUPPORT tokens not in docs/protocol.md"


def prose(page: Path) -> str:
    """A Markdown page without its code blocks (code is not links)."""
    return re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)


def test_docs_learning_path_links_lead_to_files_that_exist() -> None:
    """Every relative link of the path and its overview opens a file (a moved chapter or a
    renamed program would leave a reader at a dead end)."""
    pages = [ROOT / "docs" / "tutorial.md", *sorted((ROOT / "docs" / "learn").glob("*.md"))]
    assert len(pages) >= 5
    dead = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", prose(page))
        if not (page.parent / target).exists()
    ]
    assert dead == []
    chapters = [p.name for p in pages[1:]]
    overview = (ROOT / "docs" / "tutorial.md").read_text()
    assert [c for c in chapters if f"(learn/{c})" not in overview] == []  # each one listed


def test_docs_learning_path_chapters_have_every_part_and_show_every_program() -> None:
    """Each chapter has the parts a reader expects, in order, and every program of
    docs/tutorial/ (but the shared command line) is shown in a chapter, so none is orphaned."""
    chapters = sorted((ROOT / "docs" / "learn").glob("*.md"))
    assert [c.name[:3] for c in chapters] == [f"{n:02d}-" for n in range(1, len(chapters) + 1)]
    parts = ["## The whole program", "## Walking through it", "## Running it", "## Exercises"]
    for chapter in chapters:
        text = chapter.read_text()
        where = [text.find(part) for part in parts]
        assert -1 not in where and where == sorted(where), chapter.name
    shown = "".join(chapter.read_text() for chapter in chapters)
    programs = sorted((ROOT / "docs" / "tutorial").glob("*.py"))
    unshown = [
        p.name
        for p in programs
        if p.name not in ("__init__.py", "run.py")
        and f"<!-- from: docs/tutorial/{p.name} -->" not in shown
    ]
    assert unshown == []


def test_docs_learning_path_leads_to_chat_trios_own_shutdown() -> None:
    # Chapter 6's server lets people chat during its grace; chat-trio's grace is only for
    # writing what was sent. The path must say so, and lead to the page that shows it.
    for page in ("learn/06-shutdown.md", "learn/10-supervisor.md", "tutorial.md"):
        linked = re.findall(r"\]\(([^)#]+)\)", (ROOT / "docs" / page).read_text())
        assert {"shutdown.md", "../shutdown.md"} & set(linked), page
    chapter = " ".join((ROOT / "docs" / "learn" / "06-shutdown.md").read_text().split())
    assert "chat-trio does the same three steps" not in chapter


def test_docs_tutorial_history_file_stays_out_of_git() -> None:
    # `python -m docs.tutorial.history` writes history.sqlite3 where it runs: the checkout.
    assert "history.sqlite3" in (ROOT / ".gitignore").read_text().splitlines()
    overview = " ".join((ROOT / "docs" / "tutorial.md").read_text().split())
    assert ".venv/bin/python -m docs.tutorial.echo" in overview  # the README's environment


def test_docs_learning_path_says_the_rules_already_have_say_and_announce() -> None:
    # chapter 5's core.py has both; later chapters use them, they do not add them.
    core = (ROOT / "docs" / "tutorial" / "core.py").read_text()
    assert "def say(" in core and "def announce(" in core
    for page, wrong in (
        ("06-shutdown.md", "rules gain `announce`"),
        ("08-threads.md", "gain one method"),
    ):
        text = " ".join((ROOT / "docs" / "learn" / page).read_text().split())
        assert wrong not in text, page


def test_docs_broadcast_chapter_shows_the_whole_exception_group() -> None:
    # The crash is an ExceptionGroup from serve_listeners' nursery: chapter 4's except*
    # builds on seeing that, not only the last line.
    chapter = (ROOT / "docs" / "learn" / "02-broadcast.md").read_text()
    assert "Exception Group Traceback (most recent call last):" in chapter
    assert "| trio.BusyResourceError: another task is currently sending data" in chapter


def test_docs_slow_reader_experiments_say_what_default_buffers_hide() -> None:
    # Ctrl-Z and a paste of a few thousand lines fill no default socket buffer: the
    # chapters give a command with a small receive buffer, as the tests use.
    for page in ("03-lock.md", "04-channels.md"):
        text = " ".join((ROOT / "docs" / "learn" / page).read_text().split())
        assert "socket buffers" in text, page
    lock = (ROOT / "docs" / "learn" / "03-lock.md").read_text()
    assert "socket.SO_RCVBUF, 4096" in lock
