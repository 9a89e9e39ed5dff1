"""Adaptive polling intervals: pure function, no daemon; and the `max_every` key that bounds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import ConfigError
from scheduler.polling import bounds, next_interval
from scheduler.schedule import default_max_every, load_config, plan
from tests.conftest import write_seeds


def test_quiet_source_slows_down_to_the_ceiling() -> None:
    interval, seen = 1800, []
    for _ in range(12):
        interval, reason = next_interval(1800, interval, found_new=0)
        seen.append(interval)
    assert seen == sorted(seen) and seen[-1] == bounds(1800)[1] == 4 * 3600
    assert "found nothing new" in reason


def test_busy_source_speeds_up_to_the_floor() -> None:
    interval = 4 * 3600
    for _ in range(12):
        interval, reason = next_interval(1800, interval, found_new=5)
    assert interval == bounds(1800)[0] == 900
    assert "found 5 new" in reason


def test_bounds_and_first_schedule() -> None:
    assert bounds(1) == (1, 8)
    assert bounds(6 * 3600) == (3 * 3600, 24 * 3600)
    assert next_interval(600, None, None) == (600, "every 600s")
    assert next_interval(600, 99_999, None)[0] == 4800  # a saved interval outside the bounds is clamped


def test_max_every_bounds_the_stretch_and_equal_to_every_keeps_the_interval() -> None:
    interval = 600
    for _ in range(12):
        interval, reason = next_interval(600, interval, found_new=0, max_every=1200)
    assert interval == 1200 and "ceiling 1200s" in reason
    # max_every = every: a quiet source is checked at its interval, a busy one still speeds up.
    assert next_interval(600, 600, found_new=0, max_every=600)[0] == 600
    assert next_interval(600, 600, found_new=3, max_every=600)[0] == 300
    assert bounds(600, max_every=60) == (300, 600)  # never below every
    assert bounds(600, max_every=10 * 24 * 3600) == (300, 24 * 3600)  # never above a day


def test_max_every_is_read_from_settings_and_sources_and_a_bad_one_is_named(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "a", {"name": "own", "feeds": ["https://a.example/rss"], "max_every": "45m"},
                        {"name": "other", "feeds": ["https://b.example/rss"]}, text='[settings]\nmax_every = "2h"\n')
    config = load_config(seeds)
    assert plan(config.source("own")).max_every == 2700 and plan(config.source("other")).max_every is None
    assert default_max_every(config) == 7200
    assert default_max_every(load_config(write_seeds(tmp_path / "b", {"name": "x", "feeds": ["https://c/"]}))) is None
    bad = write_seeds(tmp_path / "c", {"name": "x", "feeds": ["https://c/"], "max_every": "soon"})
    with pytest.raises(ConfigError, match="max_every"):
        load_config(bad)
