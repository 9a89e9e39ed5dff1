"""The sample site's markup: article pages in two templates, listings, feeds and sitemaps.

Pages look like real news pages (navigation, cookie banner, "most read", related teasers,
comments, footers; one modern HTML5 template with JSON-LD and one legacy div-soup template), so
that extraction meets the noise it meets on the web. `feed_page` is the bare feed that small
fixture sites list their pages in.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from datetime import UTC
from email.utils import format_datetime

from sample_site.articles import Article
from sample_site.server import Page

SECTIONS = ("business", "world", "sports")

_E = html.escape
_NAV = "".join(f'<li><a href="/{s}/">{s.title()}</a></li>' for s in SECTIONS) + \
    '<li><a href="/about/">About us</a></li><li><a href="/contact/">Contact</a></li>'
_MOST_READ = ("Stock markets close higher on tech rally", "Ten tips for a greener commute",
              "Interview: the chef reinventing street food", "Photo gallery: autumn festival lanterns")
_COMMENTS = ("Very informative, thanks for sharing.", "I would like to see more figures on this.",
             "Interesting read. Looking forward to the follow-up.")


def _paragraphs(a: Article) -> list[str]:
    headings = set(a.data.get("headings", ()))
    return [f"<h2>{_E(p)}</h2>" if p in headings else f"<p>{_E(p)}</p>" for p in a.data["paragraphs"]]


def article_page(a: Article, base: str) -> bytes:
    """Render an article's page in its template, for a site at `base`."""
    page = modern(a, base) if a.data["template"] == "modern" else legacy(a, base)
    return page.encode("utf-8")


def modern(a: Article, base: str) -> str:
    """Render the modern HTML5 template: JSON-LD, cookie banner, teasers, sidebar, comments."""
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


def legacy(a: Article, base: str) -> str:
    """Render the legacy div-soup template: tables, font tags, a date-only dateline."""
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


def listing(title: str, items: list[tuple[str, Article | None]], base: str, page: int = 1,
             pages: int = 1) -> Page:
    """Render a section listing (page `page` of `pages`, with rel=next pagination under /business/)."""
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

def rss(items: list[tuple[Article, str]], base: str) -> bytes:
    """Render an RSS 2.0 feed of (article, suffix added to its link) items."""
    entries = "".join(
        f"<item><title>{_E(a.data['title'])}</title><link>{base}{a.path}{_E(suffix)}</link>"
        f"<guid isPermaLink=\"false\">{a.data['key']}</guid><pubDate>{format_datetime(a.published)}</pubDate>"
        f"<description>{_E(a.data['description'])}</description></item>" for a, suffix in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Sample News: Business</title>'
            f"<link>{base}/business/</link><description>Business news</description>{entries}</channel></rss>").encode()


def atom(items: list[tuple[Article, str]], base: str) -> bytes:
    """Render an Atom feed of (article, link path) entries."""
    entries = "".join(
        f"<entry><title>{_E(a.data['title'])}</title><link rel=\"alternate\" href=\"{base}{href}\"/>"
        f"<id>urn:sample:{a.data['key']}</id><updated>{a.published.astimezone(UTC).isoformat()}</updated>"
        f"<summary>{_E(a.data['description'])}</summary></entry>" for a, href in items)
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Sample News: World and Sports</title><id>{base}/atom.xml</id>"
            f"<updated>2024-09-22T13:45:00+00:00</updated>{entries}</feed>").encode()


def sitemap_index(children: list[str]) -> bytes:
    """Render a sitemap index listing the child sitemaps' URLs."""
    items = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>').encode()


def news_sitemap(arts: list[Article], base: str) -> bytes:
    """Render a Google News sitemap of the articles."""
    items = "".join(
        f"<url><loc>{base}{a.path}</loc><news:news><news:publication><news:name>Sample News</news:name>"
        f"<news:language>en</news:language></news:publication><news:publication_date>{a.data['published']}"
        f"</news:publication_date><news:title>{_E(a.data['title'])}</news:title></news:news></url>" for a in arts)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{items}</urlset>').encode()


def urlset(arts: list[Article], base: str) -> bytes:
    """Render a plain sitemap of the articles, with lastmod dates."""
    items = "".join(f"<url><loc>{base}{a.path}</loc><lastmod>{a.published.date().isoformat()}</lastmod></url>"
                    for a in arts)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>').encode()


def feed_page(urls: Iterable[str], headers: Mapping[str, str] | None = None) -> Page:
    """Return a bare RSS 2.0 feed listing `urls`, as small fixture sites serve one."""
    items = "".join(f"<item><title>t</title><link>{url}</link></item>" for url in urls)
    return Page(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode(),
                headers={"Content-Type": "application/rss+xml", **(headers or {})})
