"""Extraction quality on real news pages nobody on this team wrote: Fundus's labelled pages.

Owns loading the vendored pages (tests/goldens/fundus, README there) with their labels, and scoring an
extractor on them. The real-page gate (tests/test_real_pages.py) and this script measure with it;
bench/scoring.py scores the self-made pages, and both count tokens the same way (bench.scoring.tokens).

Usage: python bench/real_pages.py [--json] [--worst N]
Prints newsmon, plain trafilatura and trafilatura with favor_precision on the same pages in the same
run, the pages where newsmon loses most against plain trafilatura, and last newsmon's ratios to each.

How each figure is made (the labels allow several readings; these are the ones chosen):
- Labels: a publisher's JSON holds one block per Fundus parser version (V1, V1_1, V2, ...) and Fundus
  pairs each page with the parser valid on its crawl date, so versions in version order go to the
  publisher's pages in crawl-date order (meta.info), oldest first. tests/test_real_pages.py checks
  it: each of the 141 pages of the 64 multi-page publishers shows its own block's headline and no
  sibling's (in reverse order, plain trafilatura's body F1 falls from 0.944 to 0.595).
- Body: precision/recall/F1 of the bag of casefolded \\w+ tokens against summary + section headlines +
  paragraphs, on the pages whose labelled body has 30+ such tokens (257 of 258: jp/ChunichiShimbun has
  21, Japanese having no spaces). A dropped page scores 0 on all three. Means over pages.
- Title: equal to the labelled title after NFKC, invisible format characters (soft hyphen, zero-width
  space) removed, curly/angle quotes made straight and whitespace collapsed; case and punctuation
  count, so a site-name suffix ("Headline | CBC News") is a miss.
- Date: the extracted day equals the labelled publishing_date's day, either as the label writes it
  (the publisher's offset) or in UTC: newsmon stores UTC, trafilatura the page's local day.
- Author: on pages with labelled authors, every word of every labelled name is in the extracted
  author string and the string has no other word than joiners ("and", "und", "by", ...). Word
  tokens, casefolded, so "Smith, John" and "John Smith" both count; an extra name is a miss.
- Dropped: the extractor returned no text (newsmon: not an article, or shorter than min_chars).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import textwrap
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scoring import prf, tokens

GOLDENS = Path(__file__).resolve().parent.parent / "tests" / "goldens" / "fundus"
# A shorter label is no body to score on; the first real-page figures (issue #11) used this cut too.
MIN_BODY_TOKENS = 30
_PAGE_FILE = re.compile(r"^(?P<publisher>.+)_\d{4}_\d{2}_\d{2}\.html\.gz$")
# Regexes, not str.translate: translate walks a page's HTML in Python (2.4 s for 60 pages, measured).
_SINGLE_QUOTES, _DOUBLE_QUOTES = (re.compile("[\u2018\u2019\u201a\u201b\u2032\u2039\u203a]"),
                                  re.compile("[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]"))
_WORD = re.compile(r"\w+")
# Soft hyphen, zero-width spaces and joiners, direction marks, word joiner, byte-order mark.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Words that join names in a byline, in the languages of the set; never a name on their own.
_JOINERS = {"and", "und", "by", "von", "with", "mit", "et", "par", "y", "por", "e", "og", "och", "i", "ja"}


@dataclass(frozen=True)
class Page:
    """One saved page and what Fundus's hand-written parser found on it."""

    name: str  # "us/WashingtonTimes_2023_04_28"
    url: str
    html: str
    title: str
    body: str  # summary, section headlines and paragraphs, one per line
    published: str | None  # as labelled: "2023-04-28 13:53:25-04:00"
    authors: tuple[str, ...]


@dataclass(frozen=True)
class Extraction:
    """What an extractor found on one page ("" text when it dropped the page)."""

    text: str
    title: str | None
    published: str | None  # ISO date or datetime
    author: str | None


# (html, url) -> Extraction
Extractor = Callable[[str, str], Extraction]


@dataclass(frozen=True)
class PageScore:
    name: str
    precision: float | None  # None: the labelled body is too short to score
    recall: float | None
    f1: float | None
    title_ok: bool
    date_ok: bool | None  # None: not labelled
    author_ok: bool | None
    dropped: bool


@dataclass(frozen=True)
class Report:
    extractor: str
    pages: int
    body_pages: int
    precision: float
    recall: float
    f1: float
    title_accuracy: float
    date_accuracy: float
    date_pages: int
    author_accuracy: float
    author_pages: int
    dropped: tuple[str, ...]
    seconds: float  # extraction time over all pages, loading and scoring excluded
    scores: tuple[PageScore, ...]


