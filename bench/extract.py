"""Per-page extraction cost of newsmon vs plain trafilatura.bare_extraction, same pages, same run.

Usage: python bench/extract.py [--pages 240] [--rounds 3]
Prints per-page milliseconds for each and, last, the ratio newsmon / plain (goal: <= 1.10).
Then what the `like` rule costs: analyze() with and without it (its share of a page's analysis,
goal <= 15%), and the embedding rate on one core over Fundus's 258 real pages' texts, with the
word cache cold (a fresh embedder) and warm.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura

from bench.pages import generate
from crawler.analysis import analyze
from crawler.config import load_config
from crawler.extraction import extract
from crawler.items import FetchedPage


def _time_all(func: Callable[[str, str], object], pages: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for url, html in pages:
        func(html, url)
    return (time.perf_counter() - start) / len(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pages = [(f"http://bench.example{p.path}", p.html) for p in generate(args.pages)]
    rules = load_config().rules

    def plain(html: str, url: str) -> object:
        return trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)

    def ours(html: str, url: str) -> object:
        return extract(html, url)

    def full(html: str, url: str) -> object:
        return analyze(FetchedPage("bench", url, html, (url,)), rules, 250)

    boolean = tuple(r for r in rules if r.like is None)

    def like_share() -> tuple[float, float]:
        """analyze() with and without the like rule, page by page back to back (so the other
        processes on the machine slow both alike): seconds per page, each."""
        with_like = without = 0.0
        for url, html in pages:
            page = FetchedPage("bench", url, html, (url,))
            start = time.perf_counter()
            analyze(page, rules, 250)
            middle = time.perf_counter()
            analyze(page, boolean, 250)
            with_like, without = with_like + middle - start, without + time.perf_counter() - middle
        return with_like / len(pages), without / len(pages)

    for func in (plain, ours, full):  # warm-up: imports, language model, caches
        _time_all(func, pages[:10])
    runs: dict[str, list[float]] = {"plain": [], "newsmon": [], "analyze": [], "with_like": [], "boolean": []}
    for _ in range(args.rounds):  # interleaved so drift hits all alike
        runs["plain"].append(_time_all(plain, pages))
        runs["newsmon"].append(_time_all(ours, pages))
        runs["analyze"].append(_time_all(full, pages))
        with_like, without = like_share()
        runs["with_like"].append(with_like)
        runs["boolean"].append(without)
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"pages: {len(pages)}, rounds: {args.rounds}, mean page size: "
          f"{statistics.mean(len(h) for _, h in pages) / 1024:.1f} KiB")
    print(f"plain trafilatura.bare_extraction: {med['plain'] * 1000:.2f} ms/page")
    print(f"newsmon extract():                 {med['newsmon'] * 1000:.2f} ms/page")
    print(f"newsmon analyze() (extract + rules + fingerprint): {med['analyze'] * 1000:.2f} ms/page "
          f"(ratio {med['analyze'] / med['plain']:.2f})")
    print(f"ratio newsmon/plain extraction: {med['newsmon'] / med['plain']:.2f} (goal <= 1.10)")
    share = (med["with_like"] - med["boolean"]) / med["with_like"]
    print(f"newsmon analyze() with the like rule {med['with_like'] * 1000:.2f} ms/page, without "
          f"{med['boolean'] * 1000:.2f} (page by page, back to back): the like rule's share of analysis "
          f"{share:.1%} (goal <= 15%)")
    _embedding_rate(args.rounds)


def _embedding_rate(rounds: int) -> None:
    from bench.real_pages import load_pages
    from crawler.similarity import Embedder, embedder

    texts = [f"{p.title}\n{p.body}" for p in load_pages()]
    loaded = embedder()
    cold, warm = [], []
    for _ in range(rounds):
        fresh = Embedder(loaded._weights, loaded._tokenizer)
        start = time.perf_counter()
        fresh.embed(texts)
        cold.append(len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        fresh.embed(texts)
        warm.append(len(texts) / (time.perf_counter() - start))
    words = statistics.mean(len(t.split()) for t in texts)
    print(f"embedding {len(texts)} real articles (mean {words:.0f} words) on one core: "
          f"{statistics.median(cold):.0f}/s with a cold word cache, {statistics.median(warm):.0f}/s warm "
          f"(goal >= 500/s)")


if __name__ == "__main__":
    main()
