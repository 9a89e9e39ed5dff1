"""`python -m scheduler.child`: the runner the daemon starts for one crawl of a batch of sources (one
Scrapy process crawls them side by side, each with its own lease, run and politeness), as scrapyd's
launcher starts its runner. Its contract is the environment, never argv (a database password in argv
would show in `ps`):

    NEWSMON_DB               the database URL
    NEWSMON_SEEDS            the seeds folder (the daemon's private snapshot of it)
    NEWSMON_CHILD_SOURCE     the sources to crawl, comma-separated (names never hold a comma)
    NEWSMON_CHILD_RESULT     a file the runner writes one JSON object to before it exits:
                             {"outcome": "ok" | "skipped" | "failed", "reason": str | null,
                              "runs": [run, ...], "skipped": {source: holder, ...}}
    NEWSMON_CHILD_TIME_LIMIT seconds each source may crawl (optional): one over it ends
                             timed_out and the others go on (crawler.deadline)
    NEWSMON_CHILD_LOG_LEVEL, NEWSMON_CHILD_LOG_FORMAT, NEWSMON_CHILD_LOG_FILE
                             logging, as the daemon's --log-level, --log-format, --log-file
    NEWSMON_CHILD_SERVE      1: crawl batch after batch as stdin asks, each answered as above
                             (scheduler/child_serve.py); NEWSMON_CHILD_SOURCE is then unused
    NEWSMON_CHILD_BATCHES    with SERVE: the batches to serve before exiting (default 100)
    NEWSMON_CHILD_WARM       with SERVE, 1: import the analysis libraries and start the analysis
                             pool's fork server at once, before the first batch asks for them

Exit 0: the sources were crawled ("ok", with a run each) or other processes held all their leases
("skipped"; the sources skipped, and who held them, are in "skipped" either way); 1: a runtime
failure (the database); 2: bad config (seeds, a source, a missing variable). "failed" comes with the
reason. Nothing is printed on stdout: the daemon reads the result file only (a serving child
answers its requests there, scheduler/child_serve.py, and sends anything else to stderr).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.config import ConfigError
from scheduler.logs import setup_logging
from store.errors import StoreError
from store.records import RunRecord

DB_ENV = "NEWSMON_DB"
SEEDS_ENV = "NEWSMON_SEEDS"
SOURCE_ENV = "NEWSMON_CHILD_SOURCE"
RESULT_ENV = "NEWSMON_CHILD_RESULT"
TIME_LIMIT_ENV = "NEWSMON_CHILD_TIME_LIMIT"
LOG_LEVEL_ENV = "NEWSMON_CHILD_LOG_LEVEL"
LOG_FORMAT_ENV = "NEWSMON_CHILD_LOG_FORMAT"
LOG_FILE_ENV = "NEWSMON_CHILD_LOG_FILE"
SERVE_ENV = "NEWSMON_CHILD_SERVE"
BATCHES_ENV = "NEWSMON_CHILD_BATCHES"
WARM_ENV = "NEWSMON_CHILD_WARM"

OK, SKIPPED, FAILED = "ok", "skipped", "failed"
EXIT_OK, EXIT_RUNTIME, EXIT_CONFIG = 0, 1, 2

log = logging.getLogger("newsmon.child")


def main() -> int:
    """Crawl the source the environment names, write the result file, and return the exit code."""
    env = os.environ
    setup_logging(env.get(LOG_LEVEL_ENV, "warning"), env.get(LOG_FORMAT_ENV, "text"),
                  Path(env[LOG_FILE_ENV]) if env.get(LOG_FILE_ENV) else None)
    if env.get(SERVE_ENV) == "1":
        from scheduler.child_serve import serve

        return serve(env)
    result_path = env.get(RESULT_ENV)
    if not result_path:
        log.error("%s is not set: nowhere to write the result", RESULT_ENV)
        return EXIT_CONFIG
    result, code = run(env)
    write_result(Path(result_path), result)
    return code


def run(env: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """Crawl the source `env` names under its lease; return the result object and the exit code."""
    from scheduler.crawling import crawl_sources
    from scheduler.schedule import load_config
    from store.repository import Repository

    try:
        names, db_url, seeds = (required(env, key) for key in (SOURCE_ENV, DB_ENV, SEEDS_ENV))
        config = load_config(Path(seeds), env=env)
        sources = [config.source(name) for name in names.split(",")]
        time_limit = _seconds(env, TIME_LIMIT_ENV)
    except ConfigError as exc:
        return failed(str(exc)), EXIT_CONFIG
    level = env.get(LOG_LEVEL_ENV, "warning").upper()
    try:
        repository = Repository.open(db_url)
        try:
            report = crawl_sources(config, sources, repository, wait=False, log_level=level, time_limit=time_limit)
        finally:
            repository.close()
    except StoreError as exc:
        return failed(str(exc)), EXIT_RUNTIME
    for name, holder in report.skipped.items():
        log.info("%s: being crawled by %s; skipped", name, holder)
    return answer(report.runs, report.skipped), EXIT_OK


def answer(runs: list[RunRecord], skipped: dict[str, str]) -> dict[str, Any]:
    """Return the result object of a batch that crawled `runs` and skipped the busy `skipped` ("skipped"
    when it crawled none of them)."""
    if not runs and skipped:
        reason = "; ".join(f"{n} being crawled by {h}" for n, h in skipped.items())
        return {"outcome": SKIPPED, "reason": reason, "runs": [], "skipped": skipped}
    return {"outcome": OK, "reason": None, "runs": [_jsonable(asdict(r)) for r in runs], "skipped": skipped}


def write_result(path: Path, result: Mapping[str, Any]) -> None:
    """Write `result` to `path` whole or not at all (a reader never sees half of it)."""
    partial = partial_path(path)
    partial.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def partial_path(path: Path) -> Path:
    """Return where the result is written before it is moved to `path` (a killed child may leave it)."""
    return path.with_name(path.name + ".partial")


def required(env: Mapping[str, str], key: str) -> str:
    """Return the environment variable `key`; ConfigError when it is not set."""
    value = env.get(key)
    if not value:
        raise ConfigError(f"environment: {key} is not set")
    return value


def _seconds(env: Mapping[str, str], key: str) -> float | None:
    value = env.get(key)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise ConfigError(f"environment: {key} must be a number of seconds above 0, not {value!r}")
    return seconds


def failed(reason: str) -> dict[str, Any]:
    """Return the result object of a batch that failed for `reason` (and log it)."""
    log.error("crawl failed: %s", reason)
    return {"outcome": FAILED, "reason": reason, "runs": []}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
