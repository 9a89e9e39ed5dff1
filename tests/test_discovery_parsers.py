"""Feeds, sitemaps and listing pages -> links: pure parsers, hostile inputs included."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime

import pytest

from crawler.discovery import DiscoveryError, parse_feed, parse_listing, parse_sitemap

BASE = "https://news.example/business/"

RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Biz</title>
<item><title>Steel goes green</title><link>/business/2024-09/21/steel.html?utm_source=rss</link>
<pubDate>Sat, 21 Sep 2024 17:39:00 +0800</pubDate></item>
<item><title>Absolute</title><link>https://news.example/a/2.html</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>W</title>
<entry><title>Forum</title><link rel="alternate" href="https://news.example/world/forum.html"/>
<id>urn:x:1</id><updated>2024-09-18T04:00:00Z</updated></entry></feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://news.example/"><title>R</title></channel>
<item rdf:about="https://news.example/rdf/1.html"><title>One</title><link>https://news.example/rdf/1.html</link></item>
</rdf:RDF>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title><item><title>&xxe;</title><link>https://x/1</link></item></channel></rss>"""

LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x/&lol4;</loc></url></urlset>"""


def test_rss_links_are_absolute_and_dates_utc() -> None:
    first, second = parse_feed(RSS, BASE)
    assert first.url == "https://news.example/business/2024-09/21/steel.html?utm_source=rss"
    assert first.published == datetime(2024, 9, 21, 9, 39, tzinfo=UTC) and first.title == "Steel goes green"
    assert second.url == "https://news.example/a/2.html" and second.published is None


def test_atom_and_rdf() -> None:
    (entry,) = parse_feed(ATOM, BASE)
    assert entry.url == "https://news.example/world/forum.html"
    assert entry.published == datetime(2024, 9, 18, 4, tzinfo=UTC)
    assert [link.url for link in parse_feed(RDF, BASE)] == ["https://news.example/rdf/1.html"]


@pytest.mark.parametrize("body", [b"", b"<html><body><p>Not a feed</p></body></html>", b"\x00\x01garbage"])
def test_a_non_feed_is_an_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError, match="not a feed"):
        parse_feed(body, BASE)


def test_entity_declarations_are_refused_in_feeds() -> None:
    with pytest.raises(DiscoveryError, match="entities"):
        parse_feed(XXE, BASE)


def test_sitemaps_never_expand_entities_or_read_files() -> None:
    start = time.monotonic()
    try:
        page = parse_sitemap(LAUGHS, BASE)
    except DiscoveryError:
        page = None
    assert time.monotonic() - start < 2
    assert page is None or all("lollollol" not in link.url for link in page.urls)
    xxe = XXE.replace(b"rss", b"urlset").replace(b"<channel><title>&xxe;</title><item><title>&xxe;</title><link>",
                                                 b"<url><loc>https://x/&xxe;").replace(b"</link></item></channel>",
                                                                                        b"</loc></url>")
    try:
        links = parse_sitemap(xxe, BASE).urls
    except DiscoveryError:
        links = []
    assert all("root:" not in link.url for link in links)


def test_sitemap_index_urlset_and_news_sitemap() -> None:
    index = parse_sitemap(b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
                          b"<loc>https://news.example/s1.xml</loc><lastmod>2024-09-21</lastmod></sitemap></sitemapindex>",
                          BASE)
    assert [s.url for s in index.sitemaps] == ["https://news.example/s1.xml"] and index.urls == []
    news = parse_sitemap(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                         b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://news.example/n.html'
                         b"</loc><lastmod>2024-01-01</lastmod><news:news><news:publication_date>2024-09-21T17:39:00+08:00"
                         b"</news:publication_date><news:title>Steel</news:title></news:news></url></urlset>", BASE)
    (link,) = news.urls
    assert link.published == datetime(2024, 9, 21, 9, 39, tzinfo=UTC) and link.title == "Steel"
    bare = parse_sitemap(b"<urlset><url><loc>/x.html</loc><lastmod>not a date</lastmod></url></urlset>", BASE)
    assert [(u.url, u.published) for u in bare.urls] == [("https://news.example/x.html", None)]


def test_gzip_sitemaps_and_gzip_bombs() -> None:
    body = gzip.compress(b"<urlset><url><loc>https://news.example/g.html</loc></url></urlset>")
    assert [u.url for u in parse_sitemap(body, BASE).urls] == ["https://news.example/g.html"]
    bomb = gzip.compress(b"\x00" * (200 * 1024 * 1024), compresslevel=9)
    start = time.monotonic()
    with pytest.raises(DiscoveryError, match="decompressed"):
        parse_sitemap(bomb, BASE)
    assert time.monotonic() - start < 5


def test_huge_sitemaps_are_bounded() -> None:
    body = b"<urlset>" + b"".join(b"<url><loc>https://news.example/%d.html</loc></url>" % i for i in range(100_000))
    body += b"</urlset>"
    assert len(parse_sitemap(body, BASE, max_links=5000).urls) == 5000


def test_not_a_sitemap() -> None:
    with pytest.raises(DiscoveryError, match="not a sitemap"):
        parse_sitemap(b"<html><body>hi</body></html>", BASE)


def test_listing_links_pagination_and_base_href() -> None:
    page = parse_listing(b"""<html><head><base href="https://cdn.example/news/"><link rel="next" href="?page=2">
      </head><body><nav><a href="/">Home</a></nav><a href="2024/story.html#comments">Story</a>
      <a href="javascript:void(0)">x</a><a href="mailto:a@b">m</a><a href="#top">top</a>
      <div class="pagination"><a href="?page=2">2</a><a href="?page=3">3</a><a href="?page=2">Next &raquo;</a></div>
      </body></html>""", "https://news.example/business/")
    assert page.links == ["https://cdn.example/", "https://cdn.example/news/2024/story.html"]
    assert page.next_pages == ["https://cdn.example/news/?page=2", "https://cdn.example/news/?page=3"]


@pytest.mark.parametrize("body", [b"", b"<<<>>>", b"<html><body><a href='x'>unclosed"])
def test_malformed_listings_never_raise(body: bytes) -> None:
    assert parse_listing(body, BASE).next_pages == []
