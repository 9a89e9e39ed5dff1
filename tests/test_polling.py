"""Adaptive polling intervals: pure function, no daemon."""

from __future__ import annotations

from scheduler.polling import bounds, next_interval


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
