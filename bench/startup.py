"""Cold start of the commands people script: `newsmon query --new` and `newsmon status`.

Usage: python bench/startup.py [--runs 10]
Times each command as a fresh process against a small database, beside `newsmon --version` and
`python -c pass`, and prints medians; last, query's (goal: under 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.records import NewArticle
from store.repository import Repository


def timed(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/small.db"
        repo = Repository.open(db)
        for i in range(200):
            repo.articles.add(NewArticle(url=f"https://example.com/{i}", source="s", content_hash=f"{i:064x}",
                                         text="Steel mills go green. " * 40, matches={"green": ("green",)}))
        repo.close()
        newsmon = [sys.executable, "-m", "scheduler", "--db", db]
        rows = [
            ("python -c pass", timed([sys.executable, "-c", "pass"], args.runs)),
            ("newsmon --version", timed([sys.executable, "-m", "scheduler", "--version"], args.runs)),
            ("newsmon status", timed([*newsmon, "status", "--format", "json"], args.runs)),
            ("newsmon query --new", timed([*newsmon, "query", "--new", "--format", "json"], args.runs)),
        ]
    print(f"median of {args.runs} cold starts, 200 articles in a SQLite file:")
    for name, seconds in rows:
        print(f"  {name:24} {seconds:.3f} s")
    print(f"newsmon query --new cold start: {rows[-1][1]:.3f} s (goal < 0.5 s)")


if __name__ == "__main__":
    main()
