"""The two crawls a user might run instead of newsmon, for the first-crawl benchmark in bench/crawl.py.

`run_trafilatura` crawls the way trafilatura's docs and CLI do (sitemap discovery, its threaded
downloader, `extract` per page); `run_plain_scrapy` is the minimal Scrapy `SitemapSpider` whose
callback calls `trafilatura.extract`. Each crawl runs in a fresh child process: Twisted's reactor
cannot be restarted in a process, and a cold start per crawl keeps the comparison fair.

Self-test: python bench/alternatives.py check --count 300
Serves bench/site.py as a child on host newsbench.test (which must resolve to 127.0.0.1: courlan,
used by trafilatura's URL checks, rejects IP hosts and plain localhost) and runs both crawls.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOGGER = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
HOST = "newsbench.test"
# Scrapy's default CONCURRENT_REQUESTS; trafilatura's thread pool gets as many requests in flight.
CONCURRENCY = 16
TRAFILATURA_NAME = "trafilatura (sitemap_search + buffered_downloads, 16 threads + extract)"
SCRAPY_NAME = "plain Scrapy (SitemapSpider, 16 concurrent + trafilatura.extract in the callback)"


@dataclass(frozen=True)
class CrawlResult:
    name: str
    # Wall time of discovery + downloads + extraction, measured inside the child after its imports.
    seconds: float
    # Article pages downloaded.
    fetched: int
    # Article URL as requested, without its query string -> extracted text ("" if extract returned None).
    texts: dict[str, str]


# extract()'s default leaves metadata out (no title, author or date: half of extraction's cost);
# with_metadata=True asks for what newsmon stores, so both ways are measured.
def run_trafilatura(base_url: str, expected: int, with_metadata: bool = False) -> CrawlResult:
    """Crawl `base_url` with trafilatura's own discovery, downloader and extractor, in a child process."""
    return _run_child("trafilatura", base_url, expected, with_metadata)


def run_plain_scrapy(base_url: str, expected: int, with_metadata: bool = False) -> CrawlResult:
    """Crawl `base_url` with a minimal Scrapy SitemapSpider calling trafilatura.extract, in a child process."""
    return _run_child("scrapy", base_url, expected, with_metadata)


def _run_child(kind: str, base_url: str, expected: int, with_metadata: bool) -> CrawlResult:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        flags = ["--with-metadata"] if with_metadata else []
        subprocess.run([sys.executable, __file__, kind, base_url, str(out), *flags], check=True)
        result = CrawlResult(**json.loads(out.read_text(encoding="utf-8")))
    if result.fetched < expected:
        LOGGER.warning("%s fetched %d of %d articles", result.name, result.fetched, expected)
    return result


def _without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


# -- the child side: imports stay here so the parent (bench/crawl.py) never loads Scrapy or trafilatura --


def _crawl_trafilatura(base_url: str, with_metadata: bool) -> CrawlResult:
    import trafilatura
    from trafilatura import sitemaps
    from trafilatura.downloads import buffered_downloads
    from trafilatura.settings import Extractor, use_config

    config = use_config()
    # The server is local: no politeness sleep (settings.cfg says 5 s between requests to a host).
    config["DEFAULT"]["SLEEP_TIME"] = "0"
    # On by default since trafilatura 2.3: it refuses to connect to 127.0.0.1 at all.
    config["DEFAULT"]["SSRF_PROTECTION"] = "off"
    options = Extractor(config=config)
    # urllib3 keeps one pooled connection per host, so 16 threads log "Connection pool is full,
    # discarding connection" on nearly every request; the logging itself would cost time.
    logging.getLogger("urllib3").setLevel(logging.ERROR)

    start = time.perf_counter()
    # Finds robots.txt's Sitemap: line and walks the index; sleep_time defaults to 2 s per sitemap.
    urls = sitemaps.sitemap_search(base_url, sleep_time=0, config=config)
    texts: dict[str, str] = {}
    # The whole list goes to the pool at once: the documented loop (add_to_compressed_dict +
    # load_download_buffer) hands out one URL per host per round, so it fetches one site serially.
    # Like the CLI, extraction runs in this thread as downloads complete in the pool's threads.
    for url, html in buffered_downloads(urls, CONCURRENCY, options=options):
        if html is None:
            LOGGER.warning("download failed: %s", url)
            continue
        texts[_without_query(url)] = _text(trafilatura.extract(html, url=url, with_metadata=with_metadata,
                                                               output_format="json" if with_metadata else "txt"))
    seconds = time.perf_counter() - start
    return CrawlResult(_named(TRAFILATURA_NAME, with_metadata), seconds, len(texts), texts)


