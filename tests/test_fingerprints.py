"""Fingerprints stay what the store already holds: a faster SimHash must equal trafilatura's bit for
bit, and bands must not drift with a library upgrade."""

from __future__ import annotations

import pytest
from trafilatura.deduplication import Simhash

from crawler.fingerprints import bands, simhash, to_signed
from scheduler.sample_site import load_articles

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
