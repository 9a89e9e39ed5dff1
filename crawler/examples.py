"""Topic by example: a `like` rule's example articles, and how similar an article is to them.

An article's score is its cosine similarity to the nearest `like` example; it matches when the
score clears the rule's threshold and no `unlike` example (a near-miss to stay away from) is nearer
(nearest-neighbour, so one unlike example carves out its own neighbourhood without lowering the
score of anything else). Examples are files of text, or stored articles named by id or URL; the
second kind is resolved against the store before matching (`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crawler.similarity import Vectors, embedder
from crawler.urls import article_key

if TYPE_CHECKING:
    from crawler.rules import Rule
    from store.repository import Repository

# Chosen on bench/relevance.py's labelled set (see there and the README): on-topic stories score
# 0.60 and more against the seeds' examples, real news outside the topic less.
DEFAULT_THRESHOLD = 0.6
ARTICLE_PREFIX = "article:"
# An example file longer than this is not an article (a misnamed database, a log): refuse it.
_MAX_EXAMPLE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Example:
    """One example: where it came from (shown as the nearest example) and its text."""

    label: str
    text: str


@dataclass(frozen=True)
class Similarity:
    """How near an article is to a rule's examples."""

    score: float  # cosine to the nearest like example, -1 to 1
    nearest: str
    unlike_score: float | None = None
    nearest_unlike: str | None = None
    threshold: float = DEFAULT_THRESHOLD

    @property
    def matched(self) -> bool:
        """At or above the threshold, and nearer to a like example than to any unlike one."""
        return self.score >= self.threshold and (self.unlike_score is None or self.score > self.unlike_score)


@dataclass(frozen=True)
class Likeness:
    """A rule's examples: like (at least one), unlike (optional), and the threshold."""

    like: tuple[Example, ...]
    unlike: tuple[Example, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    # Stored articles named as examples ("article:12" or a URL), not yet read from the store.
    pending_like: tuple[str, ...] = ()
    pending_unlike: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return not (self.pending_like or self.pending_unlike)

    @cached_property
    def like_vectors(self) -> Vectors:
        return embedder().embed([e.text for e in self.like])

    @cached_property
    def unlike_vectors(self) -> Vectors:
        return embedder().embed([e.text for e in self.unlike])

    def similarity(self, vector: Vectors) -> Similarity:
        """Score one article's vector (crawler.similarity) against the examples."""
        if not self.resolved:
            raise ValueError("examples from the store are not resolved yet (crawler.examples.resolve)")
        best, nearest = _nearest(self.like_vectors, vector)
        out = Similarity(score=best, nearest=self.like[nearest].label, threshold=self.threshold)
        if self.unlike:
            worst, near = _nearest(self.unlike_vectors, vector)
            out = replace(out, unlike_score=worst, nearest_unlike=self.unlike[near].label)
        return out


def _nearest(examples: Vectors, vector: Vectors) -> tuple[float, int]:
    sims = examples @ vector
    i = int(np.argmax(sims))
    return round(float(sims[i]), 4), i


def article_text(title: str | None, text: str | None) -> str:
    """What is embedded of an article: its title, then its text."""
    return f"{title or ''}\n{text or ''}"


def likeness(folder: Path, table: dict[str, Any]) -> Likeness | None:
    """A rule's like, unlike and threshold keys (None without `like`); ValueError naming the key."""
    if "like" not in table:
        for key in ("unlike", "threshold"):
            if key in table:
                raise ValueError(f"{key} needs like examples")
        return None
    threshold = table.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not -1 <= threshold <= 1:
        raise ValueError(f"threshold must be a number from -1 to 1 (a cosine), not {threshold!r}")
    found: dict[str, tuple[list[Example], list[str]]] = {}
    for key in ("like", "unlike"):
        refs = table.get(key, [])
        refs = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs, list) or not all(isinstance(r, str) and r.strip() for r in refs):
            raise ValueError(f"{key} must be a list of non-empty strings (files, article:ID or URLs)")
        files: list[Example] = []
        stored: list[str] = []
        for n, ref in enumerate((r.strip() for r in refs), start=1):
            if is_stored_reference(ref):
                stored.append(ref)
            else:
                try:
                    files += example_files(folder, ref)
                except ValueError as exc:
                    raise ValueError(f"{key}[{n}]: {exc}") from None
        found[key] = (files, stored)
    if not found["like"][0] and not found["like"][1]:
        raise ValueError("like must name at least one example")
    return Likeness(like=tuple(found["like"][0]), unlike=tuple(found["unlike"][0]), threshold=float(threshold),
                    pending_like=tuple(found["like"][1]), pending_unlike=tuple(found["unlike"][1]))


