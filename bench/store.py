"""The store at 10k vs 1M articles: batched inserts, `query --new`, the known-URL check and the
near-duplicate lookup, with the query plans at 1M.

Usage: python bench/store.py [--small 10000] [--large 1000000] [--sample 2000] [--reps 200]
                             [--postgres postgresql://postgres@127.0.0.1:5432/test]
SQLite always (a file in a temp dir, opened by store.db.open_db: WAL, busy timeout, no ANALYZE, as
newsmon runs it); PostgreSQL too with --postgres (a fresh schema, dropped afterwards; ANALYZEd after
each fill, as autovacuum would).
How each figure is measured:
- Fill (not a figure): the bulk of the rows go in by raw executemany (SQLite) or COPY (PostgreSQL)
  into articles, article_urls (2 URLs each), article_bands (12 random bands each: unrelated texts
  spread band hashes uniformly) and matches (1 article in 5), with ~300-byte texts to keep the file
  small; 1 article in 10 is a copy of an earlier story; 50 sources; one article every 30 s.
- Insert rate: `Articles.add_batch` in batches of 50, as the crawl pipeline writes, of `--sample`
  articles with 3-6 KB texts (5% exact copies, 10% near copies, 2% known URLs) into a store of
  size - sample articles; the figure is the median batch (the overall rate is printed beside). Raw
  rows then top the store up to the size (a known URL adds no article), and the sample's rows move
  onto the fill's timeline, so a time window holds as many articles at both sizes.
- Reads, median of `--reps` calls, through the store calls the CLI and crawler make:
  `query --new` (as scheduler/news.py: consumers.cursor, articles.max_listed, articles.query(after_listed),
  consumers.advance; cursor 200 articles back), plain `query` (newest 50), `query --since` (the last
  hour), known_urls (100 URLs, half known), find_story (a random fingerprint), revisit_candidates
  (one source, the last day).
- Search (`newsmon search`: parse, index lookup, rank, verify with the rule matcher, read the 20
  best), median of `--reps` calls, each query built from a random stored article's text: a phrase
  (two words in a row), two words with AND, a word NOT another, a 5-letter prefix wildcard. The fill
  fills the word index as it goes (SQLite's triggers, PostgreSQL's vector: store.search_vector), so its time
  includes indexing; each word of the fill's vocabulary is in ~1.5% of articles, so a query's
  matches grow with the store (the window of store.search ranks the newest).
- Plans at the large size: EXPLAIN (QUERY PLAN) of each SELECT those calls emitted (add_batch':
  from its last timed batch, as SQLite plans an IN list by its length), flagged when one reads a big
  table whole, searches an index for IS NULL (most rows), leaves a range unbounded or sorts it all.
Last, the large/small ratio of each goal figure (goal < 3 each; search also < 100 ms at the large size).

Over the house's ~400 lines: one benchmark (fill, timed calls, plan checks) for two databases,
whose parts mean nothing apart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bench.pg_schema import fresh_pg_schema
from crawler.fingerprints import BANDS, to_signed
from scheduler.search import prepare, search_articles
from store.models import Article
from store.records import ArticleFilter, NewArticle
from store.repository import Repository
from store.search import WINDOW
from store.search_vector import search_vector
from store.stories import NEAR_DUPLICATE_BITS

SOURCES = [f"outlet{n:02d}" for n in range(50)]
RULES = [f"rule{n}" for n in range(10)]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)
BATCH = 50  # crawler.pipelines.BATCH_SIZE
BIG_TABLES = ("articles", "article_urls", "article_bands", "matches")
_VOCAB = ["".join(random.Random(n).choices("abcdefghijklmnopqrstuvwxyz", k=2 + n % 9)) for n in range(3000)]


def first_seen(article_id: int) -> datetime:
    return EPOCH + article_id * STEP


def article_url(article_id: int) -> str:
    return f"https://www.{SOURCES[article_id % 50]}.example/2024/{article_id % 12 + 1:02d}/story-{article_id}.html"


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(_VOCAB, k=count))


class Store:
    """One database under test: its repository, and raw bulk access for the fill."""

    def __init__(self, url: str) -> None:
        self.repo = Repository.open(url)
        self.engine = self.repo.engine
        self.dialect = self.engine.dialect.name
        datetime_bind = Article.__table__.c.first_seen.type.bind_processor(self.engine.dialect)
        self.when = datetime_bind or (lambda v: v)
        # id -> (content_hash, simhash, bands) of some originals, for the sample's copies.
        self.kept: dict[int, tuple[str, int, tuple[int, ...]]] = {}
        self.filled: list[range] = []
        self.batch_sql: list[tuple[str, Any]] = []

    def bulk_id(self, rng: random.Random) -> int:
        """Return the id of a random article of the fill (its URL is article_url(id))."""
        ids = rng.choices(self.filled, weights=[len(r) for r in self.filled])[0]
        return rng.choice(ids)

    @contextmanager
    def raw(self) -> Iterator[Any]:
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            if self.dialect == "sqlite":
                # 1 GB of cache while filling; engine.dispose() drops it before anything is timed.
                cur.execute("PRAGMA cache_size=-1000000")
                cur.execute("BEGIN")
            yield cur
            if self.dialect == "sqlite":
                cur.execute("COMMIT")
            else:
                conn.commit()
        finally:
            conn.close()

    def insert(self, cur: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(columns.split(",")))
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        else:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def fill(self, count: int, rng: random.Random) -> None:
        """Append `count` articles with their URLs, bands and matches, straight through the DBAPI."""
        start = self.repo.articles.max_id() + 1
        self.filled.append(range(start, start + count))
        texts = [words(rng, 45) for _ in range(500)]
        for base in range(start, start + count, 20_000):
            articles, urls, band_rows, matches = [], [], [], []
            for i in range(base, min(start + count, base + 20_000)):
                # 1 in 10 is a near copy of an earlier original (an id not a multiple of 10).
                copy_of = None
                if i % 10 == 0 and i > 10:
                    copy_of = rng.randrange(1, i)
                    copy_of -= copy_of % 10 == 0
                h, sim = f"{rng.getrandbits(256):064x}", to_signed(rng.getrandbits(64))
                seen = self.when(first_seen(i))
                url = article_url(i)
                title = f"Story {i} {texts[i % 500][:40]}"
                row = (i, url, SOURCES[i % 50], title, texts[i % 500], h, sim, seen, seen, "en", copy_of, i)
                # PostgreSQL's word index is the vector newsmon writes beside the text (store.search_vector).
                articles.append(row + ((search_vector(title, texts[i % 500]),) if self.dialect == "postgresql" else ()))
                urls += [(url, i), (url + "?utm_source=rss", i)]
                bands = tuple(to_signed(rng.getrandbits(64)) for _ in range(BANDS))
                band_rows += [(i, b, v) for b, v in enumerate(bands)]
                if rng.random() < 0.2:
                    matches.append((i, RULES[i % 10], json.dumps(["green steel"])))
                if copy_of is None and i % 97 == 0:
                    self.kept[i] = (h, sim, bands)
            with self.raw() as cur:
                vector = ", search_vector" if self.dialect == "postgresql" else ""
                self.insert(cur, "articles", "id, url, source, title, text, content_hash, simhash, first_seen, "
                            f"published, language, duplicate_of, listed{vector}", articles)
                self.insert(cur, "article_urls", "url, article_id", urls)
                self.insert(cur, "article_bands", "article_id, band, value", band_rows)
                self.insert(cur, "matches", "article_id, rule, terms", matches)
        with self.raw() as cur:
            if self.dialect == "postgresql":
                cur.execute("SELECT setval(pg_get_serial_sequence('articles', 'id'), (SELECT max(id) FROM articles))")
                cur.execute("ANALYZE")
        # Drop the fill's connection and its big cache: the figures use newsmon's own settings.
        self.engine.dispose()

    def sample(self, count: int, rng: random.Random, tag: str, run_id: int) -> list[NewArticle]:
        """Articles as the crawler hands them over: long texts, some copies and known URLs."""
        kept = list(self.kept.items())
        out = []
        for k in range(count):
            source = SOURCES[k % 50]
            url = f"https://www.{source}.example/live/{tag}-{k}.html"
            body = "\n".join(words(rng, rng.randint(90, 180)) for _ in range(5))
            h = hashlib.sha256(body.encode()).hexdigest()
            sim, bands = to_signed(rng.getrandbits(64)), tuple(to_signed(rng.getrandbits(64)) for _ in range(BANDS))
            variants = [url, url + "?utm_source=rss"]
            kind, (old_id, (old_hash, old_sim, old_bands)) = rng.random(), rng.choice(kept)
            if kind < 0.05:
                h = old_hash
            elif kind < 0.15:
                sim = to_signed((old_sim ^ (0b1001 << 30)) & ((1 << 64) - 1))  # 2 bits apart
                bands = old_bands[:4] + bands[4:]
            elif kind < 0.17:
                variants.append(article_url(old_id))
            out.append(NewArticle(
                url=url, source=source, content_hash=h, text=body, variants=tuple(variants),
                title=f"Live {tag} {k}: {body[:50]}", language="en", published=datetime.now(UTC),
                matches={RULES[k % 10]: ("green steel",)} if rng.random() < 0.2 else {},
                run_id=run_id, simhash=sim, bands=bands))
        return out

    def add_sample(self, news: list[NewArticle]) -> tuple[float, float, dict[str, int]]:
        """Store `news` by add_batch in batches of 50; return articles/s (median batch, and overall)
        and the outcome counts."""
        before, spent, counts = self.repo.articles.max_id(), [], {"new": 0, "duplicate": 0, "known": 0}
        for i in range(0, len(news), BATCH):
            with captured(self.engine) as seen:
                t0 = time.perf_counter()
                outcomes = self.repo.articles.add_batch(news[i:i + BATCH], near_duplicate_bits=NEAR_DUPLICATE_BITS)
                spent.append(time.perf_counter() - t0)
            # SQLite plans an IN list by its length: the plans to check are those of a full batch.
            self.batch_sql = seen
            for o in outcomes:
                counts[o.status] += 1
        ids = range(before + 1, self.repo.articles.max_id() + 1)
        with self.raw() as cur:
            mark = "?" if self.dialect == "sqlite" else "%s"
            cur.executemany(f"UPDATE articles SET first_seen = {mark} WHERE id = {mark}",
                            [(self.when(first_seen(i)), i) for i in ids])
        self.engine.dispose()
        return BATCH / statistics.median(spent), len(news) / sum(spent), counts

    def consumers(self, count: int, cursor: int, tag: str) -> list[str]:
        """Create `count` consumers whose `--new` cursor is at `cursor` (one per timed call)."""
        names = [f"bench-{tag}-{k}" for k in range(count)]
        with self.raw() as cur:
            self.insert(cur, "consumers", "name, last_article_id, updated",
                        [(n, cursor, self.when(datetime.now(UTC))) for n in names])
        return names

    def explain(self, statement: str, params: Any) -> list[str]:
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            if self.dialect == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                depth: dict[int, int] = {0: 0}
                lines = []
                for node, parent, _, detail in cur.fetchall():
                    depth[node] = depth.get(parent, 0) + 1
                    lines.append("  " * (depth[node] - 1) + detail)
                return lines
            cur.execute("EXPLAIN " + statement, params)
            return [row[0] for row in cur.fetchall()]
        finally:
            conn.close()

    def size_mb(self) -> float:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                return float(pages * conn.exec_driver_sql("PRAGMA page_size").scalar_one()) / 1e6
            return float(conn.execute(text("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                                           "WHERE c.relnamespace = current_schema()::regnamespace "
                                           "AND c.relkind = 'r'")).scalar_one()) / 1e6


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SELECT statements (and parameters) run on `engine` meanwhile."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        select = not executemany and re.match(r"\s*SELECT\b.*\bFROM\b", statement, re.S | re.I)
        if select and all(statement != s for s, _ in seen):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def problems(dialect: str, statement: str, plan: list[str]) -> list[str]:
    """Say where a plan reads a big table whole, or sorts all of it."""
    found, scans = [], []
    for line in (s.strip() for s in plan):
        if dialect == "sqlite":
            m = re.match(r"SCAN (\w+?)(?:_\d+)?(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+))?$", line)
            # Searched for IS NULL, an index reads most of the table: duplicate_of and updated are NULL on
            # most rows.
            null = re.match(r"SEARCH (\w+?)(?:_\d+)? USING (?:COVERING )?INDEX (\w+) \((\w+)=\?\)$", line)
            if null and f"{null[1]}.{null[3]} IS NULL" in statement:
                scans.append(null[1])
                found.append(f"{null[3]} IS NULL searched by {null[2]}: most of {null[1]}")
            if m and m[1] in BIG_TABLES:
                scans.append(m[1])
                if m[2] is None:
                    found.append(f"full scan of {m[1]}")
                elif " LIMIT " not in statement:
                    found.append(f"whole index {m[2]} read (no LIMIT)")
        else:
            m = re.search(r"Seq Scan on (\w+)", line)
            if m and m[1] in BIG_TABLES:
                scans.append(m[1])
                found.append(f"full scan of {m[1]}")
    # A range the index does not bound leaves every row the other conditions match to be read.
    for table, column in re.findall(r"\b(\w+?)(?:_\d+)?\.(\w+) (?:>=?|<=?) (?:\?|%\(\w+\)s)", statement):
        # SQLite prints a bounded range as "(first_seen>?)", PostgreSQL as "Index Cond: (... first_seen >= ...)".
        bounded = rf"\b{'rowid' if column == 'id' else column}[<>]" if dialect == "sqlite" else \
            rf"(?:Index Cond|Recheck Cond):.*\b{column} [<>]"
        if table in BIG_TABLES and not any(re.search(bounded, s) for s in plan):
            found.append(f"{table}.{column} range not bounded by an index")
    sort = any("TEMP B-TREE FOR ORDER BY" in s or re.match(r"(?:->)?\s*Sort\s", s.strip()) for s in plan)
    if sort and scans:
        found.append(f"sorts every row of {scans[0]}")
    return found


def shorten(statement: str) -> str:
    one = " ".join(statement.split())
    one = re.sub(r"^SELECT (.{60}).*? FROM ", r"SELECT \1... FROM ", one)
    one = re.sub(r"\((?:\?, ){3,}\?\)", "(?, ...)", one)
    return re.sub(r"\((?:%\(\w+\)s(?:::\w+)?, ){3,}%\(\w+\)s(?:::\w+)?\)", "(%s, ...)", one)


def median_time(calls: list[Callable[[], object]], warmup: int = 5) -> float:
    for call in calls[:warmup]:
        call()
    samples = []
    for call in calls[warmup:]:
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def query_new(repo: Repository, consumer: str) -> int:
    """Do what `newsmon query --new --consumer NAME` does with the store (scheduler/cli.py)."""
    cursor = repo.consumers.cursor(consumer)
    snapshot = repo.articles.max_listed()
    articles = repo.articles.query(ArticleFilter(after_listed=cursor))
    repo.consumers.advance(consumer, max(snapshot, max((a.listed for a in articles), default=0)))
    return len(articles)


SEARCHES = ("phrase", "AND", "NOT", "wildcard")


def query_for(store: Store, rng: random.Random, kind: str) -> str:
    """A `newsmon search` query of `kind` made of the words of a random stored article."""
    with store.engine.connect() as conn:
        body = conn.execute(text("SELECT text FROM articles WHERE id = :i"), {"i": store.bulk_id(rng)}).scalar()
    words = str(body).split()
    at = rng.randrange(len(words) - 1)
    if kind == "phrase":
        return f'"{words[at]} {words[at + 1]}"'
    if kind == "AND":
        return f"{words[at]} AND {rng.choice(words)}"
    if kind == "NOT":
        return f"{words[at]} NOT {rng.choice(_VOCAB)}"
    return rng.choice([w for w in _VOCAB if len(w) >= 7])[:5] + "*"


def search(repo: Repository, query: str) -> int:
    """Do what `newsmon search QUERY` does with the store; return how many candidates were ranked."""
    return search_articles(repo, prepare(query), ArticleFilter(limit=20)).ranked


def reads(store: Store, rng: random.Random, count: int, tag: str) -> dict[str, list[Callable[[], object]]]:
    """`count` calls of each timed read, their arguments drawn beforehand (so not timed)."""
    repo = store.repo
    newest = repo.articles.max_id()
    consumers = store.consumers(count, newest - 200, tag)
    since = first_seen(newest) - timedelta(hours=1)
    revisit_since = first_seen(newest) - timedelta(days=1)

    def urls() -> list[str]:
        known = [article_url(store.bulk_id(rng)) for _ in range(50)]
        return known + [f"https://www.{rng.choice(SOURCES)}.example/new/{uuid.uuid4().hex}.html" for _ in range(50)]

    def probe() -> tuple[int, tuple[int, ...]]:
        return to_signed(rng.getrandbits(64)), tuple(to_signed(rng.getrandbits(64)) for _ in range(BANDS))

    def each(make: Callable[[], Callable[[], object]]) -> list[Callable[[], object]]:
        return [make() for _ in range(count)]

    names = iter(consumers)
    def searches(kind: str) -> list[Callable[[], object]]:
        return each(lambda: partial(search, repo, query_for(store, rng, kind)))

    return {
        "query --new": each(lambda: partial(query_new, repo, next(names))),
        "query (newest 50)": each(lambda: partial(repo.articles.query, ArticleFilter(limit=50))),
        "query --since 1h": each(lambda: partial(repo.articles.query, ArticleFilter(since=since))),
        "known_urls (100)": each(lambda: partial(repo.articles.known_urls, urls())),
        "find_story": each(lambda: partial(repo.articles.find_story, *probe(), NEAR_DUPLICATE_BITS)),
        "revisit_candidates": each(lambda: partial(repo.articles.revisit_candidates, rng.choice(SOURCES),
                                                     revisit_since)),
        **{f"search {kind}": searches(kind) for kind in SEARCHES},
    }


def measure(store: Store, size: int, args: argparse.Namespace, rng: random.Random) -> dict[str, float]:
    """Fill to `size` (the sample last, by add_batch), then time everything; print as it goes."""
    tag = f"n{size}"
    t0 = time.perf_counter()
    store.fill(size - store.repo.articles.max_id() - args.sample, rng)
    fill_s = time.perf_counter() - t0
    news = store.sample(args.sample, rng, tag, store.repo.runs.start("bench"))
    rate, overall, counts = store.add_sample(news)
    # A known URL adds no article: raw rows top the store up to exactly `size`.
    store.fill(size - store.repo.articles.count(), rng)
    count = store.repo.articles.count()
    how = "executemany" if store.dialect == "sqlite" else "COPY"
    print(f"[{store.dialect} {count:,}] bulk fill {fill_s:.0f} s (raw {how}), {store.size_mb():,.0f} MB;"
          f" add_batch, {args.sample // BATCH} batches of {BATCH}:"
          f" {rate:,.0f} articles/s in the median batch, {overall:,.0f} overall"
          f" ({counts['new']} new, {counts['duplicate']} duplicate, {counts['known']} known)")
    figures = {"add_batch (per article)": 1 / rate}
    for name, calls in reads(store, rng, args.reps + 5, tag).items():
        figures[name] = median_time(calls)
    newest = store.repo.articles.max_id()
    (consumer,) = store.consumers(1, newest - 200, tag + "count")
    print(f"[{store.dialect} {count:,}] rows returned: query --new {query_new(store.repo, consumer)}, "
          f"query {len(store.repo.articles.query(ArticleFilter(limit=50)))}, "
          f"--since {len(store.repo.articles.query(ArticleFilter(since=first_seen(newest) - timedelta(hours=1))))}, "
          f"revisit {len(store.repo.articles.revisit_candidates(SOURCES[0], first_seen(newest) - timedelta(days=1)))}")
    ranked = {kind: statistics.median(search(store.repo, query_for(store, rng, kind)) for _ in range(20))
              for kind in SEARCHES}
    print(f"[{store.dialect} {count:,}] search candidates ranked, median of 20 queries (window {WINDOW:,}): "
          + ", ".join(f"{kind} {n:,.0f}" for kind, n in ranked.items()))
    return figures


def plans(store: Store, rng: random.Random) -> int:
    """Print the plan of every SELECT the timed calls made; return how many plans have a problem."""
    calls = {name: each[0] for name, each in reads(store, rng, 1, "plan").items()}
    calls["query --updated"] = partial(store.repo.articles.query, ArticleFilter(updated_only=True))
    statements = []
    for name, call in calls.items():
        with captured(store.engine) as seen:
            call()
        statements += [(name, statement, params) for statement, params in seen]
    statements += [(f"add_batch (last batch of {BATCH})", s, p) for s, p in store.batch_sql]
    bad = 0
    print(f"\nquery plans at {store.repo.articles.count():,} articles ({store.dialect}):")
    for name, statement, params in statements:
        plan = store.explain(statement, params)
        issues = problems(store.dialect, statement, plan)
        bad += bool(issues)
        print(f"  {name}: {shorten(statement)}")
        for line in plan:
            print(f"      {line}")
        print(f"    -> {'PROBLEM: ' + '; '.join(issues) if issues else 'ok'}")
    return bad


def run(url: str, args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float], int]:
    rng = random.Random(11)
    store = Store(url)
    try:
        small = measure(store, args.small, args, rng)
        large = measure(store, args.large, args, rng)
        bad = plans(store, rng)
    finally:
        store.repo.close()
    return small, large, bad


GOALS = ("add_batch (per article)", "query --new", "known_urls (100)", "find_story")


def report(name: str, small: dict[str, float], large: dict[str, float], bad: int, args: argparse.Namespace) -> None:
    print(f"\n{name}: median per call (add_batch: per article in the median batch of {BATCH})")
    print(f"  {'':28} {args.small:>12,} {args.large:>12,}   ratio")
    for key in small:
        print(f"  {key:28} {small[key] * 1e3:9.3f} ms {large[key] * 1e3:9.3f} ms  {large[key] / small[key]:6.2f}")
    print(f"  insert rate, add_batch batches of {BATCH}: {1 / small[GOALS[0]]:,.0f} articles/s at {args.small:,}, "
          f"{1 / large[GOALS[0]]:,.0f} at {args.large:,}")
    print(f"  query plans with a full scan or a full sort: {bad}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="articles stored by add_batch at each size")
    parser.add_argument("--reps", type=int, default=200, help="timed calls per read figure")
    parser.add_argument("--postgres", metavar="URL", help="also run against this PostgreSQL database")
    args = parser.parse_args()
    if args.sample % BATCH or args.small <= args.sample:
        parser.error(f"--sample must be a multiple of {BATCH} and below --small")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run(f"sqlite:///{tmp}/bench.db", args)
    if args.postgres:
        with fresh_pg_schema(args.postgres, prefix="newsmon_bench") as url:
            results["PostgreSQL"] = run(url, args)
    for name, (small, large, bad) in results.items():
        report(name, small, large, bad, args)
    print()
    for name, (small, large, _) in results.items():
        for key in GOALS:
            print(f"{name} {key} ratio {args.large:,} / {args.small:,}: {large[key] / small[key]:.2f} (goal < 3)")
        for key in (f"search {kind}" for kind in SEARCHES):
            print(f"{name} {key} ratio {args.large:,} / {args.small:,}: {large[key] / small[key]:.2f} (goal < 3), "
                  f"{small[key] * 1e3:.1f} -> {large[key] * 1e3:.1f} ms (goal < 100)")


if __name__ == "__main__":
    main()
