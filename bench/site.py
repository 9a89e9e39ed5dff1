"""A generated news site for crawl benchmarks, served from its own process.

`python -m bench.site --count 2000` builds the site (article pages from bench/pages.py, an RSS feed
of the newest 50, a sitemap index of monthly sitemaps with lastmod dates, paginated section
listings, robots.txt), serves it on 127.0.0.1 and prints its port on the first line of stdout.
Every page carries an ETag and a Last-Modified date and answers a matching conditional request
with 304, as a well-run news site's CDN does. On stdin the server takes commands, one a line:
`stats` prints the answers since the last `clear` as JSON ({"kind status": count}) and `clear`
empties that log; end of input stops the server.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import BenchPage, generate
from sample_site import Page, SiteServer

PER_LISTING = 20
FEED_ITEMS = 50
# Stories are an hour apart, the newest at this time.
NEWEST = datetime(2024, 12, 1, 12, 0, tzinfo=UTC)
LAST_MODIFIED = format_datetime(NEWEST, usegmt=True)


@dataclass(frozen=True)
class BenchSite:
    articles: list[BenchPage]
    pages: dict[str, bytes]

    def published(self, index: int) -> datetime:
        """Return when article `index` (0 is the oldest) was published."""
        return NEWEST - timedelta(hours=len(self.articles) - 1 - index)


def build_site(count: int) -> BenchSite:
    """Build every page of a site with `count` articles (deterministic)."""
    articles = list(generate(count))
    site = BenchSite(articles, {})
    # Absolute links carry a {BASE} placeholder that serve() fills in with the host name and port.
    newest_first = list(range(count - 1, -1, -1))
    for article in articles:
        site.pages[article.path] = article.html.encode()
    feed_items = "".join(
        f"<item><title>{html.escape(articles[i].title)}</title><link>{{BASE}}{articles[i].path}?utm_source=rss"
        f"</link><guid>{articles[i].path}</guid><pubDate>{format_datetime(site.published(i))}</pubDate></item>"
        for i in newest_first[:FEED_ITEMS])
    site.pages["/feed.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench News</title>'
        f"<link>{{BASE}}/news/</link><description>Latest news</description>{feed_items}</channel></rss>").encode()
    months: dict[str, list[int]] = {}
    for i in range(count):
        months.setdefault(site.published(i).strftime("%Y-%m"), []).append(i)
    children = []
    for month, indexes in sorted(months.items()):
        path = f"/sitemaps/news-{month}.xml"
        children.append((path, max(site.published(i) for i in indexes)))
        urls = "".join(f"<url><loc>{{BASE}}{articles[i].path}</loc><lastmod>{site.published(i).isoformat()}"
                       f"</lastmod></url>" for i in indexes)
        site.pages[path] = ('<?xml version="1.0" encoding="UTF-8"?><urlset '
                            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()
    index = "".join(f"<sitemap><loc>{{BASE}}{path}</loc><lastmod>{when.isoformat()}</lastmod></sitemap>"
                    for path, when in children)
    site.pages["/sitemap_index.xml"] = ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
                                        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}'
                                        "</sitemapindex>").encode()
    chunks = [newest_first[i:i + PER_LISTING] for i in range(0, count, PER_LISTING)]
    for n, chunk in enumerate(chunks, start=1):
        site.pages["/news/" if n == 1 else f"/news/?page={n}"] = _listing(site, chunk, n, len(chunks)).encode()
    site.pages["/"] = _listing(site, newest_first[:10], 1, 1).replace("Latest news", "Bench News").encode()
    site.pages["/robots.txt"] = b"User-agent: *\nAllow: /\nSitemap: {BASE}/sitemap_index.xml\n"
    return site


def _listing(site: BenchSite, indexes: Iterable[int], page: int, pages: int) -> str:
    items = "".join(f'<li><a href="{site.articles[i].path}">{html.escape(site.articles[i].title)}</a>'
                    f"<p>{html.escape(site.articles[i].body[0][:160])}</p></li>" for i in indexes)
    nxt = f'<a rel="next" href="/news/?page={page + 1}">Next</a>' if page < pages else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>News, page {page}</title></head>'
            '<body><header><nav><a href="/">Home</a> <a href="/news/">News</a></nav></header>'
            f'<main><h1>Latest news</h1><ul class="story-list">{items}</ul>'
            f'<div class="pagination">{nxt}</div></main><footer>Copyright 2024 Bench News</footer></body></html>')


def kind(path: str) -> str:
    """Name what a request path is: article, feed, sitemap, listing (the home page too) or robots."""
    if path.startswith("/news/") and path.split("?")[0].endswith(".html"):
        return "article"
    if path.startswith("/feed"):
        return "feed"
    if "sitemap" in path:
        return "sitemap"
    if path.startswith("/robots"):
        return "robots"
    return "listing"


def serve(count: int, host: str) -> None:
    """Serve a site of `count` articles until stdin closes; links name `host`."""
    site = build_site(count)
    with SiteServer() as server:
        actual = int(server.url.rsplit(":", 1)[1])
        base = f"http://{host}:{actual}"
        pages = {}
        for path, body in site.pages.items():
            body = body.replace(b"{BASE}", base.encode())
            ctype = "application/xml" if path.endswith(".xml") else (
                "text/plain" if path.endswith(".txt") else "text/html; charset=utf-8")
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            pages[path] = Page(body, headers={"Content-Type": ctype, "ETag": etag, "Last-Modified": LAST_MODIFIED})
        server.set_pages(pages)
        print(actual, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                counts = Counter(f"{kind(path)} {status}" for path, status in server.answers())
                print(json.dumps(dict(counts)), flush=True)
            elif command == "clear":
                server.clear_log()
                print("{}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--host", default="127.0.0.1", help="host name the site's absolute links use")
    args = parser.parse_args()
    serve(args.count, args.host)


if __name__ == "__main__":
    main()
