"""Matched terms marked in an article's text: escaped HTML with `<mark>` around each hit (pure).

The terms are the ones stored with the match (`StoredArticle.terms`: each rule's query terms as
written, e.g. `manufactur*`, `steel mill*`, `green and low-carbon`, `氢能`), so a term is read back
with crawler.rules' own parser and found as the matcher finds it: case-insensitive whole words, a
phrase as consecutive words with anything but letters and digits between them ("low-carbon"
holds "low carbon"), a trailing `*` as a prefix, Chinese and Japanese as substrings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from crawler.rules import QueryError, parse_query, walk


def term_pattern(term: str) -> str | None:
    """Return a regex source finding `term` as the rules match it, or None for a term that cannot be read."""
    try:
        # Quoted, a term reads as one phrase whatever it holds: exactly what the matcher stored.
        part = walk(parse_query(f'"{term}"'))
    except QueryError:
        return None
    if part.kind != "TERM" or not part.tokens:
        return None
    if part.cjk:
        return r"\s+".join(re.escape(piece) for piece in part.tokens[0].split())
    words = [re.escape(t) for t in part.tokens]
    if part.wildcard:
        words[-1] += r"\w*"
    return r"(?<!\w)" + r"\W+".join(words) + r"(?!\w)"


def compile_terms(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all of `terms` (longest first, so a phrase wins over its own words); None if none."""
    patterns = {p for t in set(terms) if (p := term_pattern(t))}
    if not patterns:
        return None
    return re.compile("|".join(sorted(patterns, key=len, reverse=True)), re.IGNORECASE)


def highlight(text: str, pattern: re.Pattern[str] | None) -> Markup:
    """Return `text` escaped, each match of `pattern` inside `<mark>`."""
    if pattern is None:
        return escape(text)
    out: list[str] = []
    end = 0
    for hit in pattern.finditer(text):
        if hit.end() == hit.start():
            continue
        out.append(escape(text[end:hit.start()]))
        out.append(Markup("<mark>%s</mark>") % text[hit.start():hit.end()])
        end = hit.end()
    out.append(escape(text[end:]))
    return Markup("").join(out)


def paragraphs(text: str | None) -> list[str]:
    """Split an extracted text into its paragraphs (trafilatura puts one a line)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
