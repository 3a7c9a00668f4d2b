"""The documentation site (docs/conf.py): the README's docs command builds it with warnings
as errors, every chapter is a page in the reading order, no page loads anything from the
network, and a broken link or anchor stops the build and is named.

Each build is a subprocess of about 3 s (this module takes about 10 s on a 2-core machine).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BUILD_TIMEOUT = 180  # seconds: a build takes a few; this only ends a hung one

# Where a page names an asset the browser fetches by itself.
HTML_ASSET = re.compile(
    r"<(?:script|img|iframe|source)\b[^>]*?\bsrc\s*=\s*[\"']?(?P<src>[^\"'\s>]*)"
    r"|<link\b[^>]*?\bhref\s*=\s*[\"']?(?P<href>[^\"'\s>]*)",
    re.IGNORECASE,
)
CSS_ASSET = re.compile(
    r"@import\s+(?:url\(\s*)?[\"']?(?P<imported>[^\"')\s;]*)|url\(\s*[\"']?(?P<url>[^\"')]*)",
    re.IGNORECASE,
)
STYLE = re.compile(r"<style\b[^>]*>(?P<css>.*?)</style>", re.IGNORECASE | re.DOTALL)
FROM_NETWORK = re.compile(r"^(?:https?:)?//", re.IGNORECASE)


def chapters(folder: Path) -> set[str]:
    """Every Markdown chapter under folder, as Sphinx names pages (`learn/01-echo`)."""
    return {
        md.relative_to(folder).with_suffix("").as_posix()
        for md in folder.rglob("*.md")
        if not {"_build", ".venv"} & set(md.relative_to(folder).parts)
    }


def readme_docs_command() -> list[str]:
    """The sphinx-build of the README's ```sh block after `<!-- docs-command -->`."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- docs-command -->\n```sh\n(?P<command>.*?)\n```", readme, re.DOTALL)
    assert block is not None, "README.md has no ```sh block after <!-- docs-command -->"
    return shlex.split(block["command"].split("&&")[-1])


