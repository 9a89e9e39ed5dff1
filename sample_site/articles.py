"""The sample articles: data/articles.toml read into plain values, and where each article's page lives."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

ARTICLES_FILE = Path(__file__).with_name("data") / "articles.toml"
# Long enough to read as a news paragraph on their own: made-up stories are built from these.
LONG_PARAGRAPH_CHARS = 150


@dataclass(frozen=True)
class Article:
    """One sample article's data and the path of its page."""

    data: dict[str, Any]
    path: str

    @property
    def published(self) -> datetime:
        return datetime.fromisoformat(self.data["published"])


def load_articles() -> list[dict[str, Any]]:
    """Return the sample articles' data, in the file's order."""
    with ARTICLES_FILE.open("rb") as fh:
        return list(tomllib.load(fh)["article"])


@cache
def long_paragraphs() -> tuple[str, ...]:
    """Return every sample paragraph long enough to stand in a made-up story, in the file's order."""
    return tuple(p for a in load_articles() for p in a["paragraphs"] if len(p) > LONG_PARAGRAPH_CHARS)


def article_path(data: dict[str, Any]) -> str:
    """Return the path of an article's page: /section/YYYY-MM/DD/slug.html."""
    when = datetime.fromisoformat(data["published"])
    return f"/{data['section']}/{when:%Y-%m}/{when:%d}/{data['slug']}.html"
