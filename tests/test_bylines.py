"""The one-pass byline search gives trafilatura's extract_author answer on every page we have."""

from __future__ import annotations

from pathlib import Path

from trafilatura.metadata import extract_author
from trafilatura.utils import load_html

from bench.pages import generate
from bench.real_pages import load_pages
from crawler.bylines import find_author

QUALITY_PAGES = Path(__file__).parent / "quality" / "pages"


def test_same_author_as_trafilatura_on_real_and_self_made_pages() -> None:
    pages = [p.html for p in load_pages()] + [p.html for p in generate(60)]
    pages += [path.read_text(encoding="utf-8") for path in sorted(QUALITY_PAGES.glob("*.html"))]
    found = 0
    for html in pages:
        # Two trees: extract_author works on a copy, but a bug here could change the tree it is given.
        ours, theirs = find_author(load_html(html)), extract_author(load_html(html))
        assert ours == theirs
        found += ours is not None
    assert len(pages) == 368 and found > 100  # the pages do test bylines, not only their absence
