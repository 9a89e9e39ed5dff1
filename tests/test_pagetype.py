"""Listing or article, decided on what the page shows: story cards against running text, never og:type."""

from __future__ import annotations

import html

import pytest
from lxml.html import fromstring

from bench.site import build_site
from crawler.extraction import Article, Rejection, extract, extract_or_reason
from crawler.links import story_links
from crawler.pagetype import LISTING_SHARE, evidence, listing_reason
from sample_site import build_sample_site, load_articles

BASE = "http://127.0.0.1:8000"
SAMPLE = build_sample_site(BASE)
ARTICLES = load_articles()
_E = html.escape


def _card_grid() -> str:
    # Whole cards are links (<a><h3>..</h3><p>..</p></a>), class names mean nothing.
    cards = "".join(f'<div class="q7"><a class="zz" href="/n/{a["key"]}.html"><h3>{_E(a["title"])}</h3>'
                    f'<p>{_E(a["description"])}</p></a></div>' for a in ARTICLES)
    return (f'<html><head><title>News</title><meta property="og:type" content="article"></head><body>'
            f'<div class="hd"><a href="/">Home</a></div><div class="m1"><h1>Latest</h1>{cards}</div></body></html>')


def _dated_list() -> str:
    # Headline, then a date line and a summary line of their own, in a table.
    rows = "".join(f'<tr><td><a href="/s/{a["key"]}">{_E(a["title"])}</a><br><span>{a["published"][:10]}</span>'
                   f'<div>{_E(a["description"])}</div></td></tr>' for a in ARTICLES)
    return f'<html><head><title>Archive</title></head><body><table class="x1">{rows}</table></body></html>'


def _chinese_section() -> str:
    items = [
        ("工业和信息化部等七部门联合印发指导意见推动制造业绿色化发展",
         "提出到2030年绿色工厂产值占制造业总产值比重超过40%。"),
        ("传统产业绿色低碳转型升级取得积极进展钢铁有色行业节能降碳",
         "推动钢铁、有色、石化、化工、建材等行业节能降碳改造。"),
        ("数字化与绿色化深度融合建设一批智能工厂和绿色工厂", "培育绿色低碳新兴产业，形成新的经济增长点。"),
        ("多地出台措施支持企业开展绿色技术改造和设备更新", "各地加大财政支持力度，引导金融机构提供绿色信贷。"),
    ]
    lis = "".join(f'<li><a href="/zh/{n}.html">{t}</a><p>{s}</p></li>' for n, (t, s) in enumerate(items))
    return f'<html><head><title>经济</title></head><body><ul class="k">{lis}</ul></body></html>'


LISTINGS = {
    "sample home": (SAMPLE.pages["/"].body.decode(), BASE + "/"),
    "sample section": (SAMPLE.pages["/business/"].body.decode(), BASE + "/business/"),
    "sample two-story section": (SAMPLE.pages["/world/"].body.decode(), BASE + "/world/"),
    "sample last pagination page": (SAMPLE.pages["/business/?page=3"].body.decode(), BASE + "/business/?page=3"),
    "bench home": (build_site(40).pages["/"].decode(), "http://bench.example/"),
    "bench pagination": (build_site(60).pages["/news/?page=2"].decode(), "http://bench.example/news/?page=2"),
    "card grid": (_card_grid(), "http://cards.example/latest/"),
    "dated list": (_dated_list(), "http://table.example/archive/"),
    "chinese section": (_chinese_section(), "http://zh.example/jingji/"),
}


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_listing_pages_are_rejected_with_their_evidence(name: str) -> None:
    page, url = LISTINGS[name]
    result = extract_or_reason(page, url, min_chars=100)
    assert isinstance(result, Rejection), f"{name} stored as an article"
    assert result.reason.startswith("not an article: listing page:"), result.reason
    assert extract(page, url, min_chars=100) is None


def _article(extra_head: str = "", after_body: str = "", inside_body: str = "") -> str:
    a = ARTICLES[0]
    body = "".join(f"<p>{_E(p)}</p>" for p in a["paragraphs"])
    return (f'<html><head><title>{_E(a["title"])}</title>{extra_head}</head><body><div class="w9"><h1>{_E(a["title"])}'
            f'</h1><div class="b2">{body}{inside_body}</div>{after_body}</div></body></html>')


def test_og_type_website_with_a_real_article_body_is_an_article() -> None:
    # Nine real articles on Fundus's pages declare og:type "website" (Tagesschau, Heise, DerStandard...).
    result = extract_or_reason(_article('<meta property="og:type" content="website">'), BASE + "/a/1.html")
    assert isinstance(result, Article)
    assert ARTICLES[0]["paragraphs"][1] in result.text


def test_an_article_with_teaser_cards_after_it_is_still_an_article() -> None:
    cards = "".join(f'<div class="r"><a href="/o/{a["key"]}.html">{_E(a["title"])}</a><p>{_E(a["description"])}</p>'
                    f"</div>" for a in ARTICLES[1:6])
    page = _article(after_body=cards)
    links = story_links(fromstring(page), BASE + "/a/1.html")
    text = "\n".join(ARTICLES[0]["paragraphs"]) + "\n" + "\n".join(
        f"{a['title']} {a['description']}" for a in ARTICLES[1:6])
    cards_found, in_cards, total = evidence(links, text)
    assert cards_found == 5 and in_cards < LISTING_SHARE * total  # five cards, but most text is the article's
    assert listing_reason(links, text) is None
    assert isinstance(extract_or_reason(page, BASE + "/a/1.html"), Article)


def test_rejections_say_why() -> None:
    empty = extract_or_reason("", BASE + "/x")
    assert isinstance(empty, Rejection) and empty.reason.startswith("not an article: no HTML")
    short = extract_or_reason("<html><body><p>Too short to be an article.</p></body></html>", BASE + "/x")
    assert isinstance(short, Rejection) and short.reason.startswith("too short: ")
    listing = extract_or_reason(*LISTINGS["bench home"])
    assert isinstance(listing, Rejection)
    assert "10 story cards" in listing.reason and "characters of text" in listing.reason
