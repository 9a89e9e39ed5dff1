"""Headlines without the site's name around them, chosen with what the page shows in its <h1>."""

from __future__ import annotations

import html

import pytest
from lxml.html import fromstring

from crawler.titles import headline, headline_and_forms, without_headline


def _page(title: str = "", h1s: tuple[str, ...] = ()) -> object:
    heads = "".join(f"<h1>{h}</h1>" for h in h1s)
    return fromstring(f"<html><head><title>{html.escape(title)}</title></head><body>{heads}<p>x</p></body></html>")


@pytest.mark.parametrize(("declared", "site", "url", "h1s", "expected"), [
    # The site's name, from og:site_name or the host, is cut off either end.
    ("Palestinians say his appointment could ruin talks | CBC News", "CBC News", "https://www.cbc.ca/news/1", (),
     "Palestinians say his appointment could ruin talks"),
    ("Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung", "Börsen-Zeitung", "https://www.boersen-zeitung.de/a", (),
     "Steigende US-Zinsen setzen Dax zu"),
    ("LTE-Patent: Samsung soll Smartphones zerstören - Golem.de", "Golem.de", "https://www.golem.de/news/1", (),
     "LTE-Patent: Samsung soll Smartphones zerstören"),
    # ... and a date segment; the hyphen inside "COVID-19" is no separator.
    ("Post-Vac-Syndrom nach COVID-19-Impfung – DW – 13.06.2023", "dw.com", "https://www.dw.com/de/a", (),
     "Post-Vac-Syndrom nach COVID-19-Impfung"),
    # A section between headline and site goes when the <h1> shows the headline without it.
    ("Russia hits Kyiv with ballistic missile - National | Globalnews.ca", "Global News", "https://globalnews.ca/n/1",
     ("Russia hits Kyiv with ballistic missile",), "Russia hits Kyiv with ballistic missile"),
    # A headline that mentions the site keeps it.
    ("How the BBC covers the war - BBC News", "BBC News", "https://www.bbc.com/news/1", (),
     "How the BBC covers the war"),
    # A social title that differs from the <h1> stays: on Fundus's pages it is the labelled headline
    # more often (46 pages against 15).
    ("Tony Blair: Why there has to be compromise in Ukraine", "The Standard", "https://www.standard.co.uk/a",
     ("Tony Blair: Why there has to be compromise to end the Ukraine war",),
     "Tony Blair: Why there has to be compromise in Ukraine"),
    # An <h1> that runs kicker and headline together ("Nationale DemoDer 9. Juli") agrees with the
    # title, whose form keeps the separator; an <h1> that is the site's logo agrees with nothing.
    ("Nationale Demo / Der 9. Juli naht", None, "https://www.tageblatt.lu/a", ("Nationale DemoDer 9. Juli naht",),
     "Nationale Demo / Der 9. Juli naht"),
    ("‘흙수저’ 소년공이 쏘아올린 정치 신화 - 매일경제", "매일경제", "https://www.mk.co.kr/a", ("매일 경제",),
     "‘흙수저’ 소년공이 쏘아올린 정치 신화"),
    # A "site name" that is a whole sentence is the template's mistake, not a name to cut.
    ("Der 9. Juli naht | Tageblatt", "Der 9. Juli naht: OGBL und LCGB demonstrieren Stärke und Einheit",
     "https://www.tageblatt.lu/a",
     (), "Der 9. Juli naht"),
])
def test_headline(declared: str, site: str | None, url: str, h1s: tuple[str, ...], expected: str) -> None:
    assert headline(_page(h1s=h1s), declared, site, url) == expected


def test_without_a_declared_title_the_document_title_is_used() -> None:
    page = _page("Iconic Jasper resort reopens | Canada.com", ("Iconic Jasper resort reopens",))
    assert headline(page, None, None, "https://canada.com/a") == "Iconic Jasper resort reopens"
    assert headline(_page(), None, None, "https://canada.com/a") is None


def test_the_text_loses_its_first_line_when_it_is_the_headline_in_any_form() -> None:
    page = _page(h1s=("Australian teenager becomes sixth to die in Laos ‘methanol poisoning’",))
    title, forms = headline_and_forms(page, "Australian teenager becomes sixth to die", None, "https://x.uk/a")
    assert title == "Australian teenager becomes sixth to die"
    text = "Australian teenager becomes sixth to die in Laos 'methanol poisoning'\nFirst paragraph."
    assert without_headline(text, forms) == "First paragraph."
    assert without_headline("First paragraph.\nSecond.", forms) == "First paragraph.\nSecond."
