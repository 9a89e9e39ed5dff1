"""Fingerprints of article text: an exact hash, and a SimHash for near-duplicates.

A syndicated copy with other boilerplate, a lightly edited rewrite or a wire story republished by
several outlets has a SimHash within a few bits of the original. Lookups use LSH banding: the 64
bits are cut into BANDS bands, so any two hashes within BANDS - 1 bits of each other agree on at
least one whole band (pigeonhole), and a band is an indexed equality lookup in the store.
"""

from __future__ import annotations

import hashlib
import re

from trafilatura.deduplication import Simhash

_WORD = re.compile(r"\w+")
SIMHASH_BITS = 64
BANDS = 4
BAND_BITS = SIMHASH_BITS // BANDS
# Hamming distance at or below which two texts are one story. Chosen from bench/dedup.py's labelled
# pairs: copies and light edits measured 0-2 bits apart, different articles on the same topic 9+.
NEAR_DUPLICATE_BITS = BANDS - 1


def normalize_text(text: str) -> str:
    """Reduce text to its words: case, punctuation and whitespace differences disappear."""
    return " ".join(_WORD.findall(text.casefold()))


def content_hash(text: str) -> str:
    """Return the SHA-256 (hex) of the normalized text."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def simhash(text: str) -> int:
    """Return the text's 64-bit SimHash as a signed integer (what SQL BIGINT can hold)."""
    return to_signed(Simhash(text).hash)


def to_signed(value: int) -> int:
    """Map an unsigned 64-bit integer onto the signed range, bit for bit."""
    return value - (1 << SIMHASH_BITS) if value >= 1 << (SIMHASH_BITS - 1) else value


def bands(signed_hash: int) -> list[int]:
    """Cut a SimHash into BANDS integers of BAND_BITS bits each."""
    value = signed_hash & ((1 << SIMHASH_BITS) - 1)
    mask = (1 << BAND_BITS) - 1
    return [(value >> (i * BAND_BITS)) & mask for i in range(BANDS)]


def distance(a: int, b: int) -> int:
    """Return the number of differing bits between two SimHashes."""
    return ((a ^ b) & ((1 << SIMHASH_BITS) - 1)).bit_count()
