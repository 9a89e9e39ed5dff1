"""`newsmon demo`: the sample site served locally, with seeds and a database to crawl it into."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crawler.config import SOURCES_FILE, copy_default_rules
from sample_site import SiteServer, build_sample_site, sources_toml
from store.records import ArticleFilter, RunRecord, StoredArticle

# 127.0.0.1 is our own machine: no politeness delay or backoff is needed against it.
DEMO_SETTINGS = """[settings]
download_delay = 0
autothrottle = false
retry_backoff = 0
download_timeout = 10

"""


@contextmanager
def prepare_demo(folder: Path) -> Iterator[tuple[Path, str, str]]:
    """Serve the sample site and write seeds for it into `folder`; yield (seeds, db URL, site URL)."""
    seeds = folder / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    with SiteServer() as server:
        site = build_sample_site(server.url)
        server.set_pages(site.pages)
        (seeds / SOURCES_FILE).write_text(DEMO_SETTINGS + sources_toml(site), encoding="utf-8")
        copy_default_rules(seeds)
        yield seeds, f"sqlite:///{(folder / 'newsmon.db').resolve()}", server.url


@dataclass(frozen=True)
class DemoResult:
    """What the demo crawled (one run per sample source) and what it keeps (the matched articles)."""

    db_url: str
    runs: list[RunRecord]
    articles: list[StoredArticle]
    seeds: Path | None = None


def run_demo(folder: Path, log_level: str = "WARNING",
             on_serving: Callable[[str, str], None] | None = None) -> DemoResult:
    """Serve the sample site, crawl it into a database in `folder`, and return the runs and what matched.

    `on_serving(site_url, db_url)` is called once the site is up, before the crawl.
    """
    from scheduler.crawling import crawl_sources
    from scheduler.schedule import load_config
    from store.repository import Repository

    with prepare_demo(folder) as (seeds_dir, db_url, site_url):
        if on_serving is not None:
            on_serving(site_url, db_url)
        config = load_config(seeds_dir)
        repository = Repository.open(db_url)
        try:
            runs = crawl_sources(config, list(config.sources), repository, log_level=log_level).runs
            return DemoResult(db_url, runs, repository.articles.query(ArticleFilter()), seeds_dir)
        finally:
            repository.close()
