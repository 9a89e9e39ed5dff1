"""Adaptive polling: a source's interval follows how often its crawls actually find something.

Media Cloud's approach, simplified: a crawl that finds new articles halves the interval (down to a
floor of half the configured one), a crawl that finds nothing stretches it by half (up to a ceiling
of POLL_CEILING_FACTOR times the configured one, or the source's `max_every`, and never more than a
day). Busy sources are polled more often, quiet ones less, and every change is explained in
`newsmon status`. The stretch is what lets a quiet source cost an eighth of its checks, and what a
new article on it waits for: `max_every` bounds that wait (equal to `every`: never stretched).
"""

from __future__ import annotations

POLL_FLOOR_FACTOR = 0.5
POLL_CEILING_FACTOR = 8
MAX_INTERVAL = 24 * 3600


def bounds(base: int, max_every: int | None = None) -> tuple[int, int]:
    """Return the (floor, ceiling) interval in seconds for a source configured at `base` (and
    `max_every`, its longest interval; None: POLL_CEILING_FACTOR times `base`)."""
    floor = max(1, int(base * POLL_FLOOR_FACTOR))
    ceiling = base * POLL_CEILING_FACTOR if max_every is None else max(base, max_every)
    return floor, max(floor, min(MAX_INTERVAL, ceiling))


def next_interval(base: int, previous: int | None, found_new: int | None,
                  max_every: int | None = None) -> tuple[int, str]:
    """Return the next interval and why, given the last crawl's count of new articles (None: no crawl yet)."""
    floor, ceiling = bounds(base, max_every)
    current = min(max(previous or base, floor), ceiling)
    if found_new is None:
        return current, f"every {current}s"
    if found_new > 0:
        interval = max(floor, current // 2)
        return interval, f"every {interval}s: last crawl found {found_new} new (floor {floor}s)"
    interval = min(ceiling, max(current + 1, int(current * 1.5)))
    return interval, f"every {interval}s: last crawl found nothing new (ceiling {ceiling}s)"
