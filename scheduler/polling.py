"""Adaptive polling: a source's interval follows how often its crawls actually find something.

Media Cloud's approach, simplified: a crawl that finds new articles halves the interval (down to a
floor of half the configured one), a crawl that finds nothing stretches it by half (up to a ceiling
of POLL_CEILING_FACTOR times the configured one, and never more than a day). Busy sources are
polled more often, quiet ones less, and every change is explained in `newsmon status`.
"""

from __future__ import annotations

POLL_FLOOR_FACTOR = 0.5
POLL_CEILING_FACTOR = 8
MAX_INTERVAL = 24 * 3600


def bounds(base: int) -> tuple[int, int]:
    """Return the (floor, ceiling) interval in seconds for a source configured at `base`."""
    floor = max(1, int(base * POLL_FLOOR_FACTOR))
    return floor, max(floor, min(MAX_INTERVAL, base * POLL_CEILING_FACTOR))


def next_interval(base: int, previous: int | None, found_new: int | None) -> tuple[int, str]:
    """Return the next interval and why, given the last crawl's count of new articles (None: no crawl yet)."""
    floor, ceiling = bounds(base)
    current = min(max(previous or base, floor), ceiling)
    if found_new is None:
        return current, f"every {current}s"
    if found_new > 0:
        interval = max(floor, current // 2)
        return interval, f"every {interval}s: last crawl found {found_new} new (floor {floor}s)"
    interval = min(ceiling, max(current + 1, int(current * 1.5)))
    return interval, f"every {interval}s: last crawl found nothing new (ceiling {ceiling}s)"
