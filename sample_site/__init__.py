"""The sample news site that `newsmon demo` serves on 127.0.0.1, and the fixture server it runs on.

Tests and benchmarks use it too. It is its own top-level package, below every layer: it imports
nothing from store/, crawler/ or scheduler/ (tests/test_layout.py checks), so the demo, a test or a
benchmark can serve it without loading the crawler.

    server.py     Page and SiteServer: serve a dict of pages, log what was asked
    articles.py   the sample articles (data/articles.toml) and their paths
    templates.py  the markup: article pages, listings, feeds, sitemaps
    site.py       the sample site built from them, and its sources.toml
"""

from __future__ import annotations

from sample_site.articles import load_articles, long_paragraphs
from sample_site.server import Page, SiteServer
from sample_site.site import SampleSite, build_sample_site, sources_toml
from sample_site.templates import feed_page

__all__ = ["Page", "SampleSite", "SiteServer", "build_sample_site", "feed_page", "load_articles",
           "long_paragraphs", "sources_toml"]
