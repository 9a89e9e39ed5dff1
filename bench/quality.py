"""Extraction quality on the gate's 50 saved pages: newsmon against plain trafilatura.

Usage: python bench/quality.py   (regenerate the pages first with tests/quality/make_pages.py if needed)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scoring import evaluate, newsmon, plain_trafilatura


def main() -> None:
    ours, plain = evaluate(newsmon), evaluate(plain_trafilatura)
    print(f"{'':22}{'newsmon':>10}{'trafilatura':>13}")
    for label, attr in (("body precision", "precision"), ("body recall", "recall"), ("body F1", "f1"),
                        ("title accuracy", "title_accuracy"), ("date accuracy", "date_accuracy")):
        print(f"{label:22}{getattr(ours, attr):10.3f}{getattr(plain, attr):13.3f}")
    print(f"{'teaser sentences leaked':22}{ours.teasers_leaked:9d}{plain.teasers_leaked:13d}")
    print(f"pages: {ours.pages}; newsmon's weakest: {', '.join(f'{n} {f:.3f}' for n, f in ours.worst[:3])}")
    print(f"body F1: newsmon {ours.f1:.3f} vs trafilatura {plain.f1:.3f}; teaser sentences leaked: newsmon "
          f"{ours.teasers_leaked} vs trafilatura {plain.teasers_leaked}")


if __name__ == "__main__":
    main()