def load_pages(root: Path = GOLDENS) -> list[Page]:
    """Load every saved page with its label block, sorted by name."""
    pages = []
    for meta_path in sorted(root.glob("*/meta.info")):
        country = meta_path.parent
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        by_publisher: dict[str, list[str]] = {}
        # Files on disk, not meta.info's keys: meta.info also lists pages Fundus has since removed.
        for path in country.glob("*.html.gz"):
            match = _PAGE_FILE.match(path.name)
            if match is None:
                raise ValueError(f"{path}: not <Publisher>_<YYYY_MM_DD>.html.gz")
            by_publisher.setdefault(match["publisher"], []).append(path.name)
        for publisher, files in by_publisher.items():
            labels = json.loads((country / f"{publisher}.json").read_text(encoding="utf-8"))
            versions = sorted(labels, key=_version_key)
            if len(versions) != len(files):
                raise ValueError(f"{country / publisher}: {len(files)} pages but {len(versions)} label versions")
            for file, version in zip(sorted(files, key=lambda f: meta[f]["crawl_date"]), versions, strict=True):
                pages.append(_page(country / file, meta[file]["url"], labels[version]))
    return sorted(pages, key=lambda p: p.name)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("V").split("_"))  # "V1_1" -> (1, 1)


def _page(path: Path, url: str, label: dict[str, object]) -> Page:
    body = label.get("body") or {}
    assert isinstance(body, dict)
    parts = list(body.get("summary", []))
    for section in body.get("sections", []):
        parts += section.get("headline", []) + section.get("paragraphs", [])
    published, authors = label.get("publishing_date"), label.get("authors") or []
    assert isinstance(authors, list)
    return Page(name=f"{path.parent.name}/{path.name.removesuffix('.html.gz')}", url=url,
                # Fundus saved each page as UTF-8 text; the crawler, too, hands extraction decoded text.
                html=gzip.decompress(path.read_bytes()).decode("utf-8"),
                title=str(label.get("title") or ""), body="\n".join(parts),
                published=str(published) if published else None, authors=tuple(str(a) for a in authors))


def same_title(got: str | None, expected: str) -> bool:
    """Return whether two titles are equal once normalized (normalize_title)."""
    return got is not None and normalize_title(got) == normalize_title(expected)


def normalize_title(title: str) -> str:
    """Return the title in NFKC, without invisible characters, with straight quotes and single spaces."""
    # Invisible characters count for nothing: Tages-Anzeiger's label keeps a soft hyphen the page's
    # <title> has too, taz's label ends in a zero-width space the page's metadata lacks.
    visible = _INVISIBLE.sub("", unicodedata.normalize("NFKC", title))
    return " ".join(_DOUBLE_QUOTES.sub('"', _SINGLE_QUOTES.sub("'", visible)).split())


def same_day(got: str | None, expected: str) -> bool:
    """Return whether an extracted date falls on the labelled date's day, in its own offset or in UTC."""
    if not got:
        return False
    labelled = datetime.fromisoformat(expected)
    days = {labelled.date()} | ({labelled.astimezone(UTC).date()} if labelled.tzinfo else set())
    return got[:10] in {d.isoformat() for d in days}


def same_authors(got: str | None, expected: Iterable[str]) -> bool:
    """Return whether the extracted byline names the labelled authors and nobody else."""
    wanted = {w for name in expected for w in _WORD.findall(name.casefold())}
    found = set(_WORD.findall((got or "").casefold()))
    return wanted <= found and not (found - wanted - _JOINERS)


def score_page(page: Page, got: Extraction) -> PageScore:
    """Score one extraction against the page's label."""
    expected = tokens(page.body)
    precision = recall = f1 = None
    if sum(expected.values()) >= MIN_BODY_TOKENS:
        precision, recall, f1 = prf(expected, tokens(got.text))
    return PageScore(
        page.name, precision, recall, f1, title_ok=same_title(got.title, page.title),
        date_ok=same_day(got.published, page.published) if page.published else None,
        author_ok=same_authors(got.author, page.authors) if page.authors else None,
        dropped=not got.text.strip())


def evaluate(extractor: Extractor, pages: list[Page], name: str = "") -> Report:
    """Run `extractor` over the pages and score it."""
    found, seconds = [], 0.0
    for page in pages:
        start = time.perf_counter()
        got = extractor(page.html, page.url)
        seconds += time.perf_counter() - start
        found.append(score_page(page, got))
    return summarize(found, name or getattr(extractor, "__name__", "extractor"), seconds)


def summarize(scores: list[PageScore], name: str, seconds: float = 0.0) -> Report:
    """Average page scores into a report."""
    body = [s for s in scores if s.f1 is not None]
    dated = [s.date_ok for s in scores if s.date_ok is not None]
    authored = [s.author_ok for s in scores if s.author_ok is not None]
    return Report(
        extractor=name, pages=len(scores), body_pages=len(body),
        precision=statistics.fmean(s.precision or 0.0 for s in body),
        recall=statistics.fmean(s.recall or 0.0 for s in body), f1=statistics.fmean(s.f1 or 0.0 for s in body),
        title_accuracy=statistics.fmean(s.title_ok for s in scores),
        date_accuracy=statistics.fmean(dated) if dated else 0.0, date_pages=len(dated),
        author_accuracy=statistics.fmean(authored) if authored else 0.0, author_pages=len(authored),
        dropped=tuple(s.name for s in scores if s.dropped), seconds=seconds, scores=tuple(scores))


