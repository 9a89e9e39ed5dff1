"""What the spider and the pipelines hand on: plain values, no Scrapy objects.

OWNS: the item types. The spider yields FetchedPage and FetchFailure; the analysis pipeline turns a
FetchedPage into an AnalyzedPage (or a FetchFailure, or drops it and says why: the page_skipped
signal); the storing pipeline stores AnalyzedPages; the CrawlRun extension records every
FetchFailure and every skipped page on the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.analysis import Analysis


@dataclass(frozen=True)
class FetchedPage:
    """An article page as downloaded."""

    source: str
    url: str
    # Out of the repr: Scrapy logs an item's repr when it is scraped or dropped (at DEBUG), and a
    # page is ~50 KB of HTML.
    html: str = field(repr=False)
    variants: tuple[str, ...]
    # Publication date a feed or sitemap gave for this URL: evidence when the page has none.
    listed_published: datetime | None = None
    # Set when this is a revisit of a stored article (its id): a changed text becomes a version.
    revisit_of: int | None = None


@dataclass(frozen=True)
class AnalyzedPage:
    """An article page after analysis, on its way to the store."""

    url: str
    analysis: Analysis = field(repr=False)
    # As FetchedPage.revisit_of: the stored article whose new version this may be.
    revisit_of: int | None = None


@dataclass(frozen=True)
class FetchFailure:
    """A URL that could not be fetched or parsed, and why."""

    source: str
    url: str
    reason: str
