"""Loading and validating seeds: every mistake is one line naming the file, the entry and the key.

Seeds are loaded as `newsmon` loads them (scheduler.schedule.load_config: the crawler's loader with
the scheduler's keys); the last tests check that the crawler's loader stays free of the scheduler.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from crawler import config as crawler_config
from crawler.config import ConfigError, parse_duration
from scheduler.schedule import SCHEDULE_KEYS, default_every, load_config, plan
from tests.conftest import ROOT

RULES = """
[[rule]]
name = "green"
query = 'green AND (factory OR manufactur*)'
languages = ["en"]
"""

EXAMPLE_SOURCE = r"""
[[source]]
name = "example-business"
feeds = ["https://example.com/business/rss.xml"]
sitemaps = ["https://example.com/sitemap_index.xml"]
start_urls = ["https://example.com/business/"]
allow = ['/business/\d{4}-\d{2}/']
follow = 1
every = "30m"
"""


def _seeds(tmp_path: Path, sources: str, rules: str = RULES) -> Path:
    (tmp_path / "sources.toml").write_text(sources, encoding="utf-8")
    (tmp_path / "rules.toml").write_text(rules, encoding="utf-8")
    return tmp_path


def _error(tmp_path: Path, sources: str, rules: str = RULES, **kw: object) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(_seeds(tmp_path, sources, rules), env={}, **kw)  # type: ignore[arg-type]
    message = str(err.value)
    assert "\n" not in message
    return message


def test_default_seeds_load() -> None:
    config = load_config(env={})
    assert len(config.sources) >= 6
    assert len(config.rules) >= 3
    assert all(plan(s).every or plan(s).cron for s in config.sources)


def test_issue_example_block_loads(tmp_path: Path) -> None:
    config = load_config(_seeds(tmp_path, EXAMPLE_SOURCE), env={})
    (src,) = config.sources
    assert src.name == "example-business"
    assert plan(src).every == 1800 and src.follow == 1 and src.rules is None
    assert src.allow[0].search("https://example.com/business/2024-09/x.html")
    assert config.rules_for(src) == config.rules


@pytest.mark.parametrize(("snippet", "expected"), [
    ('colour = "red"', "source 'example-business': unknown key 'colour'"),
    ('follow = "two"', "source 'example-business': follow must be a whole number"),
    ('every = "soon"', "source 'example-business': every: 'soon' is not a duration"),
    ('cron = "61 * * * *"', "source 'example-business': cron '61 * * * *'"),
    ('rules = ["nope"]', "source 'example-business': rules: unknown rule 'nope'"),
    ("deny = ['(unclosed']", "source 'example-business': deny[1] '(unclosed': bad regex"),
])
def test_bad_source_keys_name_file_source_and_key(tmp_path: Path, snippet: str, expected: str) -> None:
    key = snippet.split("=")[0].strip()
    replaced = {"every": 'every = "30m"', "cron": 'every = "30m"', "follow": "follow = 1"}.get(key)
    sources = EXAMPLE_SOURCE.replace(replaced, snippet) if replaced else EXAMPLE_SOURCE + snippet + "\n"
    message = _error(tmp_path, sources)
    assert str(tmp_path / "sources.toml") in message
    assert expected in message


def test_bad_feed_url_names_its_index(tmp_path: Path) -> None:
    message = _error(tmp_path, '[[source]]\nname = "x"\nfeeds = ["https://ok.example/rss", "ftp://no/rss"]\n')
    assert "source 'x': feeds[2] 'ftp://no/rss' is not an http(s) URL" in message


def test_source_without_any_seed_url(tmp_path: Path) -> None:
    assert "needs at least one of feeds, sitemaps, start_urls" in _error(tmp_path, '[[source]]\nname = "x"\n')


def test_duplicate_names_and_bad_names(tmp_path: Path) -> None:
    assert "source 'example-business' is defined twice" in _error(tmp_path, EXAMPLE_SOURCE * 2)
    assert "source #1: name must be" in _error(tmp_path, '[[source]]\nname = "has space"\nfeeds=["https://a/b"]\n')


def test_every_and_cron_together(tmp_path: Path) -> None:
    assert "set every or cron, not both" in _error(tmp_path, EXAMPLE_SOURCE + 'cron = "*/5 * * * *"\n')


def test_a_cron_source_and_the_every_setting(tmp_path: Path) -> None:
    on_cron = EXAMPLE_SOURCE.replace('every = "30m"', 'cron = "*/5 * * * *"')
    seeds = _seeds(tmp_path, '[settings]\nevery = "2h"\n' + on_cron
                   + '[[source]]\nname = "plain"\nfeeds = ["https://a.example/rss"]\n')
    config = load_config(seeds, env={})
    assert [(plan(s).every, plan(s).cron) for s in config.sources] == [(None, "*/5 * * * *"), (None, None)]
    assert default_every(config) == 7200
    assert default_every(load_config(seeds, env={"NEWSMON_EVERY": "45m"})) == 2700
    assert default_every(load_config(_seeds(tmp_path, EXAMPLE_SOURCE), env={})) == 1800


def test_a_bad_every_setting_names_the_layer_it_came_from(tmp_path: Path) -> None:
    in_file = _error(tmp_path, '[settings]\nevery = "soon"\n' + EXAMPLE_SOURCE)
    assert in_file == (f"{tmp_path / 'sources.toml'}: [settings]: every: "
                       "'soon' is not a duration like 30m, 2h, 1h30m or 1d")
    with pytest.raises(ConfigError) as caught:
        load_config(_seeds(tmp_path, EXAMPLE_SOURCE), env={"NEWSMON_EVERY": "0m"})
    assert str(caught.value) == "environment: NEWSMON_EVERY: '0m' is not a positive duration"


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = _error(tmp_path, '[[source]]\nname = x\nfeeds = ["https://a/b"]\n')
    assert str(tmp_path / "sources.toml") in message and "line 2" in message


def test_malformed_query_names_rule_and_position(tmp_path: Path) -> None:
    message = _error(tmp_path, EXAMPLE_SOURCE, '[[rule]]\nname = "broken"\nquery = "green AND (steel"\n')
    assert str(tmp_path / "rules.toml") in message
    assert "rule 'broken': query:" in message and "position" in message


def test_unknown_rule_key(tmp_path: Path) -> None:
    message = _error(tmp_path, EXAMPLE_SOURCE, RULES + 'weight = 3\n')
    assert "rule 'green': unknown key 'weight'" in message


def test_settings_layers_file_then_env_then_flags(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path, "[settings]\ndownload_delay = 3.0\nretry_times = 5\n" + EXAMPLE_SOURCE)
    assert load_config(seeds, env={}).settings.download_delay == 3.0
    env = {"NEWSMON_DOWNLOAD_DELAY": "0.5", "NEWSMON_AUTOTHROTTLE": "false"}
    from_env = load_config(seeds, env=env).settings
    assert (from_env.download_delay, from_env.autothrottle, from_env.retry_times) == (0.5, False, 5)
    flags = load_config(seeds, env=env, overrides={"download_delay": 0.0}).settings
    assert flags.download_delay == 0.0 and flags.retry_times == 5


def test_bad_settings(tmp_path: Path) -> None:
    assert "unknown setting 'colour'" in _error(tmp_path, '[settings]\ncolour = 1\n' + EXAMPLE_SOURCE)
    with pytest.raises(ConfigError, match="NEWSMON_RETRY_TIMES = 'many'"):
        load_config(_seeds(tmp_path, EXAMPLE_SOURCE), env={"NEWSMON_RETRY_TIMES": "many"})
    message = _error(tmp_path, "[settings]\ndownload_timeout = -1\n" + EXAMPLE_SOURCE)
    assert f"{tmp_path / 'sources.toml'}: [settings]: download_timeout = -1.0 is out of range" in message


def test_out_of_range_env_value_names_the_environment_not_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_seeds(tmp_path, EXAMPLE_SOURCE), env={"NEWSMON_RETRY_TIMES": "-1"})
    assert str(caught.value) == "environment: NEWSMON_RETRY_TIMES = -1 is out of range"


def test_seeds_from_env_and_missing_folder(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path, EXAMPLE_SOURCE)
    assert load_config(env={"NEWSMON_SEEDS": str(seeds)}).seeds_dir == seeds
    with pytest.raises(ConfigError, match="seeds folder not found"):
        load_config(tmp_path / "nope", env={})


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("45s", 45),
                                               ("1d", 86400)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0m", "soon", "5", "m30"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_the_crawler_never_imports_the_scheduler_s_libraries() -> None:
    for path in (ROOT / "crawler").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {x for x in names if x.split(".")[0] == "apscheduler"}, f"{path.relative_to(ROOT)} imports it"


def test_the_crawler_s_loader_leaves_the_scheduler_s_keys_alone(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path, EXAMPLE_SOURCE.replace('every = "30m"', 'cron = "61 * * * *"'))
    # Nothing to check them with, so nothing is said: callers that only want rules or crawl settings.
    (src,) = crawler_config.load_config(seeds, env={}).sources
    assert src.name == "example-business" and not src.extra
    # A fresh process: pytest itself has imported APScheduler long before.
    code = ("import sys, crawler.config as c; from pathlib import Path; "
            f"c.load_config(Path({str(seeds)!r}), env={{}}); print('apscheduler' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr


def test_the_scheduler_s_keys_are_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key in SCHEDULE_KEYS.settings:
        assert f"`{key}`" in readme and f"`NEWSMON_{key.upper()}`" in readme, key
