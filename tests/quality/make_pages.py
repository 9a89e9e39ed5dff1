"""Write the extraction quality gate's saved pages: every sample article in five page templates.

Run `python tests/quality/make_pages.py` to regenerate tests/quality/pages/ (deterministic). Each
NAME.html has a NAME.json with what a perfect extractor returns: title, published date, the body
paragraphs, and the teaser sentences about other stories that must never reach the text.
"""

from __future__ import annotations

import html
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sample_site.articles import Article, article_path, load_articles  # noqa: E402
from sample_site.templates import legacy, modern  # noqa: E402

OUT = Path(__file__).with_name("pages")
DECLARED = {"modern", "wordpress", "portal"}
BASE = "http://news.example"
_E = html.escape


def teasers(articles: list[dict], key: str) -> list[str]:
    """Two first sentences of other articles: the 'related stories' a page carries."""
    others = [a for a in articles if a["key"] != key]
    picks = [others[(len(key) * 3 + i) % len(others)] for i in range(2)]
    return [a["paragraphs"][0].split(". ")[0].rstrip(".") + "." for a in picks]


def wordpress(a: dict, related: list[str]) -> str:
    body = "".join(f"<p>{_E(p)}</p>" for p in a["paragraphs"])
    rel = "".join(f'<div class="jp-relatedposts-post"><h4><a href="/r/{i}">Related</a></h4><p>{_E(t)}</p></div>'
                  for i, t in enumerate(related))
    return f"""<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>{_E(a['title'])} &#8211; Daily Blog</title>
<meta property="article:published_time" content="{a['published']}"></head><body class="single-post">
<header id="masthead"><div class="site-branding">Daily Blog</div><nav class="main-navigation"><ul><li><a href="/">Home</a></li>
<li><a href="/business/">Business</a></li><li><a href="/tech/">Tech</a></li></ul></nav></header>
<div id="content"><div id="primary"><article class="post"><header class="entry-header"><h1 class="entry-title">{_E(a['title'])}</h1>
<div class="entry-meta"><span class="posted-on">{a['published'][:10]}</span></div></header>
<div class="entry-content">{body}<div class="sharedaddy"><h3>Share this:</h3><a href="#">Facebook</a> <a href="#">X</a></div>
<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline">Related</h3>{rel}</div></div></article>
<div id="comments" class="comments-area"><h2>2 thoughts on this</h2><ol><li><p>Great summary, thanks.</p></li></ol></div></div>
<aside id="secondary" class="widget-area"><h2>Recent Posts</h2><ul><li>Weekend reading list</li></ul></aside></div>
<footer id="colophon">Proudly powered by WordPress</footer></body></html>"""


def wire(a: dict, related: list[str]) -> str:
    body = "".join(f"<p>{_E(p)}</p>" for p in a["paragraphs"])
    more = "".join(f"<p>{_E(t)}</p>" for t in related)
    return f"""<html><head><meta charset="utf-8"><title>{_E(a['title'])} | Wire</title></head><body>
<div class="top-bar">Markets | World | Business</div><div class="article-wrap"><h1>{_E(a['title'])}</h1>
<div class="byline">{_E(a['author'] or 'Wire staff')} &middot; {a['published'][:10]}</div>
<div class="article-body">{body}<div class="read-more"><strong>Read more:</strong>{more}</div></div></div>
<div class="footer">&copy; 2024 Wire. All rights reserved. Terms | Privacy</div></body></html>"""


def portal(a: dict, related: list[str]) -> str:
    body = "".join(f"<p>{_E(p)}</p>" for p in a["paragraphs"])
    also = "".join(f'<div class="card"><p>{_E(t)}</p></div>' for t in related)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_E(a['title'])}</title>
<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", "headline": a["title"],
                                                 "datePublished": a["published"]})}</script></head><body>
<div class="cookie-notice">This site uses cookies. <a href="#">OK</a></div><div class="nav-bar"><a href="/">Portal</a>
<a href="/news/">News</a><a href="/money/">Money</a></div><div class="page"><div class="story"><h1>{_E(a['title'])}</h1>
<div class="story-text">{body}</div><section class="you-may-also-like"><h2>You may also like</h2>{also}</section></div>
<div class="rail"><div class="trending"><h3>Trending now</h3><ol><li>Celebrity wedding photos</li></ol></div></div></div>
<div class="site-footer">Portal Media Group. All rights reserved.</div></body></html>"""


def main() -> None:
    articles = load_articles()
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()
    for a in articles:
        related = teasers(articles, a["key"])
        article = Article(a, article_path(a))
        renders = {
            "modern": (modern(article, BASE), a["noise"].get("teaser_paragraphs", [])),
            "legacy": (legacy(article, BASE), []),
            "wordpress": (wordpress(a, related), related),
            "wire": (wire(a, related), related),
            "portal": (portal(a, related), related),
        }
        for template, (page, teaser) in renders.items():
            name = f"{a['key']}-{template}"
            (OUT / f"{name}.html").write_text(page, encoding="utf-8")
            # Pages that declare a time are judged on its UTC date (what newsmon stores); pages that
            # show only a date, on that date.
            when = datetime.fromisoformat(a["published"])
            day = when.astimezone(UTC).date() if template in DECLARED else when.date()
            expected = {"url": f"{BASE}/{template}{article_path(a)}", "template": template, "title": a["title"],
                        "published": day.isoformat(),
                        "body": [p for p in a["paragraphs"] if p not in a.get("headings", ())],
                        "teasers": teaser}
            (OUT / f"{name}.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {len(articles) * 5} pages to {OUT}")


if __name__ == "__main__":
    main()
