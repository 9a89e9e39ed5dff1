"""Extraction on the sample site's pages: the article's own text and metadata, none of the noise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.extraction import clean_author, extract
from crawler.fingerprints import content_hash
from crawler.retry import backoff_delay
from sample_site import build_sample_site, load_articles
from tests.sites import expect

BASE = "http://127.0.0.1:8000"
SITE = build_sample_site(BASE)
EXPECTED = expect(SITE)
ARTICLES = {a["key"]: a for a in load_articles()}
NOISE = ["Carney", "Recommended Articles", "Most read", "Most Popular", "newsletter", "cookie", "Copyright",
         "Very informative", "Leave a Comment", "Akismet", "Views: 0", "#generation", "Skip to Content",
         "Stock markets close higher", "Nav Search"]


def _page(url: str) -> str:
    return SITE.pages[url.removeprefix(BASE)].body.decode("utf-8")


def _key(url: str) -> str:
    return next(k for k, a in ARTICLES.items() if url.endswith(f"/{a['slug']}.html"))


@pytest.mark.parametrize("url", EXPECTED.relevant + EXPECTED.irrelevant, ids=lambda u: u.rsplit("/", 1)[-1][:30])
def test_article_text_and_metadata(url: str) -> None:
    data = ARTICLES[_key(url)]
    article = extract(_page(url), url)
    assert article is not None
    assert article.title == data["title"]
    body = [p for p in data["paragraphs"] if p not in data.get("headings", ())]
    found = sum(1 for p in body if p in article.text)
    assert found / len(body) >= 0.95, f"only {found} of {len(body)} paragraphs extracted"
    for noise in NOISE:
        assert noise not in article.text, noise
    assert not article.text.startswith(data["title"])  # the headline is stored as the title only
    assert article.language == "en"
    assert article.published is not None
    declared = datetime.fromisoformat(data["published"])
    if article.declared:  # JSON-LD on the modern template: the exact time, in UTC
        assert article.published == declared and article.modified is not None
    else:  # the legacy template shows a date only
        assert article.published.date() == declared.date() and article.modified is None
    assert article.canonical_url == url
    if data["author"]:
        assert article.author == data["author"]


def test_the_carney_teaser_never_reaches_the_text() -> None:
    url = EXPECTED.relevant[0]
    assert "Carney" in _page(url)
    article = extract(_page(url), url)
    assert article is not None
    for sentence in EXPECTED.teaser_sentences:
        assert sentence not in article.text


def test_syndicated_copy_on_another_template_has_the_same_fingerprint() -> None:
    (original, copy), = EXPECTED.syndicated
    a, b = extract(_page(original), original), extract(_page(copy), copy)
    assert a is not None and b is not None
    assert content_hash(a.text) == content_hash(b.text)


@pytest.mark.parametrize("html", [
    "", "<html><body></body></html>", "<html><body><p>Too short to be an article.</p></body></html>",
])
def test_empty_and_tiny_pages_are_not_articles(html: str) -> None:
    assert extract(html, BASE + "/x/2024-01/01/empty.html") is None


def test_listing_pages_are_not_articles() -> None:
    for path in ("/", "/business/", "/world/"):
        assert extract(SITE.pages[path].body.decode(), BASE + path) is None, path


def test_chinese_text_is_detected_as_chinese() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in [
        "工业和信息化部等七部门近日联合印发《关于加快推动制造业绿色化发展的指导意见》，提出到2030年绿色工厂产值占制造业总产值比重超过40%。",
        "意见提出，加快传统产业绿色低碳转型升级，推动钢铁、有色、石化、化工、建材等行业节能降碳改造，提升资源利用效率。",
        "同时，要培育绿色低碳新兴产业，推动数字化与绿色化深度融合，建设一批智能工厂和绿色工厂，形成新的经济增长点。",
    ])
    article = extract(f"<html><head><title>制造业绿色化发展</title></head><body><article><h1>制造业绿色化发展</h1>"
                      f"{paragraphs}</article></body></html>", BASE + "/zh/2024-03/01/green.html", min_chars=50)
    assert article is not None and article.language == "zh"


@pytest.mark.parametrize(("raw", "clean"), [
    ("Fan Feifei Source China Daily Updated", "Fan Feifei"), ("By Yuan Shenggao (China Daily)", "Yuan Shenggao"),
    ("Maria Santos | Staff", "Maria Santos"), (None, None), ("  ", None),
])
def test_bylines_are_cut_to_names(raw: str | None, clean: str | None) -> None:
    assert clean_author(raw) == clean


def test_retry_backoff_doubles_up_to_the_ceiling() -> None:
    assert [backoff_delay(n, 2.0, 10.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(3, 0.0, 10.0) == 0.0


def test_dates_are_utc_aware() -> None:
    url = EXPECTED.relevant[0]
    article = extract(_page(url), url)
    assert article is not None and article.published is not None
    assert article.published.tzinfo == UTC


def test_declared_dates_from_json_ld_graph_and_meta_tags() -> None:
    from lxml import html as lxml_html

    from crawler.extraction import declared_dates

    page = lxml_html.fromstring("""<html><head>
      <script type="application/ld+json">{ not json </script>
      <script type="application/ld+json">{"@graph": [{"@type": "WebPage"},
        {"@type": ["NewsArticle"], "datePublished": "2024-09-21T17:39:00+08:00"}]}</script>
      <meta property="article:modified_time" content="2024-09-21T23:27:00+08:00"></head>
      <body><aside class="related"><time datetime="2019-01-01">old</time></aside>
      <footer>Copyright 1995-2024</footer></body></html>""")
    published, modified = declared_dates(page)
    assert published == datetime(2024, 9, 21, 9, 39, tzinfo=UTC)
    assert modified == datetime(2024, 9, 21, 15, 27, tzinfo=UTC)
    assert declared_dates(lxml_html.fromstring("<html><body><p>no dates</p></body></html>")) == (None, None)


def test_feed_or_sitemap_date_overrules_a_guessed_page_date_far_away() -> None:
    from crawler.analysis import _published

    page, listed = datetime(2019, 1, 1, tzinfo=UTC), datetime(2024, 9, 21, 9, tzinfo=UTC)
    assert _published(page, False, listed) == listed  # a guess two+ days off: the feed knows better
    assert _published(page, True, listed) == page  # what the page declares wins
    assert _published(listed.replace(hour=0), False, listed) == listed.replace(hour=0)
    assert _published(None, False, listed) == listed and _published(None, False, None) is None


def test_only_a_short_main_text_gets_trafilaturas_fallback_comparison() -> None:
    from trafilatura.utils import load_html

    from crawler.extraction import _TRUST_MAIN_TEXT_CHARS, _bare_text, main_text

    # Raw trees, before teaser pruning, so that the two ways can differ: on one sample page the
    # main extractor keeps 1.8k characters and the comparison with readability takes more (after
    # pruning, all 60 sample and quality-gate pages come out the same either way).
    texts = {u: (_bare_text(load_html(_page(u)), u, fast=True), _bare_text(load_html(_page(u)), u, fast=False))
             for u in EXPECTED.relevant}
    short = [u for u, (fast, full) in texts.items() if len(fast) < _TRUST_MAIN_TEXT_CHARS and full != fast]
    assert short, "no sample page tells the two ways apart any more"
    for url in short:
        assert main_text(load_html(_page(url)), url) == texts[url][1]
    long = [u for u, (fast, _) in texts.items() if len(fast) >= _TRUST_MAIN_TEXT_CHARS]
    assert long
    for url in long:
        assert main_text(load_html(_page(url)), url) == texts[url][0]


def test_a_long_main_text_of_short_lines_is_compared_with_the_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    # us/WashingtonTimes on Fundus's pages: the fast pass returned 2,513 characters of menu (159 lines),
    # which the length test alone trusted (body F1 0.13; the full comparison finds the article, 0.996).
    import crawler.extraction as extraction

    menu = "\n".join(f"Section {n}" for n in range(400))
    article = "\n".join(ARTICLES["000"]["paragraphs"] * 2)
    assert len(menu) >= extraction._TRUST_MAIN_TEXT_CHARS and len(article) >= extraction._TRUST_MAIN_TEXT_CHARS
    for fast_text, expected, passes in ((menu, article, [True, False]), (article, article, [True])):
        calls: list[bool] = []

        def bare_text(tree: object, url: str, fast: bool, fast_text: str = fast_text,
                      calls: list[bool] = calls) -> str:
            calls.append(fast)
            return fast_text if fast else article

        monkeypatch.setattr(extraction, "_bare_text", bare_text)
        assert extraction.main_text(None, BASE + "/x.html") == expected
        assert calls == passes
