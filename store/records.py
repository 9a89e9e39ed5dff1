"""The store's plain values: what goes in and comes out of it, as frozen dataclasses and enums.

Imports nothing but the standard library, so the pure core (crawler.analysis runs in worker
processes, crawler.conditional) can build and read them without loading SQLAlchemy.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Outcome(enum.StrEnum):
    """How a run ended (RUNNING while it has not); the database stores the value."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    STOPPED = "stopped"
    TIMED_OUT = "timed_out"
    KILLED = "killed"


# Run outcomes that count against a source (a run stopped by a shutdown does not).
FAILED_OUTCOMES = frozenset({Outcome.FAILED, Outcome.TIMED_OUT, Outcome.KILLED})


class AddStatus(enum.StrEnum):
    """What storing an article did: a new story, a copy joining one, or a URL already stored."""

    NEW = "new"
    DUPLICATE = "duplicate"
    KNOWN = "known"


@dataclass(frozen=True)
class NewArticle:
    """An extracted article ready to be stored; `variants` includes `url`."""

    url: str
    source: str
    content_hash: str
    text: str
    variants: tuple[str, ...] = ()
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    description: str | None = None
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Similarity to a `like` rule's examples, for the matched rules that have them.
    scores: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None
    modified: datetime | None = None
    simhash: int | None = None
    # MinHash LSH bands of the text (crawler.fingerprints.bands): an equal band makes a candidate.
    bands: tuple[int, ...] = ()


@dataclass(frozen=True)
class AddOutcome:
    """The result of storing one article: its id, and the story it joined if a duplicate."""

    status: AddStatus
    article_id: int
    duplicate_of: int | None = None


@dataclass(frozen=True)
class ArticleFilter:
    """What `newsmon query` asks for."""

    sources: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()
    since: datetime | None = None
    # First seen before this time (exclusive); with updated_only, changed before it.
    until: datetime | None = None
    # Only articles detected in this language (ISO 639-1 code, as stored).
    language: str | None = None
    include_all: bool = False
    # Only articles listed after this position (Article.listed: what a `--new` cursor counts).
    after_listed: int | None = None
    limit: int | None = None
    # Skip this many first (the web app's pages of stories).
    offset: int = 0
    updated_only: bool = False
    # "new": newest first; "score": most similar to a `like` rule's examples first.
    order: str = "new"


@dataclass(frozen=True)
class StoredArticle:
    """An article as `newsmon query` shows it: a duplicate reads its story's text."""

    id: int
    url: str
    title: str | None
    author: str | None
    published: datetime | None
    language: str | None
    source: str
    text: str | None
    rules: tuple[str, ...]
    terms: dict[str, list[str]]
    first_seen: datetime
    duplicate_of: int | None
    also_at: tuple[str, ...] = ()
    modified: datetime | None = None
    updated: datetime | None = None
    versions: int = 0
    listed: int = 0  # its place in the `query --new` stream (Article.listed)
    # Similarity to each matched `like` rule's examples.
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """The best similarity among the matched `like` rules; None when only boolean rules matched."""
        return max(self.scores.values(), default=None)


# An article's keys in `query --format json`, the web app's JSON and alerts, in this order.
ARTICLE_KEYS = ("id", "url", "title", "author", "published", "language", "source", "text", "rules",
                "terms", "score", "scores", "first_seen", "duplicate_of", "also_at", "modified", "updated",
                "versions")


def article_record(article: StoredArticle) -> dict[str, Any]:
    """An article's keys as `query --format json` gives them (ARTICLE_KEYS, in that order)."""
    fields = {**asdict(article), "score": article.score}
    return {k: fields[k] for k in ARTICLE_KEYS}


def jsonable(record: dict[str, Any]) -> dict[str, Any]:
    """A record's values as JSON has them: times in ISO 8601, tuples as lists (`--format json`, the web app)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v)
            for k, v in record.items()}


@dataclass(frozen=True)
class RunRecord:
    """One crawl of one source: when, how it ended, what it found, and (if asked) what failed and
    what was skipped."""

    id: int
    source: str
    started: datetime
    finished: datetime | None
    outcome: Outcome
    pages: int
    new: int
    matched: int
    duplicates: int
    errors: int
    error_list: tuple[tuple[str, str], ...] = ()
    holder: str | None = None
    # Pages fetched (or, past the article limit, found) and not stored, with why (store.runs keeps
    # the reasons of each source's recent runs only, up to a bound per run: see there).
    skipped: int = 0
    skip_list: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SettledRun:
    """A run over before it was recorded: a source settled by a batch's quiet check (crawler.quiet_check)."""

    source: str
    started: datetime
    finished: datetime
    outcome: Outcome
    pages: int


@dataclass(frozen=True)
class LeaseRecord:
    """Who crawls a source now, until when."""

    source: str
    holder: str
    acquired: datetime
    heartbeat: datetime
    expires: datetime

    def active(self, now: datetime | None = None) -> bool:
        """Return True while the lease has not expired."""
        return self.expires > (now or utcnow())


@dataclass(frozen=True)
class ValidatorRecord:
    """What a URL answered last: its validators, body hash, and whether they can be believed."""

    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    trusted: bool
    not_modified: int
    checked: datetime
    changed: datetime | None


@dataclass(frozen=True)
class ValidatorAnswer:
    """What one URL answered in a crawl: a 304 (`not_modified`), or a body's validators and hash,
    with `distrust` set when its server sent an unchanged validator for a changed body."""

    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    distrust: bool = False


@dataclass(frozen=True)
class ScheduleRecord:
    """What a daemon last planned for a source."""

    source: str
    daemon: str
    next_run: datetime | None
    interval: int | None
    reason: str
    failures: int
    updated: datetime