def _crawl_scrapy(base_url: str, with_metadata: bool) -> CrawlResult:
    import trafilatura
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response
    from scrapy.spiders import SitemapSpider

    class PlainSpider(SitemapSpider):
        name = "plain"

        def __init__(self, base_url: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.sitemap_urls = [f"{base_url}/sitemap_index.xml"]
            self.texts: dict[str, str] = {}
            self.fetched = 0

        def parse(self, response: Response, **kwargs: Any) -> None:
            self.fetched += 1
            url = _without_query(response.request.url if response.request else response.url)
            self.texts[url] = _text(trafilatura.extract(response.text, url=response.url, with_metadata=with_metadata,
                                                        output_format="json" if with_metadata else "txt"))

    settings = {
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": CONCURRENCY,
        # Scrapy's default is 8 per domain; the whole site is one domain.
        "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
        "LOG_LEVEL": "WARNING",
        # Both open a listening port and do nothing for the crawl; newsmon turns them off too.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
    }
    # Engine, middlewares and reactor set-up are part of a Scrapy crawl, so the clock starts here.
    start = time.perf_counter()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(PlainSpider)
    process.crawl(crawler, base_url=base_url)
    process.start()
    seconds = time.perf_counter() - start
    spider = crawler.spider
    return CrawlResult(_named(SCRAPY_NAME, with_metadata), seconds, spider.fetched, spider.texts)


def _named(name: str, with_metadata: bool) -> str:
    return f"{name} [with_metadata]" if with_metadata else name


def _text(extracted: str | None) -> str:
    # With metadata the output is JSON (title, author, date... and the text); keep the text.
    if extracted and extracted.startswith("{"):
        return str(json.loads(extracted).get("text") or "")
    return extracted or ""


# -- the self-test -------------------------------------------------------------------------------


def _check(count: int) -> None:
    server = subprocess.Popen([sys.executable, "-m", "bench.site", "--count", str(count), "--host", HOST],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        port = server.stdout.readline().strip()
        if not port.isdigit():
            raise SystemExit("Error: bench/site.py did not print its port.")
        base_url = f"http://{HOST}:{port}"
        print(f"site: {count} articles at {base_url}")
        for run in (run_trafilatura, run_plain_scrapy):
            server.stdin.write("clear\n")
            server.stdin.flush()
            server.stdout.readline()
            result = run(base_url, count)
            server.stdin.write("stats\n")
            server.stdin.flush()
            answers = server.stdout.readline().strip()
            non_empty = sum(1 for text in result.texts.values() if text)
            print(f"{result.name}\n  {result.seconds:.2f} s, {result.fetched} fetched, "
                  f"{result.fetched / result.seconds:.1f} pages/s, {non_empty} non-empty texts; "
                  f"server answered {answers}")
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="serve bench/site.py and run both crawls")
    check.add_argument("--count", type=int, default=300)
    for kind in ("trafilatura", "scrapy"):
        child = commands.add_parser(kind, help="(child) run one crawl and write its result as JSON")
        child.add_argument("base_url")
        child.add_argument("out_json", type=Path)
        child.add_argument("--with-metadata", action="store_true")
    args = parser.parse_args()
    if args.command != "scrapy":
        # Scrapy installs its own root handler at LOG_LEVEL; a second one would print its DEBUG lines.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "check":
        _check(args.count)
        return
    crawl = _crawl_trafilatura if args.command == "trafilatura" else _crawl_scrapy
    args.out_json.write_text(json.dumps(asdict(crawl(args.base_url, args.with_metadata))), encoding="utf-8")


if __name__ == "__main__":
    main()
