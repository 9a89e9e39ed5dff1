"""Teasers for other stories, found by structure on three templates whose class names mean nothing.

Each page is a sample article with teasers placed inside its body, where extraction keeps them, in
shapes real sites use: a label-led "Read more:" block with the other story's first sentence (seed
article 000's shape), labels in other languages, a page-unique list of related stories, previous /
next-article lines and cards that are one link. Beside them, paragraphs that quote or link another
story, which must stay.
"""

from __future__ import annotations

import html

import pytest
from lxml.html import fromstring

from crawler.extraction import extract
from crawler.links import story_links
from crawler.teasers import remove_teasers
from sample_site import load_articles

ARTICLES = {a["key"]: a for a in load_articles()}
STORY = ARTICLES["000"]
OTHERS = [a for key, a in ARTICLES.items() if key != "000"]
_E = html.escape

CARNEY = "Canadian PM's visit to China paves way for more pragmatic trade ties: scholar"
CARNEY_FIRST = ("Canadian Prime Minister Mark Carney's official visit to China signals a policy shift towards "
                "building a more pragmatic relationship between the two countries, according to a Canadian researcher.")
# Real paragraphs that link or quote another story: they stay.
LINK_LED = ("The Federal Reserve Bank of New York said on Monday that its survey of manufacturers in the region "
            "showed new orders rising for a third month, the longest run since early 2021.")
QUOTING = ("As our report on the copper market showed last week, \"prices for cathode copper have risen by a fifth "
           "since January\", and smelters in Anhui are running at full capacity.")


def _body(paragraphs: list[str], teasers: dict[int, str]) -> str:
    out = []
    for i, p in enumerate(paragraphs):
        if p == LINK_LED:
            out.append(f'<p><a href="/economy/2024-09/20/fed-survey.html">The Federal Reserve Bank of New York</a>'
                       f"{_E(p.removeprefix('The Federal Reserve Bank of New York'))}</p>")
        elif p == QUOTING:
            out.append(f'<p>As <a href="/business/2024-09/13/copper-market.html">our report on the copper market</a>'
                       f"{_E(p.removeprefix('As our report on the copper market'))}</p>")
        else:
            out.append(f"<p>{_E(p)}</p>")
        out.append(teasers.get(i, ""))
    return "".join(out)


def _paragraphs() -> list[str]:
    p = list(STORY["paragraphs"])
    return [p[0], LINK_LED, *p[1:4], QUOTING, *p[4:]]


def template_one() -> str:
    # Seed article 000's shape: a bold label, the other story's headline as a link, its first sentence.
    read_more = (f'<div class="x7"><b>Read more:</b> <a href="/world/2026-01/15/canadian-pm-visit.html">'
                 f"{_E(CARNEY)}</a><p>{_E(CARNEY_FIRST)}</p></div>")
    german = f'<p class="x8">Lesen Sie auch: <a href="/wirtschaft/1234.html">{_E(OTHERS[0]["title"])}</a></p>'
    return (f'<html><head><title>{_E(STORY["title"])} | Daily</title></head><body><div class="a1">'
            f'<a href="/">Daily</a></div><div class="a2"><h1>{_E(STORY["title"])}</h1><div class="a3">'
            f"{_body(_paragraphs(), {2: read_more, 5: german})}</div></div></body></html>")


def template_two() -> str:
    # A related-stories block inside the body: a heading and cards (headline link, summary), unique to this page.
    cards = "".join(f'<li class="q"><a href="/r/{a["key"]}.html">{_E(a["title"])}</a><span class="q2">'
                    f'{_E(a["description"])}</span></li>' for a in OTHERS[1:4])
    related = f'<div class="zz"><h3>More on this</h3><ul class="yy">{cards}</ul></div>'
    chinese = f'<p>延伸阅读：<a href="/zh/2024/0921/green.html">{_E(OTHERS[4]["title"])}</a></p>'
    return (f'<!DOCTYPE html><html><head><meta property="og:title" content="{_E(STORY["title"])}"></head><body>'
            f'<main class="m"><h1 class="t">{_E(STORY["title"])}</h1><section class="s0">'
            f"{_body(_paragraphs(), {3: chinese, 7: related})}</section></main></body></html>")


