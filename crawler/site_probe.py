"""A site's sources found from its pages, for `newsmon sources add` (pure: bytes in, URLs out).

OWNS: SiteProbe, which says what to fetch next from what was fetched, and its Proposal: feeds
(`<link rel="alternate">` on the page; the common feed paths only when it declares none), sitemaps
(robots.txt `Sitemap:` lines; the common sitemap paths only when it has none; a sitemap index's
children, Google News ones first), section pages (links below the page, in its navigation first,
whose pages list MIN_ARTICLE_LINKS or more article links), and an `allow` pattern from the article
URLs found (crawler.allow_pattern). Feeds and sitemaps are parsed by crawler.discovery, as the
crawl parses them; article-looking and section-looking URLs are crawler.urls' heuristics, the
spider's own. Fetching is crawler.probe_run's job (Scrapy, with the crawl's settings).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from crawler.allow_pattern import AllowProposal, propose_allow
from crawler.discovery import DiscoveryError, parse_feed, parse_sitemap
from crawler.urls import canonicalize, is_http_url, is_listing_link, looks_like_article, same_site

FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml")
# A section page lists a dozen or more stories on a real news site; a page listing fewer than this
# (an "about" page, a single story's teaser box) is no section worth crawling.
MIN_ARTICLE_LINKS = 3
# Bounds on the requests one probe makes: ~25 at most, under half a minute at the crawl's
# politeness of one request a second per site.
MAX_FEEDS = 5
MAX_SITEMAPS = 5
MAX_SITEMAP_CHILDREN = 3  # of all sitemap indexes together
MAX_SECTIONS_TRIED = 10
MAX_START_URLS = 8
# Article URLs a sitemap contributes to the allow pattern: the shape shows in far fewer.
MAX_SITEMAP_URLS = 500
# Trusted article URLs (feed entries, news sitemap entries) enough to learn the pattern from alone.
MIN_TRUSTED = 3
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml"}
_NEWS_SITEMAP = b"google.com/schemas/sitemap-news"
_SITEMAP_LINE = re.compile(rb"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_NAV_MARK = re.compile(r"nav|menu", re.IGNORECASE)


@dataclass(frozen=True)
class Want:
    """A URL to fetch: what it might be (page, robots, feed, sitemap, section) and why it is tried."""

    url: str
    kind: str
    how: str


@dataclass(frozen=True)
class Tried:
    """A URL fetched, and what it turned out to be (or why it could not be had)."""

    url: str
    kind: str
    how: str
    result: str


@dataclass(frozen=True)
class Found:
    """A feed, sitemap or listing page found, how, and how many links it holds."""

    url: str
    kind: str  # feed, news sitemap, sitemap, sitemap index, page, section
    how: str
    links: int
    via: str | None = None  # the sitemap index that lists it


@dataclass(frozen=True)
class PageLinks:
    """What a page links to: declared feeds, links in its navigation, every link (absolute URLs)."""

    feeds: list[str]
    nav: list[str]
    links: list[str]


@dataclass(frozen=True)
class Proposal:
    """A source for the site: what to crawl and why, and every URL tried."""

    url: str
    name: str
    feeds: tuple[Found, ...]
    sitemaps: tuple[Found, ...]
    start_urls: tuple[Found, ...]
    allow: AllowProposal
    # Sitemaps found and not proposed (a full sitemap: the site's archive), with why.
    other_sitemaps: tuple[Found, ...] = ()
    tried: tuple[Tried, ...] = ()
    articles_found: int = 0
    articles_matched: int = 0
    # Why the page itself could not be had: nothing else was tried.
    error: str | None = None

    @property
    def found_anything(self) -> bool:
        """Whether there is something to crawl."""
        return bool(self.feeds or self.sitemaps or self.start_urls)


@dataclass
class _Listing:
    url: str
    how: str
    links: list[str] = field(default_factory=list)


def page_links(body: bytes, base: str) -> PageLinks:
    """Read a page's declared feeds, its navigation links and all its links; never raise on bad HTML."""
    try:
        doc = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return PageLinks([], [], [])
    base = next((urljoin(base, b.get("href", "").strip()) for b in doc.iter("base") if b.get("href")), base)
    feeds = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        # WordPress declares a comments feed beside the posts feed: no articles there.
        if "alternate" in rel and kind in _FEED_TYPES and href and "comment" not in (link.get("title") or "").lower():
            feeds.append(urljoin(base, href))
    nav, links = [], []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        url = urljoin(base, href).split("#", 1)[0] if href else ""
        if not is_http_url(url):
            continue
        links.append(url)
        if any(el.tag in ("nav", "header") or _NAV_MARK.search(f"{el.get('class') or ''} {el.get('id') or ''}")
               for el in a.iterancestors()):
            nav.append(url)
    feeds = [f for f in dict.fromkeys(feeds) if is_http_url(f) and "/comments/" not in f]
    return PageLinks(feeds, list(dict.fromkeys(nav)), list(dict.fromkeys(links)))


