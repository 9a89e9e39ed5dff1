"""`newsmon demo`: the sample site served locally, with seeds and a database to crawl it into."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crawler.config import RULES_FILE, SOURCES_FILE, default_seeds_dir
from scheduler.sample_site import SiteServer, build_sample_site, sources_toml

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
        shutil.copyfile(default_seeds_dir() / RULES_FILE, seeds / RULES_FILE)
        yield seeds, f"sqlite:///{(folder / 'newsmon.db').resolve()}", server.url
