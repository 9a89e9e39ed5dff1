"""Which rules an article matches, and why: the boolean query and the `like` examples together.

A rule with both parts matches when both hold. The article is embedded once, and only when some
rule that applies to its language has examples, so boolean-only seeds pay nothing for `like`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.examples import Similarity, article_text
from crawler.rules import MatchText, Rule, match, present_terms
from crawler.similarity import embedder


@dataclass(frozen=True)
class RuleMatch:
    """One matched rule: the query terms that hit, and the similarity score of a `like` rule."""

    terms: tuple[str, ...]
    score: float | None = None


@dataclass(frozen=True)
class Verdict:
    """One rule's evaluation of one article, matched or not, for `newsmon rules test`."""

    rule: str
    matched: bool
    applies: bool  # False: the article's language is not one of the rule's
    query: str | None
    query_matched: bool | None  # None: the rule has no query
    terms: tuple[str, ...]
    similarity: Similarity | None  # None: the rule has no examples (or does not apply)
    present: tuple[str, ...] = ()  # every query term the text holds, matched or not


def evaluate(rules: Sequence[Rule], title: str | None, text: str | None, language: str | None,
             explain: bool = True) -> list[Verdict]:
    """Evaluate every rule on one article, in the rules' order (with `explain`, also list every
    query term the text holds, which a crawl does not need)."""
    doc = MatchText.of(title, text)
    liked = [r for r in rules if r.like is not None and r.applies_to(language)]
    vector = embedder().embed([article_text(title, text)])[0] if liked else None
    out = []
    for rule in rules:
        applies = rule.applies_to(language)
        terms = match(rule.query, doc) if rule.query is not None and applies else None
        similarity = rule.like.similarity(vector) if rule.like is not None and vector is not None and applies else None
        query_ok = None if rule.query is None else terms is not None
        matched = (applies and query_ok is not False
                   and (similarity.matched if similarity is not None else rule.like is None))
        present = present_terms(rule.query, doc) if explain and rule.query is not None and applies else ()
        out.append(Verdict(rule.name, matched, applies, rule.query.text if rule.query is not None else None,
                           query_ok, terms or (), similarity, present))
    return out


def match_article(rules: Sequence[Rule], title: str | None, text: str | None,
                  language: str | None) -> dict[str, RuleMatch]:
    """Return rule name -> RuleMatch for every rule the article matches."""
    return {v.rule: RuleMatch(v.terms, v.similarity.score if v.similarity is not None else None)
            for v in evaluate(rules, title, text, language, explain=False) if v.matched}
