"""Fingerprints stay what the store already holds: a faster SimHash must equal trafilatura's bit for
bit, and bands must not drift with a library upgrade."""

from __future__ import annotations

import pytest
from trafilatura.deduplication import Simhash

from crawler import fingerprints
from crawler.fingerprints import bands, simhash, to_signed
from sample_site import load_articles
from store import stories
from store.records import NewArticle
from store.stories import NEAR_DUPLICATE_BITS, StoryIndex, same_story

TEXTS = [
    *("\n".join(a["paragraphs"]) for a in load_articles()),
    "",
    "Steel",
    "a b c",
    "... --- !!!",
    "钢铁行业正在加快绿色低碳转型。智能制造提升了生产效率。",
    "Numbers 2024 and 5G, low-carbon; zero-carbon: AI-driven factories!",
]
STEEL = ("Steel mills in Hebei are switching to hydrogen-based direct reduction, cutting carbon emissions "
         "by half while keeping output steady.")


@pytest.mark.parametrize("text", TEXTS)
def test_simhash_is_trafilaturas_bit_for_bit(text: str) -> None:
    assert simhash(text) == to_signed(Simhash(text).hash)


def test_bands_are_pinned() -> None:
    # Recorded once: if a datasketch release changes its hashing, stored bands would stop matching
    # new ones and near-duplicates would silently go undetected. This fails first.
    assert bands(STEEL) == (
        7847965258446287935, -8365357338125568766, 5346768619694019901, -4632081614859601464,
        4567449356533577349, 4506885286058876227, -9201417717810915843, -4655506075221008730,
        -310665052904519385, -2969930382352884669, 7328258706460014053, 3414623544960574023,
    )
    assert simhash(STEEL) == 2408485364360232626


def test_the_crawler_uses_the_stores_same_story_rule() -> None:
    # Re-exported, not copied: bench/dedup.py and the crawler measure what the store applies.
    assert fingerprints.same_story is stories.same_story and fingerprints.distance is stories.distance
    assert fingerprints.NEAR_DUPLICATE_BITS == stories.NEAR_DUPLICATE_BITS


@pytest.mark.parametrize("bits", [0, NEAR_DUPLICATE_BITS, NEAR_DUPLICATE_BITS + 1, 40])
@pytest.mark.parametrize("shared_bands", [12, 1, 0])
def test_a_batch_joins_a_story_exactly_when_same_story_says_so(bits: int, shared_bands: int) -> None:
    stored_bands, stored_hash = bands(STEEL), simhash(STEEL)
    probe_bands = stored_bands[:shared_bands] + tuple(v + 1 for v in stored_bands[shared_bands:])
    probe_hash = to_signed((stored_hash ^ ((1 << bits) - 1)) & ((1 << 64) - 1))
    index = StoryIndex(urls={}, originals={}, bands={})
    index.note_article(NewArticle(url="u", source="s", content_hash="h", text=STEEL, simhash=stored_hash,
                                  bands=stored_bands), ["u"], 7, None)
    probe = NewArticle(url="v", source="s", content_hash="g", text="", simhash=probe_hash, bands=probe_bands)
    expected = shared_bands > 0 and bits <= NEAR_DUPLICATE_BITS
    assert same_story(stored_bands, stored_hash, probe_bands, probe_hash) is expected
    assert index.story(probe) == (7 if expected else None)
