"""The "same story" rule, and the per-batch index that applies it while a batch is stored.

Two texts are one story when they share a MinHash LSH band and their SimHashes are at most
NEAR_DUPLICATE_BITS apart (crawler/fingerprints.py explains both fingerprints). The store, the
crawler and bench/dedup.py all decide with this module, so what is measured is what is applied.
Pure: no SQLAlchemy, no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from store.records import NewArticle

# Chosen from bench/dedup.py's labelled pairs: copies and light edits measured 0-12 bits apart,
# different articles (same topic included) 18 or more.
NEAR_DUPLICATE_BITS = 12
# Near-duplicate candidates examined per lookup: bands are 64-bit hashes, so unrelated texts
# practically never collide; only copies of one story come back.
_MAX_CANDIDATES = 200
_MASK64 = (1 << 64) - 1


def distance(a: int, b: int) -> int:
    """Return the number of differing bits between two 64-bit SimHashes."""
    return ((a ^ b) & _MASK64).bit_count()


def _near(simhash_a: int, simhash_b: int, max_bits: int) -> bool:
    return distance(simhash_a, simhash_b) <= max_bits


def first_copy_key(published: datetime | None, url: str) -> tuple[bool, datetime, str]:
    """Order a story's copies found in one crawl: the earliest published first (undated last), then
    the URL. Which of two copies was stored first is a race between their fetches; this is not."""
    when = published.astimezone(UTC) if published and published.tzinfo else (published or datetime.max)
    return (published is None, when.replace(tzinfo=UTC), url)


def same_story(bands_a: tuple[int, ...], simhash_a: int, bands_b: tuple[int, ...], simhash_b: int,
               max_bits: int = NEAR_DUPLICATE_BITS) -> bool:
    """Decide as the store does: a shared band, and SimHashes within max_bits."""
    shared = any(x == y for x, y in zip(bands_a, bands_b, strict=True))
    return shared and _near(simhash_a, simhash_b, max_bits)


@dataclass
class StoryIndex:
    """What one batch knows of stored articles, kept up to date as the batch adds its own.

    Its band map holds only the (band, value) pairs the batch asked about, so an article found
    under a new text's band shares that band: the rule's first half is the lookup itself, the
    second is same_story's SimHash distance.
    """

    urls: dict[str, int]  # URL -> article reached by it
    originals: dict[str, int]  # content hash -> first article with that text
    bands: dict[tuple[int, int], list[int]]  # (band, value) -> articles with it
    simhashes: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)  # id -> (simhash, story)

    def note_urls(self, urls: Iterable[str], article_id: int) -> None:
        """Remember that these URLs reach `article_id` (the first owner of a URL stays)."""
        for url in urls:
            self.urls.setdefault(url, article_id)

    def note_article(self, new: NewArticle, urls: Iterable[str], article_id: int, story: int | None) -> None:
        """Remember an article the batch just stored, so its later articles can find it."""
        self.note_urls(urls, article_id)
        if story is None:
            self.originals.setdefault(new.content_hash, article_id)
        for pair in enumerate(new.bands):
            self.bands.setdefault(pair, []).append(article_id)
        self.simhashes[article_id] = (new.simhash, story)

    def lead(self, old: int, new: int) -> None:
        """Make article `new` the first copy of the story that `old` led (its copies follow it)."""
        self.originals = {h: new if a == old else a for h, a in self.originals.items()}
        self.simhashes = {a: (simhash, new if a == old or story == old else story)
                          for a, (simhash, story) in self.simhashes.items()}

    def story(self, new: NewArticle, max_bits: int = NEAR_DUPLICATE_BITS) -> int | None:
        """Return the story (its first article's id) whose text is within max_bits of the new one."""
        if new.simhash is None or not new.bands:
            return None
        candidates = list(dict.fromkeys(a for pair in enumerate(new.bands) for a in self.bands.get(pair, ())))
        stories = []
        for article_id in candidates[:_MAX_CANDIDATES]:
            simhash, story = self.simhashes.get(article_id, (None, None))
            if simhash is not None and _near(simhash, new.simhash, max_bits):
                stories.append(story or article_id)
        return min(stories) if stories else None
