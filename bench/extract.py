"""Per-page extraction cost of newsmon vs plain trafilatura.bare_extraction, same pages, same run.

Usage: python bench/extract.py [--pages 240] [--rounds 3]
Prints per-page milliseconds for each and, last, the ratio newsmon / plain (goal: <= 1.10).
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

    for func in (plain, ours, full):  # warm-up: imports, language model, caches
        _time_all(func, pages[:10])
    runs: dict[str, list[float]] = {"plain": [], "newsmon": [], "analyze": []}
    for _ in range(args.rounds):  # interleaved so drift hits all three alike
        runs["plain"].append(_time_all(plain, pages))
        runs["newsmon"].append(_time_all(ours, pages))
        runs["analyze"].append(_time_all(full, pages))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"pages: {len(pages)}, rounds: {args.rounds}, mean page size: "
          f"{statistics.mean(len(h) for _, h in pages) / 1024:.1f} KiB")
    print(f"plain trafilatura.bare_extraction: {med['plain'] * 1000:.2f} ms/page")
    print(f"newsmon extract():                 {med['newsmon'] * 1000:.2f} ms/page")
    print(f"newsmon analyze() (extract + rules + fingerprint): {med['analyze'] * 1000:.2f} ms/page "
          f"(ratio {med['analyze'] / med['plain']:.2f})")
    print(f"ratio newsmon/plain extraction: {med['newsmon'] / med['plain']:.2f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
