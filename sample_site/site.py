"""The sample news site: every page built from the sample articles, and a sources.toml to crawl it.

Besides its ten articles the site carries the traps a crawler meets: tracking parameters and
fragments on links, pagination, a syndicated copy on another template, a robots.txt-disallowed
path, a page that always fails, and a redirect from an old URL. What a crawl of it should store is
the tests' business (tests/sites.py), not the site's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sample_site.articles import Article, article_path, load_articles
from sample_site.server import Page
from sample_site.templates import article_page, atom, listing, news_sitemap, rss, sitemap_index, urlset

# The article pages' paths: what the sample source follows from listings.
ALLOW = r"/\w+/\d{4}-\d{2}/\d{2}/[\w-]+\.html$"


@dataclass(frozen=True)
class SampleSite:
    """Every page of the sample site, by path, and the URLs of its articles, traps and discovery points."""

    pages: dict[str, Page]
    # Article key (as in data/articles.toml, in its order) -> URL of its page.
    articles: dict[str, str]
    syndicated: tuple[str, str]  # (an article's URL, its copy's URL on the other template)
    disallowed: str  # under robots.txt's Disallow
    failing: str  # always answers 500
    moved: tuple[str, str]  # (old URL, the article URL it redirects to)
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]
    start_urls: tuple[str, ...]


def build_sample_site(base_url: str) -> SampleSite:
    """Build every page of the sample site for a server at `base_url`."""
    arts = {a["key"]: Article(a, article_path(a)) for a in load_articles()}
    copy_of = arts["002"]
    repost = Article({**copy_of.data, "template": "modern", "section": "world",
                      "published": "2022-03-18T09:00:00+08:00"},
                     "/world/2022-03/18/high-tech-green-complementary-repost.html")
    private = "/private/2024-01/01/secret-report.html"
    failing = "/business/2024-09/10/server-error-story.html"
    old = "/world/2024-09/18/pacific-forum-leaders-meet-old.html"
    u = base_url.rstrip("/")
    pages: dict[str, Page] = {a.path: Page(article_page(a, u)) for a in arts.values()}
    pages[repost.path] = Page(article_page(repost, u))
    pages[private] = Page(article_page(Article({**arts["bank"].data, "title": "Internal report"}, private), u))
    pages[failing] = Page(b"<html><body>Internal Server Error</body></html>", status=500)
    pages[old] = Page(b"", status=301, headers={"Location": arts["diplomacy"].path})
    pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})

    home = [(arts["000"].path + "?utm_source=home&utm_medium=web", arts["000"]),
            (arts["002"].path + "#comments", arts["002"]), (arts["sports"].path, arts["sports"]),
            (private, None), (arts["culture"].path, arts["culture"])]
    pages["/"] = listing("Home", home, u)
    Items = list[tuple[str, Article | None]]
    business: list[Items] = [[(arts["000"].path, arts["000"]), (arts["002"].path, arts["002"]),
                              (arts["bank"].path, arts["bank"]), (failing, None)],
                             [(arts["004"].path, arts["004"])],
                             [(arts["001"].path, arts["001"])]]
    for n, items in enumerate(business, start=1):
        path = "/business/" if n == 1 else f"/business/?page={n}"
        pages[path] = listing("Business", items, u, page=n, pages=len(business))
    pages["/world/"] = listing("World", [(arts["culture"].path, arts["culture"]), (repost.path, repost)], u)
    pages["/sports/"] = listing("Sports", [(arts["sports"].path, arts["sports"])], u)

    rss_items = [(arts["000"], ""), (arts["002"], "?utm_source=rss&utm_medium=feed"), (arts["bank"], "")]
    pages["/rss.xml"] = Page(rss(rss_items, u), headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    atom_items = [(arts["sports"], arts["sports"].path), (arts["diplomacy"], old)]
    pages["/atom.xml"] = Page(atom(atom_items, u), headers={"Content-Type": "application/atom+xml; charset=utf-8"})
    pages["/sitemap_index.xml"] = Page(sitemap_index([f"{u}/sitemap-news.xml", f"{u}/sitemap-pages.xml"]),
                                       headers={"Content-Type": "application/xml"})
    pages["/sitemap-news.xml"] = Page(news_sitemap([arts["003"]], u), headers={"Content-Type": "application/xml"})
    pages["/sitemap-pages.xml"] = Page(urlset([arts["004"], arts["weather"]], u),
                                       headers={"Content-Type": "application/xml"})

    return SampleSite(
        pages=pages, articles={key: u + a.path for key, a in arts.items()},
        syndicated=(u + copy_of.path, u + repost.path), disallowed=u + private, failing=u + failing,
        moved=(u + old, u + arts["diplomacy"].path),
        feeds=(u + "/rss.xml", u + "/atom.xml"), sitemaps=(u + "/sitemap_index.xml",),
        start_urls=(u + "/", u + "/business/"),
    )


def sources_toml(site: SampleSite, name: str = "sample-news") -> str:
    """Return a sources.toml with one source for the sample site."""
    def arr(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return (f"[[source]]\nname = {json.dumps(name)}\nfeeds = {arr(site.feeds)}\nsitemaps = {arr(site.sitemaps)}\n"
            f"start_urls = {arr(site.start_urls)}\nallow = ['{ALLOW}']\nfollow = 2\nevery = \"30m\"\n")
