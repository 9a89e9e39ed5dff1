"""Cross-page boilerplate: paragraphs a source repeats on many of its articles are not content.

Related-story teasers, "Recommended Articles" lists, newsletter pleas and legal lines survive
generic extraction when a template puts them inline after the body. A whole paragraph that recurs
word for word on LEARNED_MIN_PAGES or more distinct articles of one source is learned as boilerplate
and removed from that source's later articles, and from the earlier ones that taught it (the
storing pipeline reaches back: crawler.pipelines, store.articles.Articles.containing). Only whole
paragraphs count, so real content that merely repeats a phrase is never touched.

OWNS: the block hash, stripping learned paragraphs, and what stripping changes in an article
already analyzed (its text's fingerprints and rule matches, computed again by `clean`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from crawler.fingerprints import bands, content_hash, normalize_text, simhash
from crawler.matching import match_article
from crawler.rules import Rule

# Shorter lines ("Share", "Photo: Xinhua") are too generic to learn safely, and trafilatura drops most.
MIN_BLOCK_CHARS = 40
# Seen on this many distinct articles of a source, a paragraph is boilerplate. Two is not enough:
# an article and its corrected repost share every paragraph.
LEARNED_MIN_PAGES = 3


def block_hash(paragraph: str) -> str:
    """Return a short stable hash of a paragraph's words."""
    return hashlib.blake2b(normalize_text(paragraph).encode("utf-8"), digest_size=16).hexdigest()


def blocks(text: str) -> dict[str, str]:
    """Return hash -> paragraph for the text's paragraphs long enough to learn from."""
    out: dict[str, str] = {}
    for line in text.split("\n"):
        paragraph = line.strip()
        if len(paragraph) >= MIN_BLOCK_CHARS:
            out.setdefault(block_hash(paragraph), paragraph)
    return out


def strip_learned(text: str, learned: Collection[str]) -> tuple[str, list[str]]:
    """Remove paragraphs whose hash is in `learned`; return the text and what was removed."""
    if not learned:
        return text, []
    kept, removed = [], []
    for line in text.split("\n"):
        paragraph = line.strip()
        if len(paragraph) >= MIN_BLOCK_CHARS and block_hash(paragraph) in learned:
            removed.append(paragraph)
        else:
            kept.append(line)
    return "\n".join(kept).strip(), removed


@dataclass(frozen=True)
class Cleaned:
    """An analyzed text with learned boilerplate removed, fingerprinted and matched again."""

    text: str
    removed: list[str]
    content_hash: str
    simhash: int
    bands: tuple[int, ...]
    matches: dict[str, tuple[str, ...]]
    scores: dict[str, float]


def clean(title: str | None, text: str, language: str | None, learned: Collection[str],
          rules: Sequence[Rule]) -> Cleaned | None:
    """Strip learned paragraphs from an analyzed text and redo what depends on it; None if none was there."""
    kept, removed = strip_learned(text, learned)
    if not removed:
        return None
    found = match_article(rules, title, kept, language)
    return Cleaned(kept, removed, content_hash(kept), simhash(kept), bands(kept),
                   {name: m.terms for name, m in found.items()},
                   {name: m.score for name, m in found.items() if m.score is not None})