def example_files(folder: Path, pattern: str) -> list[Example]:
    """Read the text files a pattern names (relative to `folder`; * and ** allowed); ValueError
    saying what is wrong with the pattern or a file."""
    base = Path(pattern).expanduser()
    if base.is_absolute():
        paths = sorted(Path(base.anchor).glob(str(base.relative_to(base.anchor))))
    else:
        paths = sorted(folder.glob(pattern))
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise ValueError(f"{pattern!r} names no file (relative to {folder})")
    out = []
    for p in paths:
        try:
            if p.stat().st_size > _MAX_EXAMPLE_BYTES:
                raise ValueError(f"{p} is over {_MAX_EXAMPLE_BYTES // 1024 // 1024} MB: not an article")
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{p} is not UTF-8 text") from None
        except OSError as exc:
            raise ValueError(f"cannot read {p}: {exc.strerror or exc}") from None
        if not text.split():
            raise ValueError(f"{p} is empty")
        out.append(Example(str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p), text))
    return out


def is_stored_reference(ref: str) -> bool:
    """True for an example that names a stored article: "article:ID" or an http(s) URL."""
    return ref.startswith(ARTICLE_PREFIX) or ref.startswith(("http://", "https://"))


# (reference) -> (label, title, text), or None when no such article is stored.
Lookup = Callable[[str], "tuple[str, str | None, str] | None"]


class UnresolvedExample(LookupError):
    """A rule names a stored article that is not stored."""


def resolve(rules: Sequence[Rule], lookup: Lookup) -> tuple[Rule, ...]:
    """Read the stored articles that rules name as examples; raise UnresolvedExample naming the
    rule and the reference when one is not stored."""
    out = []
    for rule in rules:
        like = rule.like
        if like is None or like.resolved:
            out.append(rule)
            continue
        found: dict[str, list[Example]] = {"like": list(like.like), "unlike": list(like.unlike)}
        for key, refs in (("like", like.pending_like), ("unlike", like.pending_unlike)):
            for ref in refs:
                hit = lookup(ref)
                if hit is None:
                    raise UnresolvedExample(f"rule {rule.name!r}: {key}: {ref!r} is not a stored article "
                                            f"(crawl it first, or save its text to a file and name the file)")
                label, title, text = hit
                found[key].append(Example(label, article_text(title, text)))
        out.append(replace(rule, like=Likeness(tuple(found["like"]), tuple(found["unlike"]), like.threshold)))
    return tuple(out)


def stored_lookup(repository: Repository) -> Lookup:
    """A Lookup that reads "article:ID" or an article URL (any variant it was reached by) from the store."""

    def lookup(ref: str) -> tuple[str, str | None, str] | None:
        if ref.startswith(ARTICLE_PREFIX):
            number = ref.removeprefix(ARTICLE_PREFIX).strip()
            article_id = int(number) if number.isdigit() else None
        else:
            article_id = repository.articles.id_of_url(ref)
            if article_id is None:
                article_id = repository.articles.id_of_url(article_key(ref))
        article = repository.articles.get(article_id) if article_id is not None else None
        if article is None or not article.text:
            return None
        return f"article {article.id} ({article.url})", article.title, article.text

    return lookup
