"""Is an extracted page one article, or a listing of other articles? Decided on what the page shows.

A home, section, tag or pagination page is a column of story cards: a link to another article
(its headline) and at most a short summary under it. Extracted, each card becomes a block of the
main text that starts with (or is part of) the link's anchor text, or the summary right after
that link, and little else is left. An article is running text: its paragraphs start with words
of their own, and the links to other stories sit in rails that extraction drops, or in a few
teasers between paragraphs. The page's declared type decides nothing: on Fundus's 258 labelled
news pages, 9 real articles declare og:type "website".

Measured as the share of the main text's characters that story cards hold, on Fundus's 258 pages
(all articles; tests/goldens/fundus) and on the listing pages of tests/test_pagetype.py (sample_site's
home and section pages, bench/site.py's home and pagination, and three templates of their own:
a grid of whole-card links, a table of headline, date and summary, a Chinese section page):
- articles: 0 on 202 pages; at most 0.60 (jp/Nikkei: two teaser links beside 921 characters of
  Japanese), then 0.49 (tw/TaipeiTimes: four related-story cards after the article);
- listings: at least 0.98 (what is not a card is the page's <h1> and the pager).
LISTING_SHARE sits between the two.
"""

from __future__ import annotations

from crawler.links import SUMMARY_CHARS, StoryLinks, block_of

# One story card can make a listing: a last pagination page lists one story (sample_site's
# /business/?page=3). The share below keeps an article with teasers out: on Fundus's pages the 56
# articles with cards have them hold at most 0.60 of the text.
MIN_CARDS = 1
# A listing is cards and little else (see above: articles <= 0.60, listings >= 0.98).
LISTING_SHARE = 0.8


def listing_reason(links: StoryLinks, text: str) -> str | None:
    """Return why the page with these story links and main text is a listing, or None for an article."""
    cards, in_cards, total = evidence(links, text)
    if cards >= MIN_CARDS and in_cards >= LISTING_SHARE * total:
        return (f"listing page: {cards} story cards (a link to another page, at most a short summary) "
                f"hold {in_cards} of its {total} characters of text")
    return None


def evidence(links: StoryLinks, text: str) -> tuple[int, int, int]:
    """Return (story cards in the text, characters in them, characters of text in all)."""
    blocks = [b for b in map(block_of, text.split("\n")) if b]
    total = sum(len(b) for b in blocks)
    if len(links.anchors) < MIN_CARDS:
        return 0, 0, total
    cards, in_cards = _cards(blocks, links, frozenset())
    # Extraction may keep a card's summary and drop its headline link (it did so on a Chinese
    # section page): then the summaries are the cards. Looked up only where the text is all short
    # blocks, as a listing's is; finding the element after every link costs more than the rest.
    if in_cards < LISTING_SHARE * total and len(blocks) >= MIN_CARDS and max(map(len, blocks)) <= SUMMARY_CHARS:
        cards, in_cards = _cards(blocks, links, links.summaries())
    return cards, in_cards, total


def _cards(blocks: list[str], links: StoryLinks, summaries: frozenset[str]) -> tuple[int, int]:
    cards = in_cards = summary_left = 0
    for block in blocks:
        # A block led by a headline ("Headline Summary...") or a piece of a link that holds the whole
        # card (<a><h3>Headline</h3><p>Summary</p></a>).
        if links.leading(block) is not None or links.inside(block):
            cards += 1
            in_cards += len(block)
            summary_left = SUMMARY_CHARS
        elif len(block) <= summary_left:
            in_cards += len(block)  # the card's summary or date line, under its headline
            summary_left -= len(block)
        elif block in summaries:
            cards += 1  # a card whose headline extraction left out
            in_cards += len(block)
            summary_left = 0
        else:
            summary_left = 0
    return cards, in_cards
