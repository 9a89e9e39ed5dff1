"""What a page itself shows is not the article (repeats, blocks outside its declared body, byline and
timestamp lines), and the standfirst it shows that extraction left out."""

from __future__ import annotations

from lxml.html import fromstring

from crawler.cleaning import within_declared_body, without_metadata_lines, without_repeats
from crawler.standfirst import with_standfirst
from sample_site import load_articles

PARAGRAPHS = load_articles()[0]["paragraphs"]
PLACEHOLDER = "External content is not available. Your privacy settings prevent loading it."


def test_a_placeholder_repeated_three_times_goes_and_a_repeated_paragraph_keeps_one_copy() -> None:
    text = "\n".join([PARAGRAPHS[0], PLACEHOLDER, PARAGRAPHS[1], PLACEHOLDER, PARAGRAPHS[2], PLACEHOLDER,
                      PARAGRAPHS[1], "Share", "Share"])
    cleaned, removed = without_repeats(text)
    assert cleaned.split("\n") == [PARAGRAPHS[0], PARAGRAPHS[1], PARAGRAPHS[2], "Share", "Share"]
    assert removed == [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, PARAGRAPHS[1]]
    assert without_repeats("\n".join(PARAGRAPHS)) == ("\n".join(PARAGRAPHS), [])


def test_blocks_outside_the_declared_body_go_when_it_is_this_article() -> None:
    body = " ".join(PARAGRAPHS)
    plug = "Sign up for our weekly newsletter and never miss a story from our award-winning team."
    text = "\n".join([*PARAGRAPHS[:3], plug, *PARAGRAPHS[3:]])
    assert within_declared_body(text, body) == ("\n".join(PARAGRAPHS), [plug])
    # A paywall stub of a body, or another article's body, decides nothing.
    assert within_declared_body(text, PARAGRAPHS[0]) == (text, [])
    other = " ".join(load_articles()[3]["paragraphs"]) * 3
    assert within_declared_body(text, other) == (text, [])
    assert within_declared_body(text, None) == (text, [])


def test_byline_and_timestamp_lines_go_and_sentences_with_names_or_dates_stay() -> None:
    text = "\n".join(["Von Nina Magoley", "Stand: 22.04.2024, 06:00 Uhr", PARAGRAPHS[0],
                      "Nina Magoley spoke to firefighters on 22.04.2024 in Essen.", "Kehrtwende 2024?"])
    cleaned, removed = without_metadata_lines(text, "Nina Magoley")
    assert removed == ["Von Nina Magoley", "Stand: 22.04.2024, 06:00 Uhr"]
    assert cleaned.split("\n") == text.split("\n")[2:]


def test_the_standfirst_the_page_shows_goes_first_when_extraction_left_it_out() -> None:
    lead = "Traditional sectors such as mining and steel show a new, digital identity at the convention in Hefei."
    page = fromstring(f"<html><head><meta name='description' content='{lead}'></head><body><h1>Title</h1>"
                      f"<p class='x'>{lead}</p><div>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</div></body></html>")
    text = "\n".join(PARAGRAPHS)
    assert with_standfirst(text, page, lead) == f"{lead}\n{text}"
    assert with_standfirst(f"{lead}\n{text}", page, lead) == f"{lead}\n{text}"  # already there
    # Declared but not shown (in the head only), or shown only as a link: not part of the article.
    hidden = fromstring(f"<html><head><meta name='description' content='{lead}'></head><body><h1>Title</h1>"
                        f"<a href='/x'>{lead}</a><p>{PARAGRAPHS[0]}</p></body></html>")
    assert with_standfirst(text, hidden, lead) == text
    assert with_standfirst(text, page, None) == text