def template_three() -> str:
    # Cards that are one link (<a><h4/><p/></a>), and previous / next-article links.
    card = (f'<a class="k1" href="/c/{OTHERS[5]["key"]}.html"><h4>{_E(OTHERS[5]["title"])}</h4>'
            f'<p>{_E(OTHERS[5]["description"])}</p></a>')
    prev_next = (f'<p class="n1">Previous article: <a href="/p/{OTHERS[6]["key"]}.html">{_E(OTHERS[6]["title"])}'
                 f'</a></p><p class="n2">Next article » <a href="/p/{OTHERS[7]["key"]}.html">'
                 f'{_E(OTHERS[7]["title"])}</a></p>')
    return (f'<html><head><title>{_E(STORY["title"])}</title></head><body><div class="w"><font size="2">'
            f'<h1>{_E(STORY["title"])}</h1><div class="v">{_body(_paragraphs(), {4: card, 8: prev_next})}'
            f"</div></font></div></body></html>")


TEMPLATES = {"one": template_one, "two": template_two, "three": template_three}
TEASER_TEXT = {
    "one": [CARNEY, CARNEY_FIRST, "Read more", OTHERS[0]["title"]],
    "two": [OTHERS[1]["title"], OTHERS[2]["description"], OTHERS[3]["title"], OTHERS[4]["title"]],
    "three": [OTHERS[5]["title"], OTHERS[5]["description"], OTHERS[6]["title"], OTHERS[7]["title"]],
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_teasers_go_and_the_article_stays(name: str) -> None:
    url = f"http://{name}.example/news/2024-09/21/story.html"
    article = extract(TEMPLATES[name](), url)
    assert article is not None
    for teaser in TEASER_TEXT[name]:
        assert teaser not in article.text, f"{name}: teaser text kept: {teaser[:60]}"
    for paragraph in _paragraphs():
        assert paragraph in article.text, f"{name}: paragraph lost: {paragraph[:60]}"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_teaser_was_found_by_the_teaser_step(name: str) -> None:
    # The teasers reach the extracted text (so the pages test teasers.py, not trafilatura), and
    # remove_teasers says what it removed.
    from trafilatura.utils import load_html

    from crawler.extraction import main_text, prune_boilerplate

    url = f"http://{name}.example/news/2024-09/21/story.html"
    tree = load_html(TEMPLATES[name]())
    prune_boilerplate(tree)
    text = main_text(tree, url)
    reached = [t for t in TEASER_TEXT[name] if t in text]
    assert len(reached) >= 2, f"{name}: extraction itself dropped the teasers: {reached}"
    cleaned, removed = remove_teasers(text, story_links(tree, url))
    assert all(t not in cleaned for t in reached)
    assert all(any(t in r for r in removed) for t in reached)


def test_a_paragraph_led_by_a_link_or_quoting_a_story_is_not_a_teaser() -> None:
    page = fromstring(template_one())
    links = story_links(page, "http://one.example/news/story.html")
    text = "\n".join([LINK_LED, QUOTING, "Read more: " + CARNEY, CARNEY_FIRST])
    cleaned, removed = remove_teasers(text, links)
    assert cleaned == f"{LINK_LED}\n{QUOTING}"
    assert removed == ["Read more: " + CARNEY, CARNEY_FIRST]


def test_a_headline_line_without_its_link_on_the_page_stays() -> None:
    # Only what a link on the page accounts for is a teaser: the same words as plain text stay.
    page = fromstring(f"<html><body><p>{_E(CARNEY)}</p><p>{_E(CARNEY_FIRST)}</p></body></html>")
    text = f"{CARNEY}\n{CARNEY_FIRST}"
    assert remove_teasers(text, story_links(page, "http://x.example/a.html")) == (text, [])
