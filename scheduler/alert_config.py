"""seeds/alerts.toml: the `[[alert]]` blocks, checked on load: who is told (Apprise URLs), about which
rules' stories, and how (each story as it is found, or a digest on a timer).

A URL may name environment variables (`"slack://${SLACK_TOKEN}"`), so a seeds folder kept in git
needs no secret in it. A target is known by a hash of the URL as written, so a token rotated in the
environment keeps its target's place in the stream; the URL itself is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.config import (
    ConfigError,
    array_of_tables,
    no_unknown_keys,
    parse_duration,
    read_toml,
    str_list,
    table_name,
    unique_names,
)
from scheduler.notify import label, scheme
from scheduler.schedule import cron_trigger, parse_schedule

ALERTS_FILE = "alerts.toml"
EACH, DIGEST = "each", "digest"
_KEYS = {"name", "urls", "rules", "mode", "every", "cron", "retry", "health"}
# A failed send is tried again after this (doubled for each failure in a row, up to an hour).
DEFAULT_RETRY = "1m"
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Target:
    """One Apprise URL of an alert: `key` names it in the database, `label` is safe to print."""

    key: str
    url: str
    label: str

    def __repr__(self) -> str:  # the URL holds secrets: keep it out of tracebacks and debug output
        return f"Target({self.label!r})"


@dataclass(frozen=True)
class Alert:
    """One `[[alert]]` block."""

    name: str
    targets: tuple[Target, ...]
    rules: tuple[str, ...]  # empty: every rule
    mode: str = EACH
    every: int | None = None
    cron: str | None = None
    retry: int = 60
    # Also tell about newsmon's own health: a source gone silent.
    health: bool = True

    def next_digest(self, after: datetime) -> datetime | None:
        """When the digest after `after` is due (None for an `each` alert)."""
        if self.mode != DIGEST:
            return None
        if self.every is not None:
            return after + timedelta(seconds=self.every)
        assert self.cron is not None
        return cron_trigger(self.cron).get_next_fire_time(None, after.astimezone(UTC))  # type: ignore[no-any-return]

    @property
    def schedule(self) -> str:
        """How it is sent, for people: "each story", "digest every 3600s", "digest at cron ..."."""
        if self.mode == EACH:
            return "each story"
        return f"digest every {duration(self.every)}" if self.every is not None else f"digest at cron {self.cron}"


def duration(seconds: int) -> str:
    """1d, 2h30m, 45s: parse_duration's form back."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v)


def load_alerts(seeds_dir: Path, rule_names: Collection[str], env: Mapping[str, str] | None = None
                ) -> tuple[Alert, ...]:
    """Read seeds_dir/alerts.toml (no file: no alerts); a mistake raises ConfigError naming file, alert
    and key."""
    path = seeds_dir / ALERTS_FILE
    if not path.exists():
        return ()
    env = os.environ if env is None else env
    tables = array_of_tables(path, read_toml(path), "alert")
    alerts = tuple(_alert(path, i, t, rule_names, env) for i, t in enumerate(tables, 1))
    unique_names(path, "alert", [a.name for a in alerts])
    return alerts


def _alert(path: Path, index: int, table: dict[str, object], rule_names: Collection[str],
           env: Mapping[str, str]) -> Alert:
    name = table_name(path, "alert", index, table)
    where = f"{path}: alert {name!r}"
    no_unknown_keys(where, table, _KEYS)
    raw_urls = str_list(where, table, "urls")
    if not raw_urls:
        raise ConfigError(f"{where}: urls must name at least one Apprise URL (mailto://, slack://, json://...)")
    targets = tuple(_target(where, i, raw, env) for i, raw in enumerate(raw_urls))
    rules = tuple(str_list(where, table, "rules"))
    for rule in rules:
        if rule not in rule_names:
            raise ConfigError(f"{where}: rules: no rule named {rule!r} in rules.toml")
    mode = table.get("mode", EACH)
    if mode not in (EACH, DIGEST):
        raise ConfigError(f"{where}: mode must be {EACH!r} or {DIGEST!r} (got {mode!r})")
    try:
        timing = parse_schedule(table)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if mode == DIGEST and not timing:
        raise ConfigError(f"{where}: a digest needs every = \"1d\" or cron = \"0 8 * * *\"")
    if mode == EACH and timing:
        raise ConfigError(f"{where}: every/cron are for mode = \"digest\"; mode \"each\" sends as stories are found")
    try:
        retry = parse_duration(str(table.get("retry", DEFAULT_RETRY)))
    except ValueError as exc:
        raise ConfigError(f"{where}: retry: {exc}") from None
    health = table.get("health", True)
    if not isinstance(health, bool):
        raise ConfigError(f"{where}: health must be true or false (got {health!r})")
    return Alert(name, targets, rules, str(mode), timing.get("every"), timing.get("cron"), retry, health)


def _target(where: str, index: int, raw: str, env: Mapping[str, str]) -> Target:
    def expand(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise ConfigError(f"{where}: urls[{index}] uses ${{{match.group(1)}}}, which is not set")
        return env[match.group(1)]

    url = _ENV_RE.sub(expand, raw)
    shown = label(url)
    if shown is None:
        raise ConfigError(f"{where}: urls[{index}]: Apprise knows no service for {scheme(url)} "
                          "(see https://github.com/caronc/apprise/wiki for URL forms)")
    return Target(hashlib.sha256(raw.encode()).hexdigest()[:16], url, shown)
