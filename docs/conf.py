"""How docs/ becomes the teaching site: Sphinx reads the Markdown chapters with MyST.

Build it with the README's docs command (``sphinx-build -W --keep-going -E -b html docs
docs/_build/html``). ``-W`` makes every warning an error, so a broken link, a missing anchor
or a chapter left out of every table of contents stops the build; ``-E`` reads every page
again, so a second build does not stay silent about a warning that the first one reported.
This file only configures the build; it must never fetch anything, because the site is
built and read offline.
"""

from __future__ import annotations

import re

from docutils import nodes
from docutils.transforms import Transform
from sphinx.application import Sphinx

project = "chat-trio"
author = "the chat-trio authors"
copyright = "the chat-trio authors, MIT licence"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"

# docs/ is also a Python package of tested example programs (docs/tutorial/*.py). Sphinx reads
# only .md files, so those are never pages; the build folder and any virtualenv made in here
# must not be read as chapters either.
exclude_patterns = ["_build", ".venv", "**/.venv", "**/__pycache__"]

# The chapters link to headings with GitHub's anchors (storage.md#10-in-redis---redis-...).
# The site makes the same anchors, so one link works on GitHub and on the site alike.
myst_heading_anchors = 6
myst_heading_slug_func = "github"

# A fence without a language is a drawing or a terminal session: show it as it is, instead
# of colouring it as if it were Python.
highlight_language = "none"

# architecture.md's task tree is a Python block copied from inside server.py's docstring: a
# drawing in box characters, not code, which the lexer stumbles on. The block is still shown,
# only less coloured, so a failed colouring is not worth stopping the build for.
suppress_warnings = ["misc.highlighting_failure"]

# Furo ships its CSS, JavaScript and icons in its wheel and uses the reader's system fonts:
# nothing is loaded from the network (tests/test_site.py checks every page).
html_theme = "furo"
html_title = "chat-trio"
html_show_sourcelink = False

HTML_ANCHOR = re.compile(r'\s*<a (?:id|name)="(?P<id>[^"]+)">\s*(?:</a>\s*)?')


class HtmlAnchors(Transform):
    """Make ``<a id="x"></a>`` in a chapter a target that ``[text](#x)`` may link to.

    GitHub honours such an anchor; MyST passes the HTML through to the page but does not know
    the id exists, so a link to it would be reported as broken. This turns each one into an
    empty element with that id, registered with the document, before MyST resolves links.
    (MyST hands inline HTML over tag by tag: ``<a id="x">`` and ``</a>`` are two nodes.)
    """

    default_priority = 600  # before MyST's ResolveAnchorIds (879)

    def apply(self, **kwargs: object) -> None:
        for raw in list(self.document.findall(nodes.raw)):
            match = HTML_ANCHOR.fullmatch(raw.astext())
            if raw.get("format") != "html" or match is None:
                continue
            closing = raw.next_node(descend=False, siblings=True)
            if isinstance(closing, nodes.raw) and closing.astext().strip() == "</a>":
                closing.parent.remove(closing)
            anchor = nodes.inline("", "", ids=[match["id"]])
            self.document.set_id(anchor)
            raw.replace_self(anchor)


def setup(app: Sphinx) -> None:
    app.add_transform(HtmlAnchors)
