"""`newsmon rules apply`: the current rules applied to articles already stored.

A user who fixes a rule sees the stories it missed without crawling again: each stored article is
evaluated as a crawl would evaluate it (crawler.matching), and store.matches rewrites its matches,
lists again those that match a rule they did not (so `query --new` shows them once), and stops
listing as matched those that match nothing now. The daemon calls this when it reloads changed rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from crawler.matching import match_article
from crawler.rules import Rule
from store.matches import MatchUpdate
from store.repository import Repository

# Articles per transaction: small enough that a crawl's writes wait little behind one.
BATCH = 200


@dataclass
class ApplyReport:
    """What applying the rules changed."""

    examined: int = 0
    changed: int = 0
    newly_matched: int = 0
    unmatched: int = 0
    rules: tuple[str, ...] = ()


def apply_rules(repository: Repository, rules: Sequence[Rule], only: Sequence[str] = (),
                since: datetime | None = None, on_progress: Callable[[ApplyReport], None] | None = None
                ) -> ApplyReport:
    """Apply `rules` (only those named in `only`, if any; rules must have their stored examples
    resolved: crawler.run.with_stored_examples) to the stored articles first seen since `since`."""
    chosen = [r for r in rules if not only or r.name in only]
    report = ApplyReport(rules=tuple(r.name for r in chosen))
    scope = set(only) if only else None
    after = 0
    while True:
        page = repository.matches.texts(after, BATCH, since)
        if not page:
            return report
        updates = []
        for article in page:
            found = match_article(chosen, article.title, article.text, article.language)
            updates.append(MatchUpdate(article, {name: (m.terms, m.score) for name, m in found.items()}))
        applied = repository.matches.apply(updates, scope)
        report.examined += len(page)
        report.changed += applied.changed
        report.newly_matched += len(applied.matched)
        report.unmatched += len(applied.unmatched)
        after = page[-1].id
        if on_progress is not None:
            on_progress(report)


def changed_rules(before: Sequence[Rule], after: Sequence[Rule]) -> tuple[str, ...]:
    """Names of the rules added, edited (query, languages, examples or threshold) or removed."""
    old = {r.name: r for r in before}
    new = {r.name: r for r in after}
    return tuple(sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name)))
