"""What the spider hands to the pipelines: plain values, no Scrapy objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FetchedPage:
    """An article page as downloaded."""

    source: str
    url: str
    html: str
    variants: tuple[str, ...]
    # Publication date a feed or sitemap gave for this URL: evidence when the page has none.
    listed_published: datetime | None = None
    # Set when this is a revisit of a stored article (its id): a changed text becomes a version.
    revisit_of: int | None = None


@dataclass(frozen=True)
class FetchFailure:
    """A URL that could not be fetched or parsed, and why."""

    source: str
    url: str
    reason: str
