"""Fingerprints of article text: an exact hash, MinHash LSH bands to find near-duplicates, and a
SimHash to confirm them.

A syndicated copy with other boilerplate, a lightly edited rewrite or a wire story republished by
several outlets shares most of its word 3-shingles with the original (Jaccard similarity 0.8+).
MinHash (datasketch) estimates that similarity; cut into BANDS bands of ROWS values, each band
hashed to one integer, two texts with similarity s share at least one band with probability
1 - (1 - s^ROWS)^BANDS: 0.99 at s = 0.8, 0.6 at s = 0.6, 0.01 at s = 0.2. A band is an indexed
equality lookup in the store, so finding candidates costs the same at 10k or 1M articles. A
candidate joins the story only if its SimHash is also within NEAR_DUPLICATE_BITS: that rule lives in
store/stories.py, where the store applies it.
"""

from __future__ import annotations

import hashlib
import re
from hashlib import blake2b

# The "same story" rule is the store's; re-exported so the crawler's callers keep one import.
from store.stories import NEAR_DUPLICATE_BITS as NEAR_DUPLICATE_BITS
from store.stories import distance as distance
from store.stories import same_story as same_story

_WORD = re.compile(r"\w+")
SIMHASH_BITS = 64
SHINGLE_WORDS = 3
BANDS = 12
ROWS = 5


def normalize_text(text: str) -> str:
    """Reduce text to its words: case, punctuation and whitespace differences disappear."""
    return " ".join(_WORD.findall(text.casefold()))


def content_hash(text: str) -> str:
    """Return the SHA-256 (hex) of the normalized text."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def simhash(text: str) -> int:
    """Return the text's 64-bit SimHash as a signed integer (what SQL BIGINT can hold).

    Bit for bit trafilatura's Simhash (tests/test_fingerprints.py checks it), with the per-token
    vote done in numpy: trafilatura's pure-Python loop cost 0.75 ms a page, this 0.3 ms.
    """
    # numpy, datasketch and trafilatura are imported on first use, not with the module: a crawl
    # that finds nothing new never fingerprints, and their imports were most of its start-up.
    import numpy as np
    from trafilatura.deduplication import sample_tokens

    tokens = sample_tokens(text, SIMHASH_BITS)
    hashes = np.frombuffer(b"".join([blake2b(t.encode(), digest_size=8).digest() for t in tokens]), dtype=">u8")
    shifts = np.arange(SIMHASH_BITS, dtype=np.uint64)
    ones = ((hashes[:, None] >> shifts) & np.uint64(1)).sum(axis=0, dtype=np.int64)
    # A bit is set when at least as many tokens vote for it as against it.
    votes = 2 * ones - len(tokens)
    return to_signed(sum(1 << i for i in range(SIMHASH_BITS) if votes[i] >= 0))


def to_signed(value: int) -> int:
    """Map an unsigned 64-bit integer onto the signed range, bit for bit."""
    return value - (1 << SIMHASH_BITS) if value >= 1 << (SIMHASH_BITS - 1) else value


def bands(text: str) -> tuple[int, ...]:
    """Return the text's MinHash LSH bands, each a signed 64-bit integer."""
    import numpy as np
    from datasketch import MinHash

    words = _WORD.findall(text.casefold())
    shingles = [" ".join(words[i:i + SHINGLE_WORDS]).encode("utf-8")
                for i in range(max(1, len(words) - SHINGLE_WORDS + 1))]
    # The scheme is named, not left to the default: datasketch 2.0 changed it, and bands computed
    # one way never meet bands stored the other way.
    minhash = MinHash(num_perm=BANDS * ROWS, seed=1, scheme="affine32")
    minhash.update_batch(shingles)
    values = np.asarray(minhash.hashvalues, dtype=np.uint64)
    out = []
    for band in range(BANDS):
        digest = hashlib.blake2b(values[band * ROWS:(band + 1) * ROWS].tobytes(), digest_size=8).digest()
        out.append(to_signed(int.from_bytes(digest, "big")))
    return tuple(out)

