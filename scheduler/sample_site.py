"""The sample news site: served on 127.0.0.1 by `newsmon demo` and crawled by the end-to-end tests.

Pages look like real news pages (navigation, cookie banner, "most read", related teasers,
comments, footers; one modern HTML5 template with JSON-LD and one legacy div-soup template),
and the site carries the traps a crawler meets: tracking parameters, pagination, a syndicated
copy, a robots.txt-disallowed path, a page that always fails, and a redirect.
"""

from __future__ import annotations

import html
import json
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ARTICLES_FILE = Path(__file__).with_name("sample_data") / "articles.toml"
ALLOW = r"/\w+/\d{4}-\d{2}/\d{2}/[\w-]+\.html$"
SECTIONS = ("business", "world", "sports")


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds the server waits before answering: a slow or hanging site.
    delay: float = 0.0
    # Served instead from the next request on: a page that fails once, then works.
    then: Page | None = None


# -- the server ----------------------------------------------------------------------------------

class SiteServer:
    """Serve a dict of path -> Page on 127.0.0.1 (port 0) from a background thread, logging every request."""

    def __init__(self, pages: dict[str, Page] | None = None) -> None:
        self._pages: dict[str, Page] = dict(pages or {})
        self._log: list[str] = []
        self._answers: list[tuple[str, int]] = []
        self._times: list[tuple[str, int, float]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a background thread."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm on, a client's
            # delayed ACK held every response on a reused connection back ~40 ms.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                server._serve(self, head=False)

            def do_HEAD(self) -> None:
                server._serve(self, head=True)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sample-site", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def set_pages(self, pages: dict[str, Page]) -> None:
        """Replace every page."""
        with self._lock:
            self._pages = dict(pages)

    def set_page(self, path: str, page: Page) -> None:
        """Add or replace one page."""
        with self._lock:
            self._pages[path] = page

    def remove_page(self, path: str) -> None:
        """Remove one page (it answers 404 from now on)."""
        with self._lock:
            self._pages.pop(path, None)

    def requests(self) -> list[str]:
        """Return the request log: paths with query strings, in order."""
        with self._lock:
            return list(self._log)

    def answers(self) -> list[tuple[str, int]]:
        """Return (path, status) for every response, in order."""
        with self._lock:
            return list(self._answers)

    def answer_times(self) -> list[tuple[str, int, float]]:
        """Return (path, status, time.monotonic()) for every response, in order."""
        with self._lock:
            return list(self._times)

    def clear_log(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()
            self._answers.clear()
            self._times.clear()

    def _serve(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        with self._lock:
            self._log.append(handler.path)
            key = handler.path if handler.path in self._pages else urlsplit(handler.path).path
            page = self._pages.get(key)
            if page is not None and page.then is not None:
                self._pages[key] = page.then
        if page is None:
            page = Page(b"<html><body><h1>Not found</h1></body></html>", status=404)
        if page.delay:
            time.sleep(page.delay)
        etag = page.headers.get("ETag")
        if etag and handler.headers.get("If-None-Match") == etag:
            # Like a real server: a matching validator gets 304, whether or not the body changed.
            page = Page(b"", status=304, headers={"ETag": etag})
        with self._lock:
            self._answers.append((handler.path, page.status))
            self._times.append((handler.path, page.status, time.monotonic()))
        handler.send_response(page.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **page.headers} if page.status != 304 else page.headers
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(page.body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(page.body)


# -- the site ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleSite:
    pages: dict[str, Page]
    relevant: tuple[str, ...]
    irrelevant: tuple[str, ...]
    syndicated: tuple[tuple[str, str], ...]
    robots_disallowed: tuple[str, ...]
    failing: tuple[str, ...]
    redirects: tuple[tuple[str, str], ...]
    variants: tuple[tuple[str, str], ...]
    teaser_sentences: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]
    start_urls: tuple[str, ...]


@dataclass(frozen=True)
class _Article:
    data: dict[str, Any]
    path: str

    @property
    def published(self) -> datetime:
        return datetime.fromisoformat(self.data["published"])


def load_articles() -> list[dict[str, Any]]:
    """Return the sample articles' data."""
    with ARTICLES_FILE.open("rb") as fh:
        return list(tomllib.load(fh)["article"])


def build_sample_site(base_url: str) -> SampleSite:
    """Build every page of the sample site for a server at `base_url`."""
    arts = {a["key"]: _Article(a, _path(a)) for a in load_articles()}
    copy_of = arts["002"]
    repost = _Article({**copy_of.data, "template": "modern", "section": "world",
                       "published": "2022-03-18T09:00:00+08:00"},
                      "/world/2022-03/18/high-tech-green-complementary-repost.html")
    private = "/private/2024-01/01/secret-report.html"
    failing = "/business/2024-09/10/server-error-story.html"
    old = "/world/2024-09/18/pacific-forum-leaders-meet-old.html"
    u = base_url.rstrip("/")
    pages: dict[str, Page] = {a.path: Page(_render(a, u)) for a in arts.values()}
    pages[repost.path] = Page(_render(repost, u))
    pages[private] = Page(_render(_Article({**arts["bank"].data, "title": "Internal report"}, private), u))
    pages[failing] = Page(b"<html><body>Internal Server Error</body></html>", status=500)
    pages[old] = Page(b"", status=301, headers={"Location": arts["diplomacy"].path})
    pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})

    home = [(arts["000"].path + "?utm_source=home&utm_medium=web", arts["000"]),
            (arts["002"].path + "#comments", arts["002"]), (arts["sports"].path, arts["sports"]),
            (private, None), (arts["culture"].path, arts["culture"])]
    pages["/"] = _listing("Home", home, u)
    Items = list[tuple[str, _Article | None]]
    business: list[Items] = [[(arts["000"].path, arts["000"]), (arts["002"].path, arts["002"]),
                              (arts["bank"].path, arts["bank"]), (failing, None)],
                [(arts["004"].path, arts["004"])],
                [(arts["001"].path, arts["001"])]]
    for n, items in enumerate(business, start=1):
        path = "/business/" if n == 1 else f"/business/?page={n}"
        pages[path] = _listing("Business", items, u, page=n, pages=len(business))
    pages["/world/"] = _listing("World", [(arts["culture"].path, arts["culture"]), (repost.path, repost)], u)
    pages["/sports/"] = _listing("Sports", [(arts["sports"].path, arts["sports"])], u)

    rss_items = [(arts["000"], ""), (arts["002"], "?utm_source=rss&utm_medium=feed"), (arts["bank"], "")]
    pages["/rss.xml"] = Page(_rss(rss_items, u), headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    atom_items = [(arts["sports"], arts["sports"].path), (arts["diplomacy"], old)]
    pages["/atom.xml"] = Page(_atom(atom_items, u), headers={"Content-Type": "application/atom+xml; charset=utf-8"})
    pages["/sitemap_index.xml"] = Page(_sitemap_index([f"{u}/sitemap-news.xml", f"{u}/sitemap-pages.xml"]),
                                       headers={"Content-Type": "application/xml"})
    pages["/sitemap-news.xml"] = Page(_news_sitemap([arts["003"]], u), headers={"Content-Type": "application/xml"})
    pages["/sitemap-pages.xml"] = Page(_urlset([arts["004"], arts["weather"]], u),
                                       headers={"Content-Type": "application/xml"})

    relevant = tuple(u + arts[k].path for k in ("000", "001", "002", "003", "004"))
    irrelevant = tuple(u + arts[k].path for k in ("sports", "culture", "bank", "weather", "diplomacy"))
    teaser = arts["000"].data["noise"]["teaser_paragraphs"]
    return SampleSite(
        pages=pages, relevant=relevant, irrelevant=irrelevant,
        syndicated=((u + copy_of.path, u + repost.path),), robots_disallowed=(u + private,),
        failing=(u + failing,), redirects=((u + old, u + arts["diplomacy"].path),),
        variants=((u + arts["000"].path + "?utm_source=home&utm_medium=web", u + arts["000"].path),
                  (u + arts["002"].path + "#comments", u + arts["002"].path),
                  (u + arts["002"].path + "?utm_source=rss&utm_medium=feed", u + arts["002"].path)),
        teaser_sentences=tuple(s.strip() + "." for p in teaser for s in p.split(". ") if len(s) > 40),
        feeds=(u + "/rss.xml", u + "/atom.xml"), sitemaps=(u + "/sitemap_index.xml",),
        start_urls=(u + "/", u + "/business/"),
    )


def sources_toml(site: SampleSite, name: str = "sample-news") -> str:
    """Return a sources.toml with one source for the sample site."""
    def arr(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return (f"[[source]]\nname = {json.dumps(name)}\nfeeds = {arr(site.feeds)}\nsitemaps = {arr(site.sitemaps)}\n"
            f"start_urls = {arr(site.start_urls)}\nallow = ['{ALLOW}']\nfollow = 2\nevery = \"30m\"\n")


def _path(a: dict[str, Any]) -> str:
    when = datetime.fromisoformat(a["published"])
    return f"/{a['section']}/{when:%Y-%m}/{when:%d}/{a['slug']}.html"


# -- templates -----------------------------------------------------------------------------------

_E = html.escape
_NAV = "".join(f'<li><a href="/{s}/">{s.title()}</a></li>' for s in SECTIONS) + \
    '<li><a href="/about/">About us</a></li><li><a href="/contact/">Contact</a></li>'
_MOST_READ = ("Stock markets close higher on tech rally", "Ten tips for a greener commute",
              "Interview: the chef reinventing street food", "Photo gallery: autumn festival lanterns")
_COMMENTS = ("Very informative, thanks for sharing.", "I would like to see more figures on this.",
             "Interesting read. Looking forward to the follow-up.")


def _paragraphs(a: _Article) -> list[str]:
    headings = set(a.data.get("headings", ()))
    return [f"<h2>{_E(p)}</h2>" if p in headings else f"<p>{_E(p)}</p>" for p in a.data["paragraphs"]]


def _render(a: _Article, base: str) -> bytes:
    page = _modern(a, base) if a.data["template"] == "modern" else _legacy(a, base)
    return page.encode("utf-8")


def _modern(a: _Article, base: str) -> str:
    d, noise = a.data, a.data["noise"]
    canonical = base + a.path
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": d["title"],
          "datePublished": d["published"], "dateModified": d["modified"] or d["published"],
          "author": {"@type": "Person", "name": d["author"]} if d["author"] else None,
          "mainEntityOfPage": canonical}
    byline = f'<p class="byline">By <a rel="author" href="/authors/x">{_E(d["author"])}</a></p>' if d["author"] else ""
    extras = ""
    if "views" in noise:
        extras += f'<div class="post-meta"><span class="views">{_E(noise["views"])}</span></div>'
    if "hashtags" in noise:
        extras += f'<p class="tags">{_E(noise["hashtags"])}</p>'
    recommended = ""
    if "teaser_paragraphs" in noise:
        teaser = "".join(f"<p>{_E(p)}</p>" for p in noise["teaser_paragraphs"])
        title = _E(noise["teaser_title"])
        recommended = (f'<div class="recommended-articles"><h2>{_E(noise["teaser_heading"])}</h2>'
                       f'<div class="teaser-item"><h3><a href="/world/2026-01/15/canadian-pm-visit.html">{title}</a>'
                       f"</h3><h3>{title}</h3>{teaser}</div></div>")
    comments = ""
    if "comment_heading" in noise:
        comments = (f'<div id="respond" class="comment-respond"><h3>{_E(noise["comment_heading"])}</h3>'
                    '<form class="comment-form"><textarea name="comment"></textarea><input type="submit" '
                    f'value="Post Comment"></form><p class="akismet_comment_form_privacy_notice">'
                    f'{_E(noise["comment_notice"])}</p></div>')
    breadcrumb = f'<div class="breadcrumb">{_E(noise["breadcrumb"])}</div>' if "breadcrumb" in noise else ""
    skip = f'<a class="skip-link" href="#main">{_E(noise["skip_link"])}</a>' if "skip_link" in noise else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_E(d["title"])} | Sample News</title>
<meta name="description" content="{_E(d["description"])}">
<meta property="og:type" content="article"><meta property="og:title" content="{_E(d["title"])}">
<meta property="og:url" content="{canonical}"><link rel="canonical" href="{canonical}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body>{skip}<div class="cookie-consent" id="cookie-banner"><p>We use cookies to improve your experience.
By continuing you agree to our cookie policy.</p><button>Accept all</button></div>
<header class="site-header"><a class="logo" href="/">Sample News</a><nav><ul>{_NAV}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
{breadcrumb}<main id="main"><article><h1>{_E(d["title"])}</h1>{byline}
<p class="dateline"><time datetime="{d["published"]}">{a.published:%Y-%m-%d %H:%M}</time></p>
{"".join(_paragraphs(a))}{extras}</article>{recommended}
<aside class="sidebar"><h2>Most read</h2>
<ol>{"".join(f'<li><a href="/world/">{_E(t)}</a></li>' for t in _MOST_READ)}</ol>
<div class="newsletter"><h3>Get our daily newsletter</h3><form><input type="email"><button>Sign up</button></form></div>
</aside></main>{comments}<section class="comments"><h2>Comments</h2>
{"".join(f'<div class="comment"><p>{_E(c)}</p></div>' for c in _COMMENTS)}</section>
<footer><p>Copyright 2024 Sample News Ltd. All rights reserved.</p><a href="/privacy/">Privacy</a>
<a href="/terms/">Terms of use</a></footer></body></html>"""


def _legacy(a: _Article, base: str) -> str:
    d, noise = a.data, a.data["noise"]
    caption = f'<div class="picture"><img src="/img/{_E(noise.get("image", "photo.jpg"))}"><p class="pic-caption">' \
              f'{_E(noise["caption"])}</p></div>' if "caption" in noise else ""
    byline = _E(noise.get("byline", f"By {d['author']}" if d["author"] else ""))
    body = "".join(_paragraphs(a))
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{_E(d["title"])} - Sample Daily</title><meta name="description" content="{_E(d["description"])}">
<link rel="canonical" href="{base + a.path}"></head>
<body><div id="wrap"><div class="hd"><table width="100%"><tr><td><a href="/"><font size="5">Sample Daily</font></a>
</td><td>{_E(noise.get("nav_search", ""))} <a href="/business/">Business</a> | <a href="/world/">World</a> |
<a href="/sports/">Sports</a></td></tr></table></div>
<table width="100%" cellpadding="0"><tr><td valign="top" width="70%"><div class="content-main">
<div class="art-title"><font size="4"><b>{_E(d["title"])}</b></font></div>
<div class="info"><span class="author">{byline}</span> <span>Updated: {a.published:%Y-%m-%d}</span></div>
{caption}<div id="Content">{body}</div></div></td>
<td valign="top" width="30%"><div class="rt-box"><b>Most Popular</b><ul>
{"".join(f'<li><a href="/world/">{_E(t)}</a></li>' for t in _MOST_READ)}</ul></div></td></tr></table>
<div class="ft"><p>Copyright 1995-2024 Sample Daily. All rights reserved.</p><p>License for publishing
multimedia online 0108263</p></div></div></body></html>"""


def _listing(title: str, items: list[tuple[str, _Article | None]], base: str, page: int = 1,
             pages: int = 1) -> Page:
    links = "".join(f'<li><a href="{href}">{_E(a.data["title"] if a else "More from our reporters")}</a>'
                    f'<p>{_E(a.data["description"] if a else "")}</p></li>' for href, a in items)
    pager = ""
    if pages > 1:
        nums = "".join(f'<a href="/business/{"" if n == 1 else f"?page={n}"}">{n}</a>' for n in range(1, pages + 1))
        nxt = f'<a rel="next" href="/business/?page={page + 1}">Next »</a>' if page < pages else ""
        pager = f'<div class="pagination">{nums}{nxt}</div>'
    head_next = f'<link rel="next" href="{base}/business/?page={page + 1}">' if page < pages else ""
    return Page(f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Sample News</title>
<meta property="og:type" content="website">{head_next}</head><body><header><nav><ul>{_NAV}</ul></nav></header>
<main><h1>{title}</h1><ul class="story-list">{links}</ul>{pager}</main>
<footer><p>Copyright 2024 Sample News Ltd.</p></footer></body></html>""".encode())


# -- feeds and sitemaps --------------------------------------------------------------------------

def _rss(items: list[tuple[_Article, str]], base: str) -> bytes:
    entries = "".join(
        f"<item><title>{_E(a.data['title'])}</title><link>{base}{a.path}{_E(suffix)}</link>"
        f"<guid isPermaLink=\"false\">{a.data['key']}</guid><pubDate>{format_datetime(a.published)}</pubDate>"
        f"<description>{_E(a.data['description'])}</description></item>" for a, suffix in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Sample News: Business</title>'
            f"<link>{base}/business/</link><description>Business news</description>{entries}</channel></rss>").encode()


def _atom(items: list[tuple[_Article, str]], base: str) -> bytes:
    entries = "".join(
        f"<entry><title>{_E(a.data['title'])}</title><link rel=\"alternate\" href=\"{base}{href}\"/>"
        f"<id>urn:sample:{a.data['key']}</id><updated>{a.published.astimezone(UTC).isoformat()}</updated>"
        f"<summary>{_E(a.data['description'])}</summary></entry>" for a, href in items)
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Sample News: World and Sports</title><id>{base}/atom.xml</id>"
            f"<updated>2024-09-22T13:45:00+00:00</updated>{entries}</feed>").encode()


def _sitemap_index(children: list[str]) -> bytes:
    items = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>').encode()


def _news_sitemap(arts: list[_Article], base: str) -> bytes:
    items = "".join(
        f"<url><loc>{base}{a.path}</loc><news:news><news:publication><news:name>Sample News</news:name>"
        f"<news:language>en</news:language></news:publication><news:publication_date>{a.data['published']}"
        f"</news:publication_date><news:title>{_E(a.data['title'])}</news:title></news:news></url>" for a in arts)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{items}</urlset>').encode()


def _urlset(arts: list[_Article], base: str) -> bytes:
    items = "".join(f"<url><loc>{base}{a.path}</loc><lastmod>{a.published.date().isoformat()}</lastmod></url>"
                    for a in arts)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>').encode()
