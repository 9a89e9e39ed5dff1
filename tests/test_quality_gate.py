"""Extraction quality gate: newsmon on 50 saved pages in five templates, against pinned floors and
against plain trafilatura on the same pages. A regression fails CI."""

from __future__ import annotations

import pytest

from bench.scoring import Report, evaluate, newsmon, plain_trafilatura

# Pinned a little below what newsmon scored when the gate was set (see the closing notes).
FLOORS = {"f1": 0.99, "precision": 0.99, "recall": 0.99, "title_accuracy": 0.98, "date_accuracy": 0.98}
# Every sample article in each of the five templates (tests/quality/make_pages.py).
TEMPLATES = ("legacy", "modern", "portal", "wire", "wordpress")
PAGES_PER_TEMPLATE = 10


@pytest.fixture(scope="module")
def reports() -> tuple[Report, Report]:
    return evaluate(newsmon), evaluate(plain_trafilatura)


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_template_has_its_pages_and_stays_above_the_floors(reports: tuple[Report, Report],
                                                                 template: str) -> None:
    # An average over all pages could hide one template gone bad: each one must hold the floors alone.
    ours, _ = reports
    assert sorted(ours.templates) == sorted(TEMPLATES)
    report = ours.templates[template]
    assert report.pages == PAGES_PER_TEMPLATE
    for metric, floor in FLOORS.items():
        value = getattr(report, metric)
        assert value >= floor, f"{template}: {metric} fell to {value:.3f}; worst: {report.worst}"
    assert report.teasers_leaked == 0


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_newsmon_stays_above_its_floor(reports: tuple[Report, Report], metric: str) -> None:
    ours, _ = reports
    assert getattr(ours, metric) >= FLOORS[metric], f"{metric} fell to {getattr(ours, metric):.3f}; worst: {ours.worst}"


def test_no_teaser_sentence_leaks(reports: tuple[Report, Report]) -> None:
    ours, plain = reports
    assert ours.teasers_leaked == 0
    assert plain.teasers_leaked > 0  # the pages do test what plain trafilatura gets wrong


def test_newsmon_beats_plain_trafilatura(reports: tuple[Report, Report]) -> None:
    ours, plain = reports
    print(f"\nbody P/R/F1 newsmon {ours.precision:.3f}/{ours.recall:.3f}/{ours.f1:.3f} vs plain "
          f"{plain.precision:.3f}/{plain.recall:.3f}/{plain.f1:.3f}; teasers leaked {ours.teasers_leaked} vs "
          f"{plain.teasers_leaked}; title {ours.title_accuracy:.2f} vs {plain.title_accuracy:.2f}; "
          f"date {ours.date_accuracy:.2f} vs {plain.date_accuracy:.2f}")
    assert ours.f1 > plain.f1
