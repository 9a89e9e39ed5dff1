"""The stories page's filters: GET parameters read into an `ArticleFilter`, and back into links (pure).

Parameters: rule, source, language, since, until, limit, page. An empty value means "any" (a
form's blank select sends one). Dates are `YYYY-MM-DD` (a whole day: since takes its start, until
its end) or ISO 8601 times, UTC when no zone is given; they filter on first_seen, as
`newsmon query --since` does. A value that cannot be read is a `FilterError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from store.records import ArticleFilter

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
LIMITS = (20, 50, 100, 200, 500)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})?$")
FIELDS = ("rule", "source", "language", "since", "until", "limit", "page")


class FilterError(ValueError):
    """A filter parameter that cannot be read; the message names it and says what it takes."""


@dataclass(frozen=True)
class StoryFilters:
    """The stories page's filters as given (strings, for the form) and as read (for the store)."""

    rule: str = ""
    source: str = ""
    language: str = ""
    since: str = ""
    until: str = ""
    limit: int = DEFAULT_LIMIT
    page: int = 1

    def article_filter(self) -> ArticleFilter:
        """The store's filter for this page of stories."""
        return ArticleFilter(
            rules=(self.rule,) if self.rule else (), sources=(self.source,) if self.source else (),
            language=self.language or None, since=parse_time(self.since, "since") if self.since else None,
            until=parse_time(self.until, "until") if self.until else None, limit=self.limit,
            offset=(self.page - 1) * self.limit)

    def active(self) -> bool:
        """True when any filter narrows the list (limit and page do not)."""
        return any((self.rule, self.source, self.language, self.since, self.until))

    def query(self, **changes: str | int) -> str:
        """This page's query string with `changes`, defaults and blanks left out ("" when none)."""
        values = {**{f: getattr(self, f) for f in FIELDS}, **changes}
        defaults = {"limit": DEFAULT_LIMIT, "page": 1}
        pairs = [(k, str(v)) for k, v in values.items() if v not in ("", None) and defaults.get(k) != v]
        return "?" + urlencode(pairs) if pairs else ""


def read_filters(params: Mapping[str, str]) -> StoryFilters:
    """Read the stories page's GET parameters; raise FilterError for one that cannot be read."""
    def text(name: str) -> str:
        return (params.get(name) or "").strip()

    language = text("language").lower()
    if language and not _LANGUAGE.match(language):
        raise FilterError(f"language: {language!r} is not a language code such as en or zh")
    filters = StoryFilters(rule=text("rule"), source=text("source"), language=language, since=text("since"),
                           until=text("until"), limit=_number(text("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
                           page=_number(text("page"), "page", 1, 100_000))
    filters.article_filter()  # reads the dates: a bad one fails here, before any query
    return filters


def parse_time(text: str, name: str) -> datetime:
    """A day or an ISO time as a UTC datetime; a day is its start for since, its end for until."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name}: {text!r} is not a date (2024-09-21) or an ISO time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if name == "until" and _DAY.match(text):
        when += timedelta(days=1)  # "until the 21st" includes the 21st
    return when


def _number(text: str, name: str, default: int, top: int) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= top:
        raise FilterError(f"{name}: {text!r} is not a whole number from 1 to {top}")
    return int(text)