def newsmon(html: str, url: str) -> Extraction:
    """newsmon's extractor as the crawler runs it, with the default min_article_chars (what gets stored)."""
    from crawler.extraction import extract

    article = extract(html, url, min_chars=250)
    if article is None:
        return Extraction("", None, None, None)
    published = article.published.date().isoformat() if article.published else None
    return Extraction(article.text, article.title, published, article.author)


def plain_trafilatura(html: str, url: str) -> Extraction:
    """trafilatura with default options: extract()'s text, bare_extraction's title, date and author."""
    return _trafilatura(html, url, favor_precision=False)


def precise_trafilatura(html: str, url: str) -> Extraction:
    """trafilatura with favor_precision=True, otherwise as plain_trafilatura."""
    return _trafilatura(html, url, favor_precision=True)


def _trafilatura(html: str, url: str, favor_precision: bool) -> Extraction:
    import trafilatura
    from trafilatura.settings import Document

    # One bare_extraction(with_metadata=True) per page instead of extract() plus a second run for
    # metadata: its text, with the comments extract() appends by default and extract()'s NFC,
    # is extract(html, url=url)'s text on all 258 pages (checked with trafilatura 2.3.1).
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, favor_precision=favor_precision)
    if not isinstance(doc, Document):
        return Extraction("", None, None, None)
    text = unicodedata.normalize("NFC", f"{doc.text or ''}\n{doc.comments or ''}".strip())
    return Extraction(text, doc.title, doc.date, doc.author)


EXTRACTORS: dict[str, Extractor] = {"newsmon": newsmon, "trafilatura": plain_trafilatura,
                                    "favor_precision": precise_trafilatura}


def worst(ours: Report, theirs: Report, n: int = 10) -> list[tuple[str, float, float]]:
    """Return the n pages where `ours` trails `theirs` most in body F1: (name, ours, theirs)."""
    pairs = [(a.name, a.f1, b.f1) for a, b in zip(ours.scores, theirs.scores, strict=True)
             if a.f1 is not None and b.f1 is not None and a.f1 < b.f1]
    return sorted(pairs, key=lambda p: p[1] - p[2])[:n]


def _table(reports: list[Report]) -> str:
    lines = [f"{'':16}" + "".join(f"{r.extractor:>16}" for r in reports)]
    rows = [("body precision", "precision"), ("body recall", "recall"), ("body F1", "f1"),
            ("title accuracy", "title_accuracy"), ("date accuracy", "date_accuracy"),
            ("author accuracy", "author_accuracy")]
    for label, attr in rows:
        lines.append(f"{label:16}" + "".join(f"{getattr(r, attr):16.3f}" for r in reports))
    lines.append(f"{'pages dropped':16}" + "".join(f"{len(r.dropped):16d}" for r in reports))
    lines.append(f"{'ms per page':16}" + "".join(f"{1000 * r.seconds / r.pages:16.1f}" for r in reports))
    first = reports[0]
    lines.append(f"pages: {first.pages}; body scored on {first.body_pages}, dates on {first.date_pages}, "
                 f"authors on {first.author_pages}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the reports as JSON, page scores included")
    parser.add_argument("--worst", type=int, default=10, help="how many of newsmon's worst pages to list")
    args = parser.parse_args()
    pages = load_pages()
    reports = [evaluate(func, pages, name) for name, func in EXTRACTORS.items()]
    if args.json:
        print(json.dumps([asdict(r) for r in reports], indent=1))
        return
    ours, plain = reports[0], reports[1]
    print(_table(reports))
    print()
    for report in reports:
        print(textwrap.fill(f"{report.extractor} drops {len(report.dropped)}: {', '.join(report.dropped) or '-'}",
                            width=80, subsequent_indent="  "))
    print(f"\nnewsmon's worst pages against plain trafilatura (body F1):\n{'page':46}{'newsmon':>10}{'plain':>10}")
    for name, a, b in worst(ours, plain, args.worst):
        print(f"{name[:46]:46}{a:10.3f}{b:10.3f}")
    print(f"\n{'newsmon / ...':24}{'body F1':>10}{'title':>10}{'date':>10}{'author':>10}{'dropped':>10}")
    for other in reports[1:]:
        ratios = "".join(f"{getattr(ours, a) / getattr(other, a):10.3f}"
                         for a in ("f1", "title_accuracy", "date_accuracy", "author_accuracy"))
        print(f"{other.extractor:24}{ratios}{f'{len(ours.dropped)} vs {len(other.dropped)}':>10}")

if __name__ == "__main__":
    main()
