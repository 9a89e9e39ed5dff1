"""Score an extractor on the saved quality-gate pages: body precision/recall/F1 over word tokens,
title and date accuracy, and teaser sentences leaked (the way trafilatura's own evaluation works),
over all pages and per page template.

It lives in bench/ because both the benchmarks (bench/quality.py, bench/crawl.py) and the quality
gate (tests/test_quality_gate.py) measure with it, and bench/ never imports tests/ (tests/test_layout.py
checks): tests may use bench's instruments, not the other way round. The pages it reads are the
gate's golden files and stay with the tests (tests/quality/pages, written by tests/quality/make_pages.py).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PAGES = Path(__file__).resolve().parent.parent / "tests" / "quality" / "pages"
_WORD = re.compile(r"\w+")

# (html bytes, url) -> (text, title, published "YYYY-MM-DD" or None)
Extractor = Callable[[bytes, str], tuple[str, str | None, str | None]]


@dataclass(frozen=True)
class Report:
    pages: int
    precision: float
    recall: float
    f1: float
    title_accuracy: float
    date_accuracy: float
    teasers_leaked: int
    worst: list[tuple[str, float]]
    # The same figures for each page template's pages alone (empty inside a template's own report).
    templates: dict[str, Report] = field(default_factory=dict)


@dataclass(frozen=True)
class _Row:
    name: str
    template: str
    precision: float
    recall: float
    f1: float
    title_ok: bool
    date_ok: bool
    leaks: int


def tokens(text: str) -> Counter[str]:
    """Return the bag of casefolded word tokens."""
    return Counter(_WORD.findall(text.casefold()))


def prf(expected: Counter[str], got: Counter[str]) -> tuple[float, float, float]:
    """Return precision, recall and F1 of `got` against `expected` (bag-of-tokens overlap)."""
    overlap = sum((expected & got).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(expected.values()) if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def leaked(teasers: list[str], text: str) -> list[str]:
    """Return the teaser sentences found in the text (whitespace-normalized)."""
    flat = " ".join(text.split())
    return [t for t in teasers if " ".join(t.split()) in flat]


def evaluate(extract: Extractor) -> Report:
    """Run `extract` over every saved page and score it, overall and per template."""
    rows = []
    for path in sorted(PAGES.glob("*.html")):
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        text, title, published = extract(path.read_bytes(), expected["url"])
        rows.append(_Row(path.stem, expected["template"], *prf(tokens("\n".join(expected["body"])), tokens(text)),
                         title_ok=" ".join((title or "").split()) == " ".join(expected["title"].split()),
                         date_ok=published == expected["published"],
                         leaks=len(leaked(expected["teasers"], text))))
    templates = {t: _report([r for r in rows if r.template == t]) for t in sorted({r.template for r in rows})}
    return _report(rows, templates)


def _report(rows: list[_Row], templates: dict[str, Report] | None = None) -> Report:
    n = len(rows)
    return Report(
        pages=n, precision=statistics.mean(r.precision for r in rows), recall=statistics.mean(r.recall for r in rows),
        f1=statistics.mean(r.f1 for r in rows), title_accuracy=sum(r.title_ok for r in rows) / n,
        date_accuracy=sum(r.date_ok for r in rows) / n, teasers_leaked=sum(r.leaks for r in rows),
        worst=sorted(((r.name, r.f1) for r in rows), key=lambda r: r[1])[:5], templates=templates or {},
    )


def newsmon(page: bytes, url: str) -> tuple[str, str | None, str | None]:
    """newsmon's extractor as the crawler runs it (what gets stored)."""
    from crawler.extraction import extract

    article = extract(page, url, min_chars=50)
    if article is None:
        return "", None, None
    return article.text, article.title, article.published.date().isoformat() if article.published else None


def plain_trafilatura(page: bytes, url: str) -> tuple[str, str | None, str | None]:
    """trafilatura.bare_extraction with default options, as a user would call it."""
    import trafilatura

    doc = trafilatura.bare_extraction(page, url=url, with_metadata=True)
    if doc is None:
        return "", None, None
    meta = doc.as_dict()
    return meta.get("text") or "", meta.get("title"), (meta.get("date") or "")[:10] or None
