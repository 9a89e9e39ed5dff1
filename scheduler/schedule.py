"""When each source is crawled: the scheduler's seeds keys (`every`, `cron`, the `every` setting, and
`silent_after`, when a source that stopped yielding is flagged), checked on load, and the APScheduler
trigger for a source's next runs (backoff, cron, adaptive interval).

The crawler's config loader knows these keys only as the scheduler's (crawler.config.KeyOwner), so
crawler/ never imports APScheduler; every command that loads seeds loads them through here, so
`newsmon sources`, `crawl now` and `daemon` reject a bad `every` or `cron` alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.config import Config, KeyOwner, Source, parse_duration
from crawler.config import load_config as load_crawler_config
from scheduler.polling import next_interval

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

# A failing source waits base * 2**failures, up to this, before it is tried again.
BACKOFF_CEILING = 6 * 3600
DEFAULT_EVERY = "30m"
# A source crawled without a new article for this long is flagged silent (store.status).
DEFAULT_SILENT_AFTER = "3d"
# The `max_every` setting's default: a quiet source stretches up to 8 times its interval (scheduler.polling).
AUTO_MAX_EVERY = "8x"


@dataclass(frozen=True)
class Plan:
    """A source's configured schedule: an interval in seconds, a crontab line, or neither (the default)."""

    every: int | None = None
    cron: str | None = None
    # The longest its adaptive interval may stretch to (None: the setting's).
    max_every: int | None = None


def _parse_setting(key: str, raw: Any) -> int | None:
    if key == "max_every" and raw == AUTO_MAX_EVERY:
        return None
    return parse_duration(raw)


def _parse_source(values: Mapping[str, Any]) -> dict[str, Any]:
    out = parse_schedule(values)
    for key in ("silent_after", "max_every"):
        if key in values:
            try:
                out[key] = parse_duration(values[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    return out


def parse_schedule(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the `every` or `cron` key of a table (a source, an alert): {"every": seconds}, {"cron": line} or {}."""
    if "every" in values and "cron" in values:
        raise ValueError("set every or cron, not both")
    if "every" in values:
        try:
            return {"every": parse_duration(values["every"])}
        except ValueError as exc:
            raise ValueError(f"every: {exc}") from None
    if "cron" in values:
        cron = values["cron"]
        if not isinstance(cron, str):
            raise ValueError("cron must be a string like '*/30 * * * *'")
        try:
            # APScheduler's own parser, so the daemon runs exactly what was accepted here.
            cron_trigger(cron)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"cron {cron!r}: {exc}") from None
        return {"cron": cron}
    return {}


SCHEDULE_KEYS = KeyOwner(layer="scheduler", settings={"every": DEFAULT_EVERY, "max_every": AUTO_MAX_EVERY,
                                                      "silent_after": DEFAULT_SILENT_AFTER},
                         parse_setting=_parse_setting,
                         source_keys=frozenset({"every", "cron", "max_every", "silent_after"}),
                         parse_source=_parse_source)


def load_config(seeds_dir: Path | None = None, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """Load seeds with the scheduler's keys checked too: every key must be known, every schedule valid."""
    return load_crawler_config(seeds_dir, env=env, overrides=overrides, owners=[SCHEDULE_KEYS])


def plan(source: Source) -> Plan:
    """Return the schedule `source` sets in seeds/ (a config from `load_config`)."""
    return Plan(every=source.extra.get("every"), cron=source.extra.get("cron"), max_every=source.extra.get("max_every"))


def silent_after(config: Config) -> dict[str, int]:
    """Each source's `silent_after` in seconds (its own key, else the setting)."""
    default = int(config.extra_settings.get("silent_after") or parse_duration(DEFAULT_SILENT_AFTER))
    return {s.name: int(s.extra.get("silent_after") or default) for s in config.sources}


def default_every(config: Config) -> int:
    """Return the `every` setting in seconds: the interval of sources that set neither every nor cron."""
    return int(config.extra_settings.get("every") or parse_duration(DEFAULT_EVERY))


def default_max_every(config: Config) -> int | None:
    """Return the `max_every` setting in seconds (None: 8 times each source's interval)."""
    value = config.extra_settings.get("max_every")
    return int(value) if value is not None else None


@dataclass(frozen=True)
class Timing:
    """What a source's next runs follow: an APScheduler trigger, its interval (None for cron) and why."""

    trigger: BaseTrigger
    interval: int | None
    reason: str


def adapts(cron: str | None, failures: int) -> bool:
    """Return whether a source's interval follows what its crawls find: not while failing, never on cron."""
    return not failures and not cron


def timing(base: int, cron: str | None, failures: int, previous: int | None, found_new: int | None,
           jitter: float, max_every: int | None = None) -> Timing:
    """Return the trigger for a source configured at `base` seconds (or `cron`), given its recent runs.

    `previous` is the interval it ran at (None: not yet), `found_new` what its last crawl found (None:
    no crawl yet, or one that did not end well). Failures back off first; a cron line is followed as
    written; otherwise the interval adapts to what crawls find (scheduler.polling).
    """
    from apscheduler.triggers.interval import IntervalTrigger

    jitter = min(jitter, base / 10)
    if failures:
        interval = min(BACKOFF_CEILING, base * 2 ** min(failures, 16))
        return Timing(IntervalTrigger(seconds=interval, jitter=jitter, timezone=UTC), interval,
                      f"backing off after {failures} failed runs")
    if cron:
        return Timing(cron_trigger(cron), None, f"cron {cron}")
    interval, reason = next_interval(base, previous, found_new, max_every)
    return Timing(IntervalTrigger(seconds=interval, jitter=min(jitter, interval / 10), timezone=UTC), interval, reason)


def cron_trigger(cron: str) -> BaseTrigger:
    # Imported here: `newsmon status` and `query` load seeds too, and most seeds have no cron line.
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(cron, timezone=UTC)
