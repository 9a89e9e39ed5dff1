"""Text embeddings for `like` rules: WordLlama's static token embeddings, offline, on the CPU.

Why WordLlama (measured in bench/relevance.py's notes and the README's design section): its wheel
carries a 256-dimension model of 16 MB and needs only numpy, tokenizers and safetensors, so it
installs from the package index with newsmon and never downloads at run time; a text's vector is
a weighted mean of its tokens' vectors, so embedding costs a tokenizer pass and a gather, well under a
millisecond per article. A transformer (all-MiniLM-L6-v2) needs torch, hundreds of MB, and is two
orders of magnitude slower per article on one core.

Two things this module does that the library does not:
- It loads without a network: wordllama 0.4 looks for its tokenizer file in a folder named
  differently from the one its wheel ships (`tokenizer/` instead of `tokenizers/`), then tries a
  download. The package folder itself, given as `cache_dir`, holds both files where that lookup
  finds them, and `disable_download=True` turns any remaining miss into an error, not a request.
- It tokenizes word by word through a cache. The model's tokenizer has no pre-tokenizer, so the
  library hands a whole article to BPE as one "word" (about 350 articles a second on one core);
  the same words recur across articles, and a dictionary of each word's token ids makes embedding
  several times faster (bench/extract.py). Without the newlines the library keeps as tokens, and
  with frequent tokens weighed down (see _load); examples and articles go through the same path.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

DIMENSIONS = 256
# Words a process remembers the token ids of; cleared when full (a news vocabulary of a few
# hundred thousand forms fits, and a cleared cache costs only the next articles' tokenizing).
_CACHE_WORDS = 500_000
# Only the beginning of a long article counts: its subject is there, and a bounded cost per
# article keeps a 50,000-word page from taking a second.
MAX_WORDS = 2000
# Token weighting (see _load): the rank at which a token counts half.
RANK_WEIGHT = 1000.0


class ModelError(RuntimeError):
    """The embedding model could not be loaded (the message says why and what to do)."""


class Embedder:
    """Unit-length vectors of texts, from WordLlama's token embeddings."""

    def __init__(self, weights: npt.NDArray[np.float32], tokenizer: Any) -> None:
        self._weights = weights
        self._tokenizer = tokenizer
        self._ids: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        """Return one unit vector per text (a zero vector for a text with no words)."""
        out = np.zeros((len(texts), self._weights.shape[1]), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = self._token_ids(text.split()[:MAX_WORDS])
            if ids:
                vector = self._weights[ids].sum(axis=0)
                norm = float(np.linalg.norm(vector))
                if norm > 0:
                    out[i] = vector / norm
        return out

    def _token_ids(self, words: list[str]) -> list[int]:
        cache = self._ids
        missing = [w for w in dict.fromkeys(words) if w not in cache]
        if missing:
            with self._lock:
                if len(cache) + len(missing) > _CACHE_WORDS:
                    cache.clear()
                # The BPE model alone, on the form the tokenizer's normalizer would give it (a
                # leading "▁" for the space before the word): the same ids as encoding the word
                # (checked on Fundus's 62,000 distinct words), in two thirds of the time.
                bpe = self._tokenizer.model
                for word in missing:
                    cache[word] = [token.id for token in bpe.tokenize("\u2581" + word)]
        return [i for w in words for i in cache.get(w, ())]


_loaded: Embedder | None = None
_load_lock = threading.Lock()


def embedder() -> Embedder:
    """The process's embedder, loaded on first use (about a quarter of a second)."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            _loaded = _load()
        return _loaded


def _load() -> Embedder:
    # The tokenizer's own thread pool would spread a crawl's analysis over every core behind the
    # scheduler's back; newsmon already runs one analysis process per core.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
    except ImportError as exc:
        raise ModelError(f"like rules need the wordllama package ({exc}): pip install newsmon") from None
    finally:
        # wordllama calls logging.basicConfig(level=INFO) on import, which would give a process
        # that had not set up logging yet a second handler and a chattier root logger.
        root.handlers[:] = handlers
        root.setLevel(level)
    package = Path(wordllama.__file__).parent
    try:
        model = wordllama.WordLlama.load(cache_dir=package, disable_download=True, dim=DIMENSIONS)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the WordLlama model from {package}: {exc}") from None
    weights = np.ascontiguousarray(model.embedding, dtype=np.float32)
    # Frequent tokens ("the", "said", "of") say little about a story's subject and pull every
    # article's mean towards the same point: weigh each token by a/(a + p), with p its frequency
    # (smooth inverse frequency, Arora et al. 2017). The vocabulary is numbered roughly in the
    # order its tokens were merged, most frequent first, so a token's id stands in for its rank.
    # Measured on bench/relevance.py's set: the gap between the least similar on-topic story and
    # the most similar real off-topic page grew from 0.010 to 0.046 (RANK_WEIGHT 1000; 300 gave
    # 0.034, 3000 0.048).
    ranks = np.arange(weights.shape[0], dtype=np.float32)
    weights *= (ranks / (ranks + RANK_WEIGHT))[:, None]
    tokenizer = model.tokenizer
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return Embedder(weights, tokenizer)
