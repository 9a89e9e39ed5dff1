"""Load and validate seeds/ into frozen Source, Rule and Settings values.

Layers: defaults in code < seeds/sources.toml [settings] < NEWSMON_* environment < flags.
Every error names the file, the source or rule, and the key.

Keys the crawl does not use (the scheduler's `every` and `cron`) belong to the layer that reads
them: it hands the loader a `KeyOwner` that parses them, and the loader layers them, rejects keys
nobody owns, and reports the owner's complaint at the place the value was written. So crawler/
never imports the scheduler's libraries, and the seeds files keep one format.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from crawler.examples import likeness
from crawler.rules import QueryError, Rule, parse_query

SOURCES_FILE = "sources.toml"
RULES_FILE = "rules.toml"
EXAMPLES_DIR = "examples"  # the bundled `like` rule's example articles, beside rules.toml
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


class ConfigError(ValueError):
    """Seeds or settings are invalid; the message names the place."""


@dataclass(frozen=True)
class Settings:
    """Crawl-wide settings; each field can be set in [settings], as NEWSMON_<FIELD>, or by a flag."""

    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"
    # Politeness per domain: news sites are shared infrastructure, not benchmarks.
    download_delay: float = 1.0
    concurrency_per_domain: int = 2
    autothrottle: bool = True
    download_timeout: float = 30.0
    retry_times: int = 2
    retry_backoff: float = 2.0
    retry_backoff_max: float = 60.0
    # Real article pages are well under 2 MB; 10 MiB leaves room and caps hostile bodies.
    max_response_bytes: int = 10 * 1024 * 1024
    max_articles_per_crawl: int = 1000
    max_links_per_page: int = 5000
    min_article_chars: int = 250
    # Seconds a crawler's claim on a source outlives its last heartbeat (one every third of it).
    lease_ttl: float = 60.0
    # Every n-th check of a feed, sitemap or listing is unconditional, to catch a server whose
    # validators lie (an unchanged ETag on changed content).
    validator_check_every: int = 10
    # Processes that extract articles during a burst (0: one per CPU core).
    analysis_workers: int = 0


@dataclass(frozen=True)
class Source:
    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    start_urls: tuple[str, ...] = ()
    allow: tuple[re.Pattern[str], ...] = ()
    deny: tuple[re.Pattern[str], ...] = ()
    follow: int = 1
    rules: tuple[str, ...] | None = None
    # Re-fetch articles first seen within this many seconds: a changed text becomes a new version.
    revisit: int | None = None
    # The keys other layers own (KeyOwner), as their owner parsed them: {"every": 1800}.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def seed_urls(self) -> tuple[str, ...]:
        """Every URL this source starts from."""
        return self.feeds + self.sitemaps + self.start_urls


@dataclass(frozen=True)
class Config:
    sources: tuple[Source, ...]
    rules: tuple[Rule, ...]
    settings: Settings = field(default_factory=Settings)
    seeds_dir: Path | None = None
    # The [settings] keys other layers own (KeyOwner), layered and parsed: {"every": 1800}.
    extra_settings: Mapping[str, Any] = field(default_factory=dict)

    def source(self, name: str) -> Source:
        """Return the source called `name`."""
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"unknown source {name!r} (known: {known})")

    def rules_for(self, source: Source) -> tuple[Rule, ...]:
        """Return the rules that apply to articles of `source`."""
        if source.rules is None:
            return self.rules
        return tuple(r for r in self.rules if r.name in source.rules)


@dataclass(frozen=True)
class KeyOwner:
    """Seeds keys that another layer reads and checks; each parser raises ValueError saying what is wrong."""

    layer: str
    # [settings] keys with their defaults as a file would write them; NEWSMON_<KEY> and flags apply too.
    settings: Mapping[str, Any]
    parse_setting: Callable[[str, Any], Any]
    source_keys: frozenset[str]
    # Gets the owned keys a [[source]] sets (maybe none) and returns their parsed values.
    parse_source: Callable[[Mapping[str, Any]], Mapping[str, Any]]


def default_seeds_dir() -> Path:
    """Find the seeds/ folder that ships with newsmon (checkout first, then installed data)."""
    checkout = Path(__file__).resolve().parent.parent / "seeds"
    if (checkout / SOURCES_FILE).exists():
        return checkout
    return Path(sys.prefix) / "share" / "newsmon" / "seeds"


def copy_default_rules(folder: Path) -> None:
    """Copy the bundled rules.toml into `folder`, with the example articles its `like` rules read."""
    bundled = default_seeds_dir()
    shutil.copyfile(bundled / RULES_FILE, folder / RULES_FILE)
    if (bundled / EXAMPLES_DIR).is_dir():
        shutil.copytree(bundled / EXAMPLES_DIR, folder / EXAMPLES_DIR, dirs_exist_ok=True)


def load_config(seeds_dir: Path | None = None, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None, owners: Sequence[KeyOwner] | None = None) -> Config:
    """Load seeds_dir (or $NEWSMON_SEEDS, or the default seeds) and apply env and flag overrides.

    With `owners`, every key must be the crawler's or an owner's; without, keys the crawler does not
    use are ignored (for callers that only want the rules or the crawl settings).
    """
    env = os.environ if env is None else env
    folder = Path(seeds_dir or env.get("NEWSMON_SEEDS") or default_seeds_dir())
    if not folder.is_dir():
        raise ConfigError(f"{folder}: seeds folder not found")
    sources_doc = _read_toml(folder / SOURCES_FILE)
    rules_doc = _read_toml(folder / RULES_FILE)
    settings, extra = _load_settings(folder / SOURCES_FILE, sources_doc.pop("settings", {}), env, overrides or {},
                                     owners)
    rules = _load_rules(folder / RULES_FILE, rules_doc)
    sources = _load_sources(folder / SOURCES_FILE, sources_doc, {r.name for r in rules}, owners)
    return Config(sources=sources, rules=rules, settings=settings, seeds_dir=folder, extra_settings=extra)


def parse_duration(text: str) -> int:
    """Parse "30m", "2h", "1h30m", "45s", "1d" into seconds."""
    m = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration like 30m, 2h, 1h30m or 1d")
    d, h, mi, s = (int(g or 0) for g in m.groups())
    seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


# -- files ---------------------------------------------------------------------------------------

def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def _tables(path: Path, doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    extra = sorted(set(doc) - {key})
    if extra:
        raise ConfigError(f"{path}: unknown top-level key {extra[0]!r} (expected [[{key}]] tables)")
    tables = doc.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: {key!r} must be an array of tables ([[{key}]])")
    return tables


# -- settings ------------------------------------------------------------------------------------

def _load_settings(path: Path, table: Any, env: Mapping[str, str], overrides: Mapping[str, Any],
                   owners: Sequence[KeyOwner] | None) -> tuple[Settings, dict[str, Any]]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [settings] must be a table")
    settings = Settings()
    known = {f.name: f for f in fields(Settings)}
    owned = {key: owner for owner in owners or () for key in owner.settings}
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (f"{path}: [settings]", table),
        ("environment", {k: env[f"NEWSMON_{k.upper()}"] for k in (*known, *owned) if f"NEWSMON_{k.upper()}" in env}),
        ("command line", {k: v for k, v in overrides.items() if v is not None}),
    ]
    # Which layer set each key, so an out-of-range value is reported where it was written.
    origin: dict[str, tuple[str, str]] = {}
    raw_owned: dict[str, Any] = {}
    for where, values in layers:
        for key, raw in values.items():
            label = f"NEWSMON_{key.upper()}" if where == "environment" else key
            if key in known:
                settings = replace(settings, **{key: _coerce(where, label, known[key].type, raw)})
            elif key in owned:
                raw_owned[key] = raw
            elif owners is not None:
                raise ConfigError(f"{where}: unknown setting {key!r}")
            origin[key] = (where, label)
    _check_settings(settings, origin)
    extra = {}
    for key, owner in owned.items():
        try:
            extra[key] = owner.parse_setting(key, raw_owned.get(key, owner.settings[key]))
        except ValueError as exc:
            where, label = origin.get(key, (f"{owner.layer} defaults", key))
            raise ConfigError(f"{where}: {label}: {exc}") from None
    return settings, extra


def _coerce(where: str, key: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind in ("int", int):
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError("expected a whole number")
            return int(raw)
        if kind in ("float", float):
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            return float(raw)
        if not isinstance(raw, str):
            raise ValueError("expected a string")
        return raw
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {key} = {raw!r}: {exc}") from None


def _check_settings(s: Settings, origin: Mapping[str, tuple[str, str]]) -> None:
    checks = [
        ("download_delay", s.download_delay >= 0), ("concurrency_per_domain", s.concurrency_per_domain >= 1),
        ("download_timeout", s.download_timeout > 0), ("retry_times", s.retry_times >= 0),
        ("retry_backoff", s.retry_backoff >= 0), ("retry_backoff_max", s.retry_backoff_max >= 0),
        ("max_response_bytes", s.max_response_bytes >= 1024),
        ("max_articles_per_crawl", s.max_articles_per_crawl >= 1),
        ("max_links_per_page", s.max_links_per_page >= 1), ("min_article_chars", s.min_article_chars >= 0),
        ("lease_ttl", s.lease_ttl >= 1), ("validator_check_every", s.validator_check_every >= 1),
        ("analysis_workers", s.analysis_workers >= 0),
        ("user_agent", bool(s.user_agent.strip())),
    ]
    for key, ok in checks:
        if not ok:
            where, label = origin[key]  # a default is never out of range
            raise ConfigError(f"{where}: {label} = {getattr(s, key)!r} is out of range")


# -- rules ---------------------------------------------------------------------------------------

_RULE_KEYS = {"name", "query", "languages", "like", "unlike", "threshold"}


def _load_rules(path: Path, doc: dict[str, Any]) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for i, table in enumerate(_tables(path, doc, "rule"), start=1):
        name = _name(path, "rule", i, table)
        where = f"{path}: rule {name!r}"
        _no_unknown_keys(where, table, _RULE_KEYS)
        query = None
        if "query" in table:
            query_text = table["query"]
            if not isinstance(query_text, str):
                raise ConfigError(f"{where}: query must be a string")
            try:
                query = parse_query(query_text)
            except QueryError as exc:
                raise ConfigError(f"{where}: query: {exc}") from None
        try:
            like = likeness(path.parent, table)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if query is None and like is None:
            raise ConfigError(f"{where}: needs a query, like examples, or both")
        languages = _str_list(where, table, "languages")
        rules.append(Rule(name=name, query=query, like=like,
                          languages=frozenset(x.lower() for x in languages) if languages else None))
    _unique(path, "rule", [r.name for r in rules])
    return tuple(rules)


# -- sources -------------------------------------------------------------------------------------

_SOURCE_KEYS = {"name", "feeds", "sitemaps", "start_urls", "allow", "deny", "follow", "rules", "revisit"}


def _load_sources(path: Path, doc: dict[str, Any], rule_names: set[str],
                  owners: Sequence[KeyOwner] | None) -> tuple[Source, ...]:
    sources = [_load_source(path, i, t, rule_names, owners) for i, t in enumerate(_tables(path, doc, "source"), 1)]
    _unique(path, "source", [s.name for s in sources])
    return tuple(sources)


def _load_source(path: Path, index: int, table: dict[str, Any], rule_names: set[str],
                 owners: Sequence[KeyOwner] | None) -> Source:
    name = _name(path, "source", index, table)
    where = f"{path}: source {name!r}"
    if owners is not None:
        _no_unknown_keys(where, table, _SOURCE_KEYS.union(*(o.source_keys for o in owners)))
    urls = {key: tuple(_urls(where, table, key)) for key in ("feeds", "sitemaps", "start_urls")}
    if not any(urls.values()):
        raise ConfigError(f"{where}: needs at least one of feeds, sitemaps, start_urls")
    follow = table.get("follow", 1)
    if not isinstance(follow, int) or isinstance(follow, bool) or not 0 <= follow <= 20:
        raise ConfigError(f"{where}: follow must be a whole number from 0 to 20, not {follow!r}")
    rules = _str_list(where, table, "rules") if "rules" in table else None
    for rule in rules or ():
        if rule not in rule_names:
            raise ConfigError(f"{where}: rules: unknown rule {rule!r}")
    revisit = None
    if "revisit" in table:
        try:
            revisit = parse_duration(table["revisit"])
        except ValueError as exc:
            raise ConfigError(f"{where}: revisit: {exc}") from None
    return Source(name=name, feeds=urls["feeds"], sitemaps=urls["sitemaps"], start_urls=urls["start_urls"],
                  allow=_patterns(where, table, "allow"), deny=_patterns(where, table, "deny"),
                  follow=follow, rules=tuple(rules) if rules is not None else None, revisit=revisit,
                  extra=_owned(where, table, owners or ()))


def _owned(where: str, table: dict[str, Any], owners: Sequence[KeyOwner]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for owner in owners:
        try:
            extra.update(owner.parse_source({k: v for k, v in table.items() if k in owner.source_keys}))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return extra


def _urls(where: str, table: dict[str, Any], key: str) -> list[str]:
    values = _str_list(where, table, key)
    for i, url in enumerate(values, start=1):
        if not re.match(r"^https?://[^\s/?#]+", url):
            raise ConfigError(f"{where}: {key}[{i}] {url!r} is not an http(s) URL")
    return values


def _patterns(where: str, table: dict[str, Any], key: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for i, text in enumerate(_str_list(where, table, key), start=1):
        try:
            out.append(re.compile(text))
        except re.error as exc:
            raise ConfigError(f"{where}: {key}[{i}] {text!r}: bad regex: {exc}") from None
    return tuple(out)


# -- small checks --------------------------------------------------------------------------------

def _name(path: Path, kind: str, index: int, table: dict[str, Any]) -> str:
    name = table.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{path}: {kind} #{index}: name must be letters, digits, '.', '_' or '-' "
                          f"(got {name!r})")
    return name


def _no_unknown_keys(where: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _str_list(where: str, table: dict[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return [v.strip() for v in value]


def _unique(path: Path, kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{path}: {kind} {name!r} is defined twice")
        seen.add(name)


# Other layers' seeds files (the scheduler's alerts.toml) are read and checked the same way.
read_toml, array_of_tables, table_name, no_unknown_keys, str_list, unique_names = (
    _read_toml, _tables, _name, _no_unknown_keys, _str_list, _unique)
