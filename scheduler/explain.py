"""`newsmon rules test`: why an article did or did not match each rule, and what extraction removed.

The subject is a stored article (by id), a URL (the stored article reached by it, else the page
fetched through Scrapy), or a file (HTML is extracted as a crawl would; any other file is taken as
the article's text). Rules are evaluated exactly as a crawl evaluates them (crawler.matching).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crawler.config import Config
from crawler.examples import article_text
from crawler.extraction import Article, Rejection, detect_language, extract_or_reason
from crawler.matching import Verdict, evaluate
from crawler.rules import Rule
from store.repository import Repository

_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
# Elements whose text is one block a reader sees; shorter blocks (a menu item, a date) are not shown.
_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "dd", "figcaption", "pre")
_MIN_BLOCK = 25
_MAX_SHOWN = 40


class SubjectError(ValueError):
    """The article to test could not be had (the message says which and why)."""


@dataclass(frozen=True)
class Subject:
    """What the rules are tested on: the text they see, and what extraction removed to get it."""

    name: str  # "article 12", a URL or a file path
    title: str | None
    text: str
    language: str | None
    removed: tuple[tuple[str, str], ...] = ()
    note: str | None = None  # e.g. why extraction's removals could not be shown


@dataclass(frozen=True)
class Explanation:
    subject: Subject
    verdicts: list[Verdict] = field(default_factory=list)


def explain(subject: Subject, rules: Sequence[Rule], only: Sequence[str] = ()) -> Explanation:
    """Evaluate the rules (or only the named ones) on the subject."""
    chosen = [r for r in rules if not only or r.name in only]
    return Explanation(subject, evaluate(chosen, subject.title, subject.text, subject.language))


def from_file(path: Path, config: Config) -> Subject:
    """An HTML file extracted as a crawl would (the same minimum length), or a text file as is."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubjectError(f"{path}: {exc.strerror or exc}") from None
    if path.suffix.lower() in _HTML_SUFFIXES or data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return _extracted(str(path), data, path.resolve().as_uri(), config)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubjectError(f"{path}: neither HTML nor UTF-8 text") from None
    title, _, body = text.strip().partition("\n")
    return Subject(str(path), title.strip() or None, body.strip(), detect_language(text),
                   note="a text file: taken as the article's text, title on its first line (nothing extracted)")


def from_article(repository: Repository, article_id: int, config: Config, fetch: bool = True) -> Subject:
    """A stored article's text, as its rules saw it; with `fetch`, its page is fetched again to show
    what extraction removes from it today."""
    article = repository.articles.get(article_id)
    if article is None:
        raise SubjectError(f"no stored article with id {article_id}")
    subject = Subject(f"article {article.id} ({article.url})", article.title, article.text or "", article.language)
    if not fetch:
        return subject
    from crawler.fetch_page import fetch_page

    page = fetch_page(article.url, config.settings)
    if page.html is None:
        return Subject(subject.name, subject.title, subject.text, subject.language,
                       note=f"its page was not fetched again ({page.error}): extraction's removals unknown")
    again = extract_or_reason(page.html, page.url, config.settings.min_article_chars)
    if isinstance(again, Rejection):
        return Subject(subject.name, subject.title, subject.text, subject.language,
                       note=f"its page, fetched again, gives no article today: {again.reason}")
    return Subject(subject.name, subject.title, subject.text, subject.language, removed=_removed(page.html, again))


def from_url(repository: Repository, url: str, config: Config) -> Subject:
    """The stored article reached by `url`, else the page at `url` fetched and extracted now."""
    article_id = repository.articles.id_of_url(url)
    if article_id is not None:
        return from_article(repository, article_id, config)
    from crawler.fetch_page import fetch_page

    page = fetch_page(url, config.settings)
    if page.html is None:
        raise SubjectError(f"{url}: {page.error}")
    return _extracted(url, page.html, page.url, config)


def _extracted(name: str, html: str | bytes, url: str, config: Config) -> Subject:
    found = extract_or_reason(html, url, config.settings.min_article_chars)
    if isinstance(found, Rejection):
        raise SubjectError(f"{name}: {found.reason}")
    return Subject(name, found.title, found.text, found.language, removed=_removed(html, found))


def left_out(html: str | bytes, kept: str) -> list[str]:
    """The page's blocks of text (paragraphs, list items, headings, cells) that are not in `kept`:
    navigation, sidebars, teasers and footers that extraction left out, in page order."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, SyntaxError):  # lxml's ParserError is a SyntaxError subclass
        return []
    for junk in tree.xpath("//script|//style|//noscript|//template"):
        junk.drop_tree()
    flat = " ".join(kept.split())
    out: list[str] = []
    for element in tree.iter(*_BLOCKS):
        if any(ancestor.tag in _BLOCKS for ancestor in element.iterancestors()):
            continue  # its text is part of the enclosing block's
        text = " ".join(element.text_content().split())
        if len(text) >= _MIN_BLOCK and text not in flat and text not in out:
            out.append(text)
    return out


def _removed(html: str | bytes, found: Article) -> tuple[tuple[str, str], ...]:
    explicit = {text for _, text in found.removed}
    kept = f"{found.title or ''}\n{found.text}"
    rest = [("page furniture", text)
            for text in left_out(html, kept) if not any(text in e or e in text for e in explicit)]
    return (*found.removed, *rest[:_MAX_SHOWN])


def as_record(explanation: Explanation) -> dict[str, object]:
    """The explanation as `rules test --format json` prints it."""
    s = explanation.subject
    return {
        "subject": s.name, "title": s.title, "language": s.language,
        "words": len(article_text(s.title, s.text).split()),
        "rules": [{
            "rule": v.rule, "matched": v.matched, "applies": v.applies, "query": v.query,
            "query_matched": v.query_matched, "terms": list(v.terms), "terms_present": list(v.present),
            "score": v.similarity.score if v.similarity else None,
            "threshold": v.similarity.threshold if v.similarity else None,
            "nearest": v.similarity.nearest if v.similarity else None,
            "unlike_score": v.similarity.unlike_score if v.similarity else None,
            "nearest_unlike": v.similarity.nearest_unlike if v.similarity else None,
        } for v in explanation.verdicts],
        "removed": [{"why": why, "text": text} for why, text in s.removed],
        "note": s.note,
    }
