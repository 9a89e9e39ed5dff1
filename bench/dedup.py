"""Near-duplicate detection: lookup cost at 10k vs 1M stored fingerprints, and precision/recall.

Usage: python bench/dedup.py [--small 10000] [--large 1000000]
1. Labelled pairs built from the sample articles (copies with other boilerplate, light edits, wire
   republications, versus different articles on the same topic): precision and recall of the rule
   the store applies, store.stories.same_story (a shared MinHash LSH band, confirmed by SimHash
   distance), at several thresholds.
2. A SQLite store filled with N random fingerprints (unrelated texts spread hashes uniformly):
   time per near-duplicate lookup (Articles.find_story) at the small and the large size; last,
   their ratio (goal < 3).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.fingerprints import BANDS, bands, simhash, to_signed
from sample_site import load_articles
from store.repository import Repository
from store.stories import NEAR_DUPLICATE_BITS, distance, same_story


def variants(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Return texts that are the same story as `paragraphs`, as outlets and editors change them."""
    text = "\n".join(paragraphs)
    words = text.split()
    edited = [w if rng.random() > 0.02 else rng.choice(["new", "key", "major", "local"]) for w in words]
    return [
        "Share this article\n" + text + "\nRead more: subscribe to our newsletter for daily updates.",
        " ".join(edited),
        "BEIJING (Wire) -- " + text + "\nThis story was first published by another outlet.",
        "\n".join(paragraphs[:-1]) if len(paragraphs) > 3 else text + " Updated with comment.",
        text + "\n" + "Correction: an earlier version misspelled a name.",
    ]


def labelled_pairs(seed: int = 7) -> list[tuple[str, str, bool]]:
    rng = random.Random(seed)
    articles = [a["paragraphs"] for a in load_articles()]
    pairs = [("\n".join(p), v, True) for p in articles for v in variants(p, rng)]
    pairs += [("\n".join(a), "\n".join(b), False) for a, b in combinations(articles, 2)]
    return pairs


def precision_recall(pairs: list[tuple[str, str, bool]]) -> None:
    """Print how store.stories.same_story, the rule the store applies, scores the labelled pairs."""
    rows, prints = [], []
    for a, b, same in pairs:
        fa, fb = (bands(a), simhash(a)), (bands(b), simhash(b))
        shared = sum(x == y for x, y in zip(fa[0], fb[0], strict=True))
        rows.append((same, shared, distance(fa[1], fb[1])))
        prints.append((same, fa, fb))
    positives = sum(1 for r in rows if r[0])
    print(f"labelled pairs: {positives} same-story, {len(rows) - positives} different-story")
    print(f"same-story pairs: bands shared {sorted(r[1] for r in rows if r[0])}")
    print(f"same-story pairs: SimHash distance {sorted(r[2] for r in rows if r[0])}")
    print(f"different-story pairs: most bands shared {max(r[1] for r in rows if not r[0])}, "
          f"smallest SimHash distance {min(r[2] for r in rows if not r[0])}")
    for threshold in sorted({3, 6, 9, 15, NEAR_DUPLICATE_BITS}):
        judged = [(same, same_story(*fa, *fb, max_bits=threshold)) for same, fa, fb in prints]
        tp = sum(1 for same, joined in judged if same and joined)
        fp = sum(1 for same, joined in judged if not same and joined)
        mark = "  <- newsmon (store.stories.NEAR_DUPLICATE_BITS)" if threshold == NEAR_DUPLICATE_BITS else ""
        print(f"  same_story(max_bits={threshold:2}): precision {tp / (tp + fp) if tp + fp else 1:.3f} "
              f"recall {tp / positives:.3f}{mark}")


def fill(repo: Repository, count: int, rng: random.Random) -> None:
    """Insert `count` articles with random fingerprints, in large batches straight through the DBAPI."""
    raw = repo.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        start = repo.articles.max_id()
        for base in range(start, start + count, 50_000):
            rows, band_rows = [], []
            for i in range(base + 1, min(start + count, base + 50_000) + 1):
                h = to_signed(rng.getrandbits(64))
                rows.append((i, f"https://bench.example/{i}", "bench", f"{i:064x}", h, "2024-01-01 00:00:00"))
                # Unrelated texts have independent band hashes: random 64-bit values model them.
                band_rows += [(i, b, to_signed(rng.getrandbits(64))) for b in range(BANDS)]
            cur.executemany("INSERT INTO articles (id, url, source, content_hash, simhash, first_seen) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
            cur.executemany("INSERT INTO article_bands (article_id, band, value) VALUES (?, ?, ?)", band_rows)
        cur.execute("COMMIT")
    finally:
        raw.close()


def lookup_time(repo: Repository, rng: random.Random, probes: int = 2000) -> float:
    probe = [(to_signed(rng.getrandbits(64)), tuple(to_signed(rng.getrandbits(64)) for _ in range(BANDS)))
             for _ in range(probes)]
    for h, b in probe[:50]:
        repo.articles.find_story(h, b, NEAR_DUPLICATE_BITS)
    start = time.perf_counter()
    for h, b in probe:
        repo.articles.find_story(h, b, NEAR_DUPLICATE_BITS)
    return (time.perf_counter() - start) / probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    precision_recall(labelled_pairs())
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.open(f"sqlite:///{tmp}/bench.db")
        fill(repo, args.small, rng)
        small = statistics.median(lookup_time(repo, rng) for _ in range(3))
        t0 = time.perf_counter()
        fill(repo, args.large - args.small, rng)
        print(f"filled {args.large:,} fingerprints in {time.perf_counter() - t0:.0f} s")
        large = statistics.median(lookup_time(repo, rng) for _ in range(3))
        repo.close()
    print(f"lookup at {args.small:,}: {small * 1e6:.0f} us; at {args.large:,}: {large * 1e6:.0f} us")
    print(f"near-duplicate lookup ratio {args.large:,} / {args.small:,}: {large / small:.2f} (goal < 3)")


if __name__ == "__main__":
    main()
