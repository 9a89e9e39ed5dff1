"""Tables. The Alembic migrations in store/migrations are the schema's source of truth; these
mappings must agree with them (tests/test_store.py compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: newsmon stores UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only gives INTEGER PRIMARY KEY its rowid alias for plain INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _only_set(column: str) -> dict[str, Any]:
    """Make an index partial: only the rows where `column` is not NULL (SQLite and PostgreSQL)."""
    return {f"{dialect}_where": text(f"{column} IS NOT NULL") for dialect in ("sqlite", "postgresql")}


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    source: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    # NULL on a duplicate: the text is stored once, on the article it duplicates.
    text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    first_seen: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    # Signed 64-bit SimHash (SQLite's INTEGER cannot hold the unsigned form).
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    modified: Mapped[datetime | None]
    # When the text last changed on a revisit (a new version); NULL if never.
    updated: Mapped[datetime | None]
    # Its place in the stream `query --new` reads: assigned in commit order when stored, and again
    # when a rule edited later makes it match a rule it did not (store.articles.relist), so a
    # consumer is shown it once more. NULL only between migration 0007's column and its backfill.
    listed: Mapped[int | None] = mapped_column(BigInteger)

    # From bench/store.py's plans at 1M articles: `query` and `--since` walk first_seen (id breaks
    # ties); a crawl's revisit check reads one source's recent articles. duplicate_of and updated
    # are indexed only where set: an index holding every original's NULL led SQLite to read all
    # originals for `duplicate_of IS NULL` (in `query`, and in a batch's exact-copy check: 122
    # articles/s at 1M instead of 1,100).
    __table_args__ = (
        Index("ix_articles_first_seen", "first_seen", "id"),
        Index("ix_articles_source_first_seen", "source", "first_seen"),
        Index("ix_articles_duplicate_of", "duplicate_of", **_only_set("duplicate_of")),
        Index("ix_articles_updated", "updated", "id", **_only_set("updated")),
        Index("ix_articles_listed", "listed"),
        # Deleting an old run (store.runs) looks its articles up by run_id.
        Index("ix_articles_run_id", "run_id", **_only_set("run_id")),
    )


class ArticleUrl(Base):
    """Every URL form an article was reached by, so no variant is ever fetched again."""

    __tablename__ = "article_urls"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


class Match(Base):
    __tablename__ = "matches"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[str] = mapped_column(String(200), primary_key=True)
    terms: Mapped[list[str]] = mapped_column(JSON)
    # Similarity to the rule's `like` examples (crawler.examples); NULL for a boolean-only rule.
    score: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_matches_rule", "rule"),)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    started: Mapped[datetime]
    finished: Mapped[datetime | None]
    # running | ok | failed | timed_out | killed
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # "host:pid" of the process that ran it, so a supervisor can settle a run its child left open.
    holder: Mapped[str | None] = mapped_column(String(200))
    # Pages not stored, and not for an error: not an article, too short, known, robots, ... (run_skips).
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # A source's newest runs, and newest that yielded, are read from the end of an index range (store.runs).
    __table_args__ = (Index("ix_runs_source_id", "source", "id"),
                      Index("ix_runs_source_yielded", "source", "id", postgresql_where=text("new > 0"),
                            sqlite_where=text("new > 0")))


class RunError(Base):
    __tablename__ = "run_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class RunSkip(Base):
    """A page a run did not store, and why; kept for each source's recent runs only (store.runs)."""

    __tablename__ = "run_skips"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class Consumer(Base):
    """A reader of `query --new`: the id of the last article it was shown."""

    __tablename__ = "consumers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_article_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated: Mapped[datetime]


class Lease(Base):
    """Who is crawling a source now; a lease whose holder stops renewing it expires."""

    __tablename__ = "leases"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired: Mapped[datetime]
    heartbeat: Mapped[datetime]
    expires: Mapped[datetime]


class Schedule(Base):
    """What a daemon plans for a source: next run, interval and why, consecutive failures."""

    __tablename__ = "schedules"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    daemon: Mapped[str] = mapped_column(String(200))
    next_run: Mapped[datetime | None]
    interval: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer)
    updated: Mapped[datetime]


class ArticleBand(Base):
    """One MinHash LSH band of an article's text: an equal band makes a near-duplicate candidate."""

    __tablename__ = "article_bands"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_article_bands_band_value", "band", "value"),)


class ArticleVersion(Base):
    """An earlier text of an article that changed when it was revisited."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    fetched: Mapped[datetime]
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class BoilerplateBlock(Base):
    """A paragraph seen on `pages` distinct articles of one source: past a threshold, boilerplate."""

    __tablename__ = "boilerplate_blocks"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    block_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    pages: Mapped[int] = mapped_column(Integer)
    sample: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Validator(Base):
    """What a discovery URL answered last: validators for conditional requests, and a body hash.

    `trusted` turns false when a server was caught sending an unchanged validator for a changed
    body; such a URL is fetched unconditionally from then on.
    """

    __tablename__ = "validators"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    trusted: Mapped[bool] = mapped_column(Boolean, default=True)
    # Consecutive 304 answers since the last full fetch; every so often one is verified.
    not_modified: Mapped[int] = mapped_column(Integer, default=0)
    checked: Mapped[datetime]
    changed: Mapped[datetime | None]


class RobotsFile(Base):
    """A host's robots.txt as last fetched, kept for up to a day (RFC 9309, section 2.4): a check
    every 30 minutes would otherwise fetch it 48 times a day."""

    __tablename__ = "robots_files"

    # scheme://host[:port], as the URLs it governs spell it.
    origin: Mapped[str] = mapped_column(Text, primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched: Mapped[datetime]


class AlertTarget(Base):
    """One Apprise URL of one `[[alert]]` block: how far its stories were queued, when its digest is
    due, and how its sends have gone. Keyed by a hash of the URL: the URL itself carries secrets."""

    __tablename__ = "alert_targets"

    alert: Mapped[str] = mapped_column(String(200), primary_key=True)
    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The URL with its secrets masked (Apprise's privacy form), for `status` and `alerts`.
    label: Mapped[str] = mapped_column(Text)
    # Stories listed up to this position (Article.listed) were queued for this target.
    queued_upto: Mapped[int] = mapped_column(BigInteger)
    next_digest: Mapped[datetime | None]
    # Consecutive failed sends, and when the target is tried again (None: at once).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_sent: Mapped[datetime | None]
    created: Mapped[datetime]


class AlertMessage(Base):
    """One story owed to one alert target: pending, being sent, sent, or given up after many attempts.

    The unique key is what makes a story reach a target once, however often it is listed again.
    """

    __tablename__ = "alert_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(32))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[datetime]
    claimed: Mapped[datetime | None]
    sent: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ux_alert_messages_story", "alert", "target", "article_id", unique=True),
        Index("ix_alert_messages_status", "alert", "target", "status"),
    )


class AlertNotice(Base):
    """A message about newsmon itself owed to one alert target (a source gone silent), once per `key`."""

    __tablename__ = "alert_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(32))
    # What it is about and which episode: "silent/<source>/<time of its last new article>".
    key: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[datetime]
    claimed: Mapped[datetime | None]
    sent: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ux_alert_notices_key", "alert", "target", "key", unique=True),)