def build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build source into out with the README's own sphinx-build options."""
    program, *options, readme_source, readme_out = readme_docs_command()
    assert Path(program).name == "sphinx-build"
    assert (readme_source, readme_out) == ("docs", "docs/_build/html")
    return subprocess.run(
        [sys.executable, "-m", "sphinx", *options, str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )


def assets_from_network(html: str, css: list[str]) -> list[str]:
    """What these pages and stylesheets would fetch from another host."""
    found = [m["src"] or m["href"] or "" for m in HTML_ASSET.finditer(html)]
    for sheet in [*css, *(m["css"] for m in STYLE.finditer(html))]:
        found += [m["imported"] or m["url"] or "" for m in CSS_ASSET.finditer(sheet)]
    return [asset for asset in found if FROM_NETWORK.match(asset)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("site")
    return build(DOCS, out), out


def test_site_builds_with_the_readme_command_and_no_warning(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = site
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    assert "-W" in readme_docs_command()  # warnings are errors, for anyone who builds it
    assert (out / "index.html").is_file()
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "docs/_build/" in ignored  # the README's output folder is never committed


def test_site_has_a_page_for_every_chapter_and_none_for_the_programs(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = site
    pages = {
        page.relative_to(out).with_suffix("").as_posix()
        for page in out.rglob("*.html")
        if not page.relative_to(out).parts[0].startswith("_")
    }
    assert pages - {"genindex", "search"} == chapters(DOCS)
    assert {"index", "architecture", "tutorial", "shutdown", "learn/01-echo"} <= pages
    assert not (out / "tutorial").exists()  # docs/tutorial/*.py are programs, not pages


def test_site_entry_page_lists_the_path_first_then_how_chat_trio_does_it(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = site
    index = (out / "index.html").read_text()
    linked = re.findall(r'href="([^"#]+)\.html"', index)
    order = list(dict.fromkeys(page for page in linked if page in chapters(DOCS)))
    learn = [page for page in order if page.startswith("learn/")]
    assert learn == sorted(learn) and learn[0] == "learn/01-echo" and len(learn) == 10
    assert order[: len(learn) + 1] == ["tutorial", *learn]  # the path's overview, the path,
    assert set(order) == chapters(DOCS) - {"index"}  # then the chapters on the server
    assert order.index("architecture") < order.index("shutdown") < order.index("benchmarks")


def test_site_entry_page_on_github_links_every_chapter_in_the_toctrees_order() -> None:
    # GitHub shows a toctree as a code block: without a plain list, index.md links nowhere.
    index = (DOCS / "index.md").read_text()
    listed = re.findall(r"^- \[(?P<title>[^\]]+)\]\((?P<path>[^)#]+)\.md\)$", index, re.MULTILINE)
    toctree: list[str] = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", index, re.DOTALL):
        for entry in block.splitlines():
            if entry and not entry.startswith(":"):
                found = sorted(DOCS.glob(f"{entry}.md"))
                toctree += [md.relative_to(DOCS).with_suffix("").as_posix() for md in found]
    assert [path for _, path in listed] == toctree
    for title, path in listed:  # each link says what the page's own title says
        assert (DOCS / f"{path}.md").read_text().splitlines()[0] == f"# {title}"


def test_site_pages_load_nothing_from_the_network(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = site
    css = [sheet.read_text() for sheet in out.rglob("*.css")]
    assert any("url(" in sheet for sheet in css)  # the theme's icons: there is something to check
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > len(chapters(DOCS))
    for page in pages:
        assert assets_from_network(page.read_text(), []) == [], page.name
    assert assets_from_network("", css) == []
    # The check itself finds what a CDN or a web font would add:
    cdn = (
        '<link rel="stylesheet" href="https://cdn.example/x.css"><script src="//cdn.example/x.js">'
    )
    font = "<style>@import url('https://fonts.example/css');</style>"
    assert assets_from_network(
        cdn + font, ['a { background: url("http://img.example/a.png") }']
    ) == [
        "https://cdn.example/x.css",
        "//cdn.example/x.js",
        "http://img.example/a.png",
        "https://fonts.example/css",
    ]
    assert assets_from_network("", ["a { background: url('data:image/svg+xml,<svg/>') }"]) == []


def test_site_keeps_githubs_anchors_for_headings_and_html_anchors(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = site
    storage = (out / "storage.html").read_text()
    assert 'id="10-in-redis---redis-several-nodes-one-chat"' in storage  # as GitHub makes it
    protocol = (out / "protocol.html").read_text()
    assert '<span id="client-tags"></span><strong>Client tags.</strong>' in protocol
    assert 'href="#client-tags"' in protocol


def test_site_build_fails_and_names_a_broken_link_or_anchor(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for folder in ("docs", "contrib"):  # production.md links to contrib/'s files
        shutil.copytree(
            ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("_build", "__pycache__")
        )
    with (copy / "docs" / "deadlines.md").open("a") as chapter:
        chapter.write(
            "\nSee [the missing chapter](no-such-chapter.md), [a missing heading]"
            "(storage.md#no-such-heading) and [a missing anchor](#nowhere).\n"
        )
    for attempt in ("first", "again"):  # a second build must not reuse the first's reading
        result = build(copy / "docs", tmp_path / "out")
        assert result.returncode != 0, attempt
        warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
        assert len(warnings) == 3, result.stderr
        assert all("deadlines.md:" in warning for warning in warnings)
        for target in ("no-such-chapter.md", "no-such-heading", "nowhere"):
            assert any(target in warning for warning in warnings), target


def test_site_every_chapter_with_code_from_the_sources_is_checked_by_test_docs() -> None:
    """A chapter anywhere under docs/ is a page; if it copies code, test_docs must check it."""
    from tests.test_docs import DOCS as CHECKED

    copying = {md for md in DOCS.rglob("*.md") if "<!-- from: " in md.read_text()}
    assert len(copying) >= 5
    assert copying - set(CHECKED) == set(), "chapters whose code tests/test_docs.py never checks"


def test_site_conf_gives_the_readme_docs_command() -> None:
    program, *options = readme_docs_command()
    conf = " ".join((DOCS / "conf.py").read_text().split())
    assert " ".join([Path(program).name, *options]) in conf