def robots_sitemaps(body: bytes, base: str) -> list[str]:
    """Return the URLs of a robots.txt's `Sitemap:` lines."""
    urls = (urljoin(base, m.group(1).decode("utf-8", "replace")) for m in _SITEMAP_LINE.finditer(body))
    return [u for u in dict.fromkeys(urls) if is_http_url(u)]


def source_name(url: str) -> str:
    """A source name from a URL: the host without www and its suffix, then the first path word
    (https://www.chinadaily.com.cn/business/ -> "chinadaily-business")."""
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower().removeprefix("www.")
    labels = host.split(".")
    if not host.replace(".", "").isdigit() and len(labels) > 1:
        labels = labels[:-1]
        if len(labels) > 1 and labels[-1] in ("com", "co", "org", "net", "gov", "edu", "ac", "ne", "or"):
            labels = labels[:-1]
    first = next((s for s in parts.path.split("/") if s), "")
    if re.fullmatch(r"[a-z][a-z0-9-]{1,30}", first):
        labels.append(first)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(labels)).strip("-._")
    return name[:60] or "site"


class SiteProbe:
    """Decide what to fetch from what was fetched; then propose a source."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.base = url  # the page's URL after redirects
        self.error: str | None = None
        self.tried: list[Tried] = []
        self.feeds: list[Found] = []
        self.sitemaps: list[Found] = []
        self.listings: list[_Listing] = []
        self._entries: dict[str, frozenset[str]] = {}
        self._trusted: list[str] = []  # feed entries and news sitemap URLs on the site
        self._guessed: list[str] = []  # other sitemap URLs and listing links that look like articles
        self._sections: list[str] = []
        self._declared: list[str] = []
        self._page_is_feed = False
        self._pending: Counter[str] = Counter()
        self._fell_back: set[str] = set()
        # The order URLs were asked for in (the page's own order, then the common paths'): what
        # is found is proposed in it, whichever answered first.
        self._order: dict[str, int] = {}
        self._asked: dict[str, str] = {}  # URL after redirects -> the URL asked for
        self._children = 0  # child sitemaps asked for, of every index

    # -- what to fetch -------------------------------------------------------------------------------

    def start(self) -> list[Want]:
        """The first request: the page given."""
        return self._want([Want(self.url, "page", "the URL given")])

    def received(self, want: Want, url: str, body: bytes, content_type: str = "") -> list[Want]:
        """Take the body `url` (want.url after redirects) answered; return what to fetch next."""
        self._pending[want.kind] -= 1
        handler = {"page": self._page, "robots": self._robots, "feed": self._feed, "sitemap": self._sitemap,
                   "section": self._section}[want.kind]
        return self._want(handler(want, url, body, content_type.lower()))

    def failed(self, want: Want, reason: str) -> list[Want]:
        """Note that want.url could not be had and why; return what to fetch next."""
        self._pending[want.kind] -= 1
        self.tried.append(Tried(want.url, want.kind, want.how, reason))
        if want.kind == "page":
            self.error = f"could not be fetched: {reason}"
            return []
        if want.kind == "robots":
            return self._want(self._next_round([]))
        return self._want(self._fallback(want.kind))

    def _want(self, wants: list[Want]) -> list[Want]:
        for w in wants:
            self._pending[w.kind] += 1
            self._order.setdefault(w.url, len(self._order))
        return wants

    def _in_order(self, found: list[Found]) -> list[Found]:
        return sorted(found, key=lambda f: self._order.get(self._asked.get(f.url, f.url), len(self._order)))

    def _page(self, want: Want, url: str, body: bytes, ctype: str) -> list[Want]:
        self.base = url
        robots = Want(urljoin(url, "/robots.txt"), "robots", "robots.txt")
        if _looks_html(body, ctype):
            links = page_links(body, url)
            self._declared = links.feeds[:MAX_FEEDS]
            below = [u for u in dict.fromkeys(links.nav + links.links) if is_listing_link(u, [url])]
            self._sections = below[:MAX_SECTIONS_TRIED]
            self._listing(want, url, links.links)
            return [robots]
        try:
            entries = parse_feed(body, url)
        except DiscoveryError:
            self.error = f"neither an HTML page nor a feed (Content-Type: {ctype or 'none'})"
            self.tried.append(Tried(want.url, want.kind, want.how, self.error))
            return []
        self._page_is_feed = True
        self._add_feed(want, url, [e.url for e in entries])
        return [robots]

    def _robots(self, want: Want, url: str, body: bytes, ctype: str) -> list[Want]:
        sitemaps = robots_sitemaps(body, url)[:MAX_SITEMAPS]
        self.tried.append(Tried(want.url, want.kind, want.how, f"{len(sitemaps)} Sitemap: lines"))
        return self._next_round(sitemaps)

    def _next_round(self, robots_sitemaps: list[str]) -> list[Want]:
        wants: list[Want] = []
        if not self._page_is_feed:
            if self._declared:
                wants += [Want(u, "feed", f'<link rel="alternate"> on {self.base}') for u in self._declared]
            else:
                wants += self._common("feed")
        if robots_sitemaps:
            wants += [Want(u, "sitemap", "robots.txt Sitemap: line") for u in robots_sitemaps]
        else:
            wants += self._common("sitemap")
        return wants + [Want(u, "section", f"linked from {self.base}") for u in self._sections]

    def _common(self, kind: str) -> list[Want]:
        self._fell_back.add(kind)
        paths, how = (FEED_PATHS, "common feed path") if kind == "feed" else (SITEMAP_PATHS, "common sitemap path")
        return [Want(urljoin(self.base, p), kind, how) for p in paths]

    def _fallback(self, kind: str) -> list[Want]:
        """Try the common paths once the declared feeds (or sitemaps) all failed."""
        found = self.feeds if kind == "feed" else self.sitemaps
        if kind in ("feed", "sitemap") and not self._pending[kind] and not found and kind not in self._fell_back:
            return self._common(kind)
        return []

    # -- what was found ------------------------------------------------------------------------------

    def _feed(self, want: Want, url: str, body: bytes, ctype: str) -> list[Want]:
        try:
            entries = parse_feed(body, url)
        except DiscoveryError as exc:
            self.tried.append(Tried(want.url, want.kind, want.how, str(exc)))
            return self._fallback("feed")
        self._add_feed(want, url, [e.url for e in entries])
        return self._fallback("feed")

    def _add_feed(self, want: Want, url: str, links: list[str]) -> None:
        key = frozenset(canonicalize(u) for u in links)
        same = next((f for f, entries in self._entries.items()
                     if entries == key or canonicalize(f) == canonicalize(url)), None)
        if same is not None:
            self.tried.append(Tried(want.url, want.kind, want.how, f"the same feed as {same}"))
            return
        self._entries[url] = key
        self.tried.append(Tried(want.url, want.kind, want.how, f"a feed of {_count(len(links), 'entry')}"))
        self.feeds.append(Found(url, "feed", want.how, len(links)))
        self._asked[url] = want.url
        self._trusted += [u for u in links if same_site(u, [self.base])]

    def _sitemap(self, want: Want, url: str, body: bytes, ctype: str) -> list[Want]:
        try:
            page = parse_sitemap(body, url, max_links=MAX_SITEMAP_URLS)
        except DiscoveryError as exc:
            self.tried.append(Tried(want.url, want.kind, want.how, str(exc)))
            return self._fallback("sitemap")
        via = want.how.removeprefix("listed in ") if want.how.startswith("listed in ") else None
        if any(canonicalize(s.url) == canonicalize(url) for s in self.sitemaps):
            self.tried.append(Tried(want.url, want.kind, want.how, "a sitemap already found"))
            return self._fallback("sitemap")
        if page.sitemaps:
            children = [c.url for c in page.sitemaps if same_site(c.url, [self.base])]
            self.tried.append(Tried(want.url, want.kind, want.how,
                                    f"a sitemap index of {_count(len(page.sitemaps), 'sitemap')}"))
            self.sitemaps.append(Found(url, "sitemap index", want.how, len(page.sitemaps), via))
            # Google News sitemaps first: a site names them so (news, google-news, ...).
            children.sort(key=lambda u: "news" not in u.lower())
            room = max(0, MAX_SITEMAP_CHILDREN - self._children)
            self._children += min(room, len(children))
            return [Want(u, "sitemap", f"listed in {url}") for u in children[:room]]
        news = _NEWS_SITEMAP in body[:65536]
        kind = "news sitemap" if news else "sitemap"
        self.tried.append(Tried(want.url, want.kind, want.how, f"a {kind} of {_count(len(page.urls), 'URL')}"))
        self.sitemaps.append(Found(url, kind, want.how, len(page.urls), via))
        urls = [link.url for link in page.urls if same_site(link.url, [self.base])]
        if news:
            self._trusted += urls
        else:
            self._guessed += [u for u in urls if looks_like_article(u)]
        return self._fallback("sitemap")

    def _section(self, want: Want, url: str, body: bytes, ctype: str) -> list[Want]:
        if not _looks_html(body, ctype):
            self.tried.append(Tried(want.url, want.kind, want.how, f"not an HTML page ({ctype or 'no type'})"))
            return []
        links = page_links(body, url).links
        self._listing(want, url, links)
        return []

    def _listing(self, want: Want, url: str, links: list[str]) -> None:
        on_site = [u for u in links if same_site(u, [self.base])][:2000]
        self.listings.append(_Listing(url, want.how, on_site))
        articles = [u for u in on_site if looks_like_article(u)]
        self._guessed += articles
        self.tried.append(Tried(want.url, want.kind, want.how,
                                f"a page with {_count(len(articles), 'article-like link')}"))
        self._asked[url] = want.url

    # -- the proposal --------------------------------------------------------------------------------

    def proposal(self, name: str | None = None) -> Proposal:
        """Propose a source from everything fetched."""
        tried = tuple(self.tried)
        if self.error is not None:
            return Proposal(self.url, name or source_name(self.url), (), (), (), AllowProposal((), 0, 0),
                            tried=tried, error=self.error)
        trusted = list(dict.fromkeys(self._trusted))
        found = list(dict.fromkeys(trusted + self._guessed))
        not_articles = [self.base, *(x.url for x in self.listings), *(f.url for f in self.feeds),
                        *(s.url for s in self.sitemaps)]
        if len(trusted) >= MIN_TRUSTED:
            allow = propose_allow(trusted, not_articles, also=self._guessed)
        else:
            allow = propose_allow(found, not_articles)
        patterns = [re.compile(p) for p in allow.patterns]

        def is_article(u: str) -> bool:
            return any(p.search(u) for p in patterns) if patterns else looks_like_article(u)

        listings = []
        for listing in self.listings:
            count = len({canonicalize(u) for u in listing.links if is_article(u)})
            if count >= MIN_ARTICLE_LINKS:
                kind = "page" if listing.how == "the URL given" else "section"
                listings.append(Found(listing.url, kind, listing.how, count))
        news = [s for s in self.sitemaps if s.kind == "news sitemap"]
        if news:
            proposed = news[:MAX_SITEMAPS]
        elif not self.feeds:
            # No feed and no news sitemap: the site's full sitemap is how its new articles are found.
            proposed = [s for s in self.sitemaps if s.via is None][:2]
        else:
            proposed = []
        return Proposal(
            url=self.base, name=name or source_name(self.url),
            feeds=tuple(self._in_order(self.feeds)[:MAX_FEEDS]), sitemaps=tuple(proposed),
            start_urls=tuple(self._in_order(listings)[:MAX_START_URLS]), allow=allow,
            other_sitemaps=tuple(s for s in self.sitemaps if s not in proposed), tried=tried,
            articles_found=len(found), articles_matched=sum(1 for u in found if is_article(u)))


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _looks_html(body: bytes, ctype: str) -> bool:
    if "html" in ctype:
        return True
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<!doctype html") or b"<html" in head
