"""Relevance of the default rules on stories nobody on the team wrote: recall, precision, and the
false-positive rate on real news.

Usage: python bench/relevance.py [--seeds seeds/] [--json]

The labelled set (separate from the tests that build rules):
- on topic: the five real seed articles (seeds/examples/, from ../shared/seed-articles with the
  pages' noise removed). A `like` rule built from them is scored leave-one-out: each article
  against a rule built from the other four, so no article is its own nearest example.
- near misses and off-topic news: Fundus's 258 labelled real news pages (tests/goldens/fundus),
  title and labelled body, each labelled by reading it (bench/relevance_data/fundus_labels.toml:
  49 near misses that share the topic's words or neighbourhood, none on topic, the rest off topic).
Rules are evaluated three ways: boolean rules only, `like` rules only, and both (the default
seeds as shipped: an article is kept when any rule matches). Precision counts every Fundus page a
rule kept as a false positive. Last, the scores the threshold was chosen from: each on-topic
article's leave-one-out score, and the highest scores among the Fundus pages.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_pages import load_pages
from bench.relevance_data.labels import fundus_labels
from crawler.config import default_seeds_dir, load_config
from crawler.examples import Likeness
from crawler.matching import evaluate
from crawler.rules import Rule


@dataclass(frozen=True)
class Story:
    name: str
    label: str  # on-topic | near-miss | off-topic
    title: str
    text: str
    language: str | None
    example: str | None = None  # the like example this story is (left out when it is scored)


@dataclass(frozen=True)
class Result:
    mode: str
    recall: float
    precision: float
    fundus_fp_rate: float
    near_miss_fp: int
    off_topic_fp: int
    on_topic: int
    found: int
    false_positives: tuple[str, ...]


def labelled_set(seeds: Path) -> list[Story]:
    """The on-topic examples and every Fundus page, labelled."""
    stories = []
    for path in sorted((seeds / "examples").glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        stories.append(Story(f"seed/{path.stem}", "on-topic", title, body, "en", example=f"examples/{path.name}"))
    labels = fundus_labels()
    for page in load_pages():
        label = labels.get(page.name, ("off-topic", ""))[0]
        # Language as the crawl would detect it: rules for English skip other languages.
        stories.append(Story(page.name, label, page.title, page.body, _language(page.title, page.body)))
    return stories


def _language(title: str, body: str) -> str | None:
    from crawler.extraction import detect_language

    return detect_language(f"{title}\n{body}")


def leave_out(rules: Sequence[Rule], example: str | None) -> tuple[Rule, ...]:
    """The rules with one like example removed (the story being scored)."""
    if example is None:
        return tuple(rules)
    out = []
    for rule in rules:
        like = rule.like
        if like is not None and any(e.label == example for e in like.like):
            kept = tuple(e for e in like.like if e.label != example)
            rule = replace(rule, like=Likeness(kept, like.unlike, like.threshold))
        out.append(rule)
    return tuple(out)


def run(mode: str, rules: Sequence[Rule], stories: Sequence[Story]) -> Result:
    """Score one selection of rules on the labelled set."""
    found, fps = 0, []
    on_topic = [s for s in stories if s.label == "on-topic"]
    for story in stories:
        verdicts = evaluate(leave_out(rules, story.example), story.title, story.text, story.language)
        kept = any(v.matched for v in verdicts)
        if kept and story.label == "on-topic":
            found += 1
        elif kept:
            fps.append(story.name)
    fundus = [s for s in stories if s.name.split("/")[0] != "seed"]
    labels = {s.name: s.label for s in stories}
    kept = found + len(fps)
    return Result(mode=mode, recall=found / len(on_topic), precision=found / kept if kept else 0.0,
                  fundus_fp_rate=len(fps) / len(fundus),
                  near_miss_fp=sum(labels[n] == "near-miss" for n in fps),
                  off_topic_fp=sum(labels[n] == "off-topic" for n in fps),
                  on_topic=len(on_topic), found=found, false_positives=tuple(fps))


def like_scores(rules: Sequence[Rule], stories: Sequence[Story]) -> list[tuple[float, str, str]]:
    """(best like score, label, name) of every story, highest first."""
    out = []
    for story in stories:
        verdicts = evaluate(leave_out(rules, story.example), story.title, story.text, story.language)
        scores = [v.similarity.score for v in verdicts if v.similarity is not None]
        if scores:
            out.append((max(scores), story.label, story.name))
    return sorted(out, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=Path, default=default_seeds_dir())
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rules = load_config(args.seeds).rules
    stories = labelled_set(args.seeds)
    started = time.perf_counter()
    results = [run("boolean only", [r for r in rules if r.like is None], stories),
               run("like only", [r for r in rules if r.like is not None], stories),
               run("both (default)", rules, stories)]
    seconds = time.perf_counter() - started
    liked = [r for r in rules if r.like is not None]
    scores = like_scores(liked, stories)
    if args.json:
        print(json.dumps({"results": [r.__dict__ for r in results],
                          "scores": scores[:20], "thresholds": {r.name: r.like.threshold for r in liked if r.like}},
                         indent=2))
        return
    counts = {label: sum(s.label == label for s in stories) for label in ("on-topic", "near-miss", "off-topic")}
    print(f"labelled set: {counts['on-topic']} on topic (seed articles, leave-one-out for like rules), "
          f"{counts['near-miss']} near misses and {counts['off-topic']} off-topic real pages (Fundus)")
    print(f"{'rules':16} {'recall':>7} {'precision':>9} {'Fundus FP':>10} {'near-miss FP':>12} {'off-topic FP':>12}")
    for r in results:
        print(f"{r.mode:16} {r.recall:7.3f} {r.precision:9.3f} {r.fundus_fp_rate:9.1%} {r.near_miss_fp:12d} "
              f"{r.off_topic_fp:12d}")
        for name in r.false_positives:
            print(f"{'':16}   false positive: {name}")
    print(f"({seconds:.1f} s for the three evaluations)")
    for rule in liked:
        assert rule.like is not None
        print(f"\nlike rule {rule.name!r}, threshold {rule.like.threshold}: scores, highest first")
        on = [s for s in scores if s[1] == "on-topic"]
        print("  on topic (leave-one-out): " + ", ".join(f"{s[0]:.3f}" for s in on))
        print("  highest of the Fundus pages:")
        for score, label, name in [s for s in scores if s[1] != "on-topic"][:6]:
            print(f"    {score:.3f} {label:10} {name}")


if __name__ == "__main__":
    main()
