"""The `newsmon` command line: parse, call one function, format. Only this module prints.

The functions live where a web page or a queue worker can call them too: scheduler.crawling
(lease-guarded crawls), scheduler.news (`--new` cursors), store.status, scheduler.schedule,
scheduler.demo. Over 400 lines for the eleven commands' options and help texts, which are what a
user reads; none of it is logic.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from scheduler.batches import BATCH_SIZE, CHILD_BATCHES
from scheduler.logs import setup_logging
from scheduler.output import Story, emit, emit_stories, output_options
from store.db import DEFAULT_DB_URL
from store.records import ARTICLE_KEYS, article_record

# Exit codes (documented in README.md).
EXIT_RUNTIME = 1
EXIT_USAGE = 2

SUMMARY_COLUMNS = ("source", "outcome", "pages", "new", "matched", "duplicates", "skipped", "errors")
# Shorter labels in the tables of runs, for 80 columns (the JSON and CSV keys stay whole).
RUN_HEADERS = {"matched": "match", "duplicates": "dup", "skipped": "skip", "errors": "err"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsmon")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def fail(message: str, code: int = EXIT_RUNTIME) -> NoReturn:
    """Print one `Error: ...` line on stderr and exit."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Turn domain errors into one line and the documented exit code."""
    from crawler.config import ConfigError
    from crawler.similarity import ModelError
    from store.errors import DatabaseURLError, NoDatabase, StoreError

    try:
        yield
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except ModelError as exc:
        fail(str(exc), EXIT_RUNTIME)
    except DatabaseURLError as exc:
        fail(str(exc), EXIT_USAGE)
    except NoDatabase as exc:
        fail(f"{exc}: `newsmon crawl now` creates it, or point --db (NEWSMON_DB) at yours", EXIT_RUNTIME)
    except StoreError as exc:
        fail(str(exc), EXIT_RUNTIME)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(version=_version(), prog_name="newsmon")
@click.option("--db", envvar="NEWSMON_DB", default=DEFAULT_DB_URL, show_default=True,
              help="Database URL (SQLAlchemy form). Env: NEWSMON_DB.")
@click.option("--seeds", envvar="NEWSMON_SEEDS", type=click.Path(path_type=Path),
              help="Folder with sources.toml and rules.toml. Env: NEWSMON_SEEDS. [default: bundled seeds/]")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              default="warning", show_default=True, help="Log detail.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines as text or JSON objects.")
@click.option("--log-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Append logs to this file instead of stderr.")
@click.pass_context
def main(ctx: click.Context, db: str, seeds: Path | None, log_level: str, log_format: str,
         log_file: Path | None) -> None:
    """Monitor news sources: crawl them, keep the new articles that match your rules.

    \b
    Example:
      newsmon crawl now && newsmon query --new
    """
    ctx.obj = {"db": db, "seeds": seeds, "log_level": log_level, "log_format": log_format, "log_file": log_file}
    if log_file is not None:
        from crawler.config import default_seeds_dir

        if log_file.resolve().parent == (seeds or default_seeds_dir()).resolve():
            fail(f"--log-file {log_file}: logs must not be written into the seeds folder", EXIT_USAGE)
    setup_logging(log_level, log_format, log_file)


# -- crawl -----------------------------------------------------------------------------------------

@main.group()
def crawl() -> None:
    """Crawl sources.

    \b
    Example:
      newsmon crawl now --source xinhua-english
    """


@crawl.command("now")
@click.option("--source", "source_names", multiple=True, metavar="NAME",
              help="Crawl only this source (repeatable). Default: every source in seeds.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="For a source another process is crawling: wait for it, or skip it.")
@output_options
@click.pass_obj
def crawl_now(obj: dict[str, Any], source_names: tuple[str, ...], wait: bool, fmt: str) -> None:
    """Crawl sources once, now, and print a summary per source.

    Exit 0 when the crawl ran (even if some pages failed: see the errors column and
    `newsmon runs --errors`), 2 for bad config, 1 when the database cannot be opened.

    \b
    Example:
      newsmon crawl now --source china-daily-business --format json
    """
    from scheduler.alerts import register
    from scheduler.cli_alerts import load_alerts_of

    with errors_as_exit():
        config, configured = load_alerts_of(obj)
        sources = [config.source(n) for n in source_names] if source_names else list(config.sources)
        if not sources:
            fail(f"no sources configured in {config.seeds_dir}", EXIT_USAGE)
        # An alert is owed the stories found after it was first seen: this crawl's, then.
        if configured:
            register(_repository(obj["db"]), configured)
        records = _crawl(config, sources, obj["db"], obj["log_level"], wait=wait)
    _print_summary(records, fmt, _failures_shown(obj))


def _load_config(obj: dict[str, Any], **overrides: Any) -> Any:
    from scheduler.schedule import load_config

    return load_config(obj["seeds"], overrides=overrides)


def _crawl(config: Any, sources: Sequence[Any], db: str, log_level: str, wait: bool = True) -> list[Any]:
    from scheduler.crawling import crawl_sources

    def busy(source: str, other: str) -> None:
        action = "waiting for it" if wait else "skipping it (--no-wait)"
        click.echo(f"{source}: being crawled by {other}; {action}", err=True)

    repository = _repository(db)  # fails fast (exit 1) before Scrapy starts
    try:
        with _progress_display() as on_progress:
            return crawl_sources(config, sources, repository, wait=wait, on_busy=busy, on_progress=on_progress,
                                 log_level=log_level.upper()).runs
    finally:
        repository.close()


@contextmanager
def _progress_display() -> Iterator[Callable[[list[Any]], None] | None]:
    """Show live per-source counters on a terminal once a crawl reports them; nothing when stderr is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.live import Live

    # Started on the first report, so that lines printed while waiting for a busy source stay readable.
    live = Live(console=Console(stderr=True), transient=True, refresh_per_second=4)

    def update(progress: list[Any]) -> None:
        if not live.is_started:
            live.start()
        live.update("\n".join(
            f"[bold]{p.source}[/]: {p.pages} pages, {p.new} new, {p.matched} matched, "
            f"{p.duplicates} duplicates, {p.skipped} skipped, {p.errors} errors" for p in progress))

    try:
        yield update
    finally:
        live.stop()


def _run_rows(records: Sequence[Any], keys: Sequence[str]) -> list[dict[str, Any]]:
    return [{**{k: getattr(r, k) for k in keys},
             "error_list": [{"url": u, "reason": why} for u, why in r.error_list],
             "skip_list": [{"url": u, "reason": why} for u, why in r.skip_list]} for r in records]


def _failures_shown(obj: dict[str, Any]) -> bool:
    """Whether the crawl's log already showed each failed URL here (crawler.crawl_run: one WARNING each)."""
    return obj["log_file"] is None and obj["log_level"].lower() in ("debug", "info", "warning")


def _print_summary(records: Sequence[Any], fmt: str, failures_shown: bool = False) -> None:
    rows = _run_rows(records, ("id", *SUMMARY_COLUMNS, "started", "finished"))
    if fmt != "table":
        emit(rows, fmt, SUMMARY_COLUMNS)
        return
    emit(rows, fmt, SUMMARY_COLUMNS, title="Crawl summary", headers=RUN_HEADERS)
    # One line per failed URL on stderr: the log's, or else these (--log-level error, --log-file).
    for r in records if not failures_shown else ():
        for url, why in r.error_list[:10]:
            click.echo(f"  {r.source}: {url}: {why}", err=True)
        if len(r.error_list) > 10:
            click.echo(f"  {r.source}: ... and {len(r.error_list) - 10} more (newsmon runs --errors)", err=True)


# -- query -----------------------------------------------------------------------------------------

@main.command()
@click.option("--new", "only_new", is_flag=True, help="Only what this consumer has not been shown yet.")
@click.option("--consumer", default="default", show_default=True, help="Whose cursor --new reads and moves.")
@click.option("--since", metavar="WHEN", help="First seen at or after WHEN: 2h, 3d, 2024-09-21 or an ISO time.")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source (repeatable).")
@click.option("--rule", "rules", multiple=True, metavar="NAME", help="Only articles matching this rule.")
@click.option("--all", "include_all", is_flag=True, help="Everything stored: unmatched and every copy of a story.")
@click.option("--updated", "updated_only", is_flag=True,
              help="Articles whose text changed on a revisit (newest change first; --since applies to it).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N articles.")
@click.option("--order", type=click.Choice(["new", "score"]), default="new", show_default=True,
              help="new: newest first; score: most similar to a like rule's examples first.")
@output_options
@click.pass_obj
def query(obj: dict[str, Any], only_new: bool, consumer: str, since: str | None, sources: tuple[str, ...],
          rules: tuple[str, ...], include_all: bool, updated_only: bool, limit: int | None, order: str,
          fmt: str) -> None:
    """List stored articles: matched ones, one row per story (its first copy), newest first.

    The other outlets' copies of a story are listed in `also_at`; --all lists every copy.
    With --new, list what was first seen since this consumer's last --new; the
    consumer's cursor moves only after the output was written.

    \b
    Example:
      newsmon query --new --consumer slack --format jsonl
    """
    from scheduler.news import find_articles
    from store.records import ArticleFilter

    since_at = _parse_when(since) if since else None
    flt = ArticleFilter(sources=sources, rules=rules, since=since_at, include_all=include_all, limit=limit,
                        updated_only=updated_only, order=order)
    with errors_as_exit():
        repository = _repository(obj["db"], create=False)
        _known_names(obj, repository, sources, rules)
        if only_new and repository.read_only:
            # Refused before anything is listed: a list whose cursor cannot move would come again.
            raise click.ClickException(f"query --new moves consumer {consumer}'s cursor, and this database is "
                                       "read-only to you: run it as the database's owner, or list by time "
                                       "with --since")
        delivery = find_articles(repository, flt, consumer if only_new else None)
        records = [article_record(a) for a in delivery.articles]
        if records or fmt != "table":
            _emit_articles(records, fmt)
        else:
            click.echo(_nothing_found(repository, flt, consumer if only_new else None), err=True)
        delivery.ack()


def _emit_articles(records: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "table":
        emit_stories([_story(r, ", ".join(r["rules"]), _copies(len(r["also_at"]))) for r in records])
    else:
        emit(records, fmt, ARTICLE_KEYS)


def _story(record: dict[str, Any], *facts: str) -> Story:
    """An article record as a list shows it: source and date (published, else first seen), then `facts`."""
    when = record["published"] or record["first_seen"]
    return Story(record["id"], record["title"] or "", (record["source"], when.date().isoformat(), *facts),
                 record["url"])


def _copies(n: int) -> str:
    return f"{n} more {'copy' if n == 1 else 'copies'}" if n else ""


def _nothing_found(repository: Any, flt: Any, consumer: str | None) -> str:
    """Say why a list of articles is empty (on stderr: stdout stays empty for a pipe)."""
    if consumer is not None and (moved := repository.consumers.moved(consumer)) is not None:
        return f"Nothing new since {moved:%Y-%m-%d %H:%M} UTC (consumer {consumer}'s last query --new)."
    if flt.sources or flt.rules or flt.since or flt.updated_only:
        return "No articles match these options."
    if (stored := repository.articles.count()) == 0:
        return "No articles stored yet: run `newsmon crawl now` (then `newsmon runs --errors`)."
    if flt.include_all:
        return "No articles match."
    return (f"None of the {stored:,} stored articles matches a rule yet: `newsmon search` finds what the "
            "rules missed.")


def _known_names(obj: dict[str, Any], repository: Any, sources: Sequence[str], rules: Sequence[str] = ()) -> None:
    """Refuse a --source or --rule that neither the seeds nor the database know: a typo lists nothing."""
    if not sources and not rules:
        return
    config = _load_config(obj)
    for kind, names, seeded, stored in (
            ("source", sources, {s.name for s in config.sources}, repository.names.sources),
            ("rule", rules, {r.name for r in config.rules}, repository.names.rules)):
        unknown = [n for n in names if n not in seeded]
        in_db = stored(unknown) if unknown else set()
        missing = [n for n in unknown if n not in in_db]
        if missing:
            fail(f"no {kind} named {missing[0]!r} in {config.seeds_dir} or the database "
                 f"({kind}s: {', '.join(sorted(seeded)) or 'none'})", EXIT_USAGE)


def _parse_when(text: str) -> datetime:
    from crawler.config import parse_duration

    if re.match(r"^\s*\d+\s*[dhms]", text):
        try:
            return datetime.now(UTC) - timedelta(seconds=parse_duration(text))
        except ValueError as exc:
            fail(f"--since: {exc}", EXIT_USAGE)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--since: {text!r} is neither a duration (2h, 3d) nor a date (2024-09-21)", EXIT_USAGE)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _repository(db: str, create: bool = True) -> Any:
    """Open the database; `create=False` for commands that only read (see Repository.open)."""
    from store.repository import Repository

    return Repository.open(db, create=create)


# -- runs ------------------------------------------------------------------------------------------

@main.command()
@click.option("--source", help="Only runs of this source.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--errors", "with_errors", is_flag=True, help="List each failed URL and why.")
@click.option("--skipped", "with_skips", is_flag=True,
              help="List each page fetched and not stored (not an article, too short, known, ...) and why.")
@output_options
@click.pass_obj
def runs(obj: dict[str, Any], source: str | None, limit: int, with_errors: bool, with_skips: bool, fmt: str) -> None:
    """List recent crawl runs, newest first, with their figures.

    A skipped page is not an error: it was fetched (or, past the article limit, found) and is no
    article to store (not an article, too short, known, robots.txt, ...). Every run counts its skipped
    pages; the reasons are kept for each source's recent runs.

    \b
    Example:
      newsmon runs --skipped --source xinhua-english --limit 5
    """
    with errors_as_exit():
        repository = _repository(obj["db"], create=False)
        _known_names(obj, repository, (source,) if source else ())
        records = repository.runs.recent(source=source, limit=limit, with_errors=with_errors or fmt != "table",
                                         with_skips=with_skips or fmt != "table")
    if not records and fmt == "table":
        click.echo("No runs yet: `newsmon crawl now` makes one.", err=True)
        return
    emit(_run_rows(records, ("id", "started", "finished", *SUMMARY_COLUMNS)), fmt, ("id", "started", *SUMMARY_COLUMNS),
         headers=RUN_HEADERS)
    if fmt != "table":
        return
    for r in records:
        # The URL on a line of its own, whole: a terminal makes it a link only when it is one piece.
        for url, why in r.error_list if with_errors else ():
            click.echo(_wrapped(f"run {r.id} {r.source}: {why}") + f"\n    {url}")
        for url, why in r.skip_list if with_skips else ():
            click.echo(_wrapped(f"run {r.id} {r.source}: skipped, {why}") + f"\n    {url}")
        if with_skips and r.skipped > len(r.skip_list):
            click.echo(f"run {r.id} {r.source}: {r.skipped - len(r.skip_list)} more skipped, reasons not kept")


def _wrapped(line: str) -> str:
    import textwrap

    from scheduler.output import width

    return textwrap.fill(line, width=width(), subsequent_indent="    ")


# -- boilerplate -----------------------------------------------------------------------------------

@main.command()
@click.option("--source", help="Only this source's blocks.")
@click.option("--min-pages", type=click.IntRange(min=1), default=3, show_default=True,
              help="Only blocks seen on at least this many articles (3 = the ones being removed).")
@output_options
@click.pass_obj
def boilerplate(obj: dict[str, Any], source: str | None, min_pages: int, fmt: str) -> None:
    """Show the paragraphs learned as a source's boilerplate, and on how many articles each was seen.

    A paragraph repeated word for word on 3 or more articles of one source (a related-story
    teaser, a newsletter plea) is removed from that source's later articles and cleaned out of
    the earlier stored ones (their rules run again); each removal is logged at info level.

    \b
    Example:
      newsmon boilerplate --source china-daily-business --format json
    """
    with errors_as_exit():
        rows = _repository(obj["db"], create=False).boilerplate.blocks(source, min_pages)
    emit(rows, fmt, ("source", "pages", "sample", "first_seen", "last_seen"), widths={"sample": 80})


# -- demo ------------------------------------------------------------------------------------------

@main.command()
@click.option("--dir", "workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Put the demo's seeds and database here. [default: a new temporary folder]")
@output_options
@click.pass_obj
def demo(obj: dict[str, Any], workdir: Path | None, fmt: str) -> None:
    """Serve a sample news site on 127.0.0.1, crawl it into a fresh database, show what matched.

    No internet needed: the site is built from real articles about manufacturing going
    green and digital, with the navigation, teasers and comments real pages carry. The
    database is kept, and the last lines say how to read it in a browser (`newsmon serve`).

    \b
    Example:
      newsmon demo --dir ./demo && newsmon --db sqlite:///demo/newsmon.db --seeds demo/seeds serve
    """
    import shlex
    import tempfile

    from scheduler.demo import run_demo

    def serving(site_url: str, db_url: str) -> None:
        click.echo(f"Serving the sample site at {site_url}; crawling into {db_url}\n"
                   "(one of its pages always answers 500, to show how failures are recorded)", err=True)

    folder = workdir or Path(tempfile.mkdtemp(prefix="newsmon-demo-"))
    with errors_as_exit():
        result = run_demo(folder, obj["log_level"].upper(), on_serving=serving)
        if fmt == "table":
            _print_summary(result.runs, fmt, _failures_shown(obj))
            click.echo()
        _emit_articles([article_record(a) for a in result.articles], fmt)
    # The sample source and its seeds live in the demo's folder: `query --source`, `status` and
    # `serve` read source names from --seeds, so the commands name it too.
    here = f"newsmon --db {shlex.quote(result.db_url)} --seeds {shlex.quote(str(result.seeds))}"
    click.echo(f"\nSee the results in your browser:\n  {here} serve\n"
               "then open http://127.0.0.1:8765/ (Ctrl-C stops it). Or on the command line:\n"
               f"  {here} query", err=True)


# -- daemon ----------------------------------------------------------------------------------------

@main.command()
@click.option("--max-parallel", type=click.IntRange(min=1), default=2, show_default=True,
              help="Crawls running at once, each in its own process.")
@click.option("--batch-size", type=click.IntRange(min=1), default=BATCH_SIZE, show_default=True,
              help="Due sources one crawl process takes at once. CPU per quiet source's check by batch "
                   "size (bench/capacity.py, 2 cores): 1: 1.6 s, 10: 181 ms, 50: 53 ms, 200: 30 ms.")
@click.option("--child-batches", type=click.IntRange(min=1), default=CHILD_BATCHES, show_default=True,
              help="Batches one crawl process serves before a fresh one replaces it (1: a process per "
                   "batch, each paying its ~1.5 s start-up). An idle one exits after a minute.")
@click.option("--time-limit", default="1h", show_default=True, metavar="DURATION",
              help="A source whose crawl runs longer is stopped and ends timed_out; the others in its "
                   "process go on.")
@click.option("--grace", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds running crawls get to finish after SIGTERM/SIGINT.")
@click.option("--check-every", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds between checks of seeds/ for edits (SIGHUP reloads at once).")
@click.option("--jitter", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Up to this many seconds of random delay per run (at most a tenth of the interval).")
@click.option("--alerts-every", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds between alert delivery passes (one follows each crawl that matched, too).")
@click.option("--queue", envvar="NEWSMON_QUEUE", metavar="URL",
              help="Only schedule: send the crawls to `newsmon worker`s through this broker (redis:// or "
                   "amqp://; needs PostgreSQL). A second daemon with --queue stands by. Env: NEWSMON_QUEUE.")
@click.pass_context
def daemon(ctx: click.Context, max_parallel: int, batch_size: int, child_batches: int, time_limit: str,
           grace: float, check_every: float, jitter: float, alerts_every: float, queue: str | None) -> None:
    """Crawl every source on its own schedule until stopped.

    Sources run on their `every` or `cron` from seeds/ (default: the `every` setting). Edits to
    seeds/ are picked up without a restart; a broken edit keeps the last good config. SIGTERM or
    SIGINT lets running crawls finish within --grace, then stops them; exit 0.

    \b
    Example:
      newsmon --db sqlite:////var/lib/newsmon/newsmon.db --log-file /var/log/newsmon.log daemon
    """
    from crawler.config import parse_duration
    from scheduler.cli_scale import check_queue_mode, queue_launcher, standby_notice
    from scheduler.daemon import Daemon, DaemonOptions
    from scheduler.jobs import Launcher, LogOptions
    from scheduler.leftovers import sweep
    from scheduler.queue import shown
    from store.db import redact

    obj = ctx.obj
    try:
        limit = float(parse_duration(time_limit))
    except ValueError as exc:
        fail(f"--time-limit: {exc}", EXIT_USAGE)
    with errors_as_exit():
        config = _load_config(obj)
        if queue:
            check_queue_mode(obj["db"], queue)
        repository = _repository(obj["db"])
        log_options = LogOptions(obj["log_level"], obj["log_format"], obj["log_file"])
        launcher = (queue_launcher(repository, obj["db"], queue, limit) if queue
                    else Launcher(repository, obj["db"], log_options, time_limit=limit, child_batches=child_batches))
        options = DaemonOptions(max_parallel=max_parallel, batch_size=batch_size, time_limit=limit, grace=grace,
                                check_seconds=check_every, jitter=jitter, alerts_every=alerts_every,
                                exclusive=bool(queue))

        def started(running: Any) -> None:
            # On stderr even when logs go to a file: whoever started it sees that it runs, and where.
            logs = f"; logs to {obj['log_file']}" if obj["log_file"] else ""
            n = len(running.sources)
            where = f"jobs to the workers at {shown(queue)}" if queue else "crawls"
            click.echo(f"newsmon daemon running: {n} source{'s' if n != 1 else ''} from {running.seeds_dir}, "
                       f"up to {max_parallel} {where} at once, into {redact(obj['db'])}{logs}. Ctrl-C stops it.",
                       err=True)

        sweep()  # what daemons and crawls killed before left in the temporary folder
        code = Daemon(config.seeds_dir, repository, launcher, options).run(
            on_started=started, on_standby=standby_notice if queue else None)
    sys.exit(code)


# -- rules -----------------------------------------------------------------------------------------

@main.group()
def rules() -> None:
    """Check and apply rules: why an article (did not) match, and rules applied to stored articles.

    \b
    Example:
      newsmon rules test https://example.com/news/some-story.html
      newsmon rules test --article 42 --rule manufacturing-by-example
      newsmon rules apply --rule green-manufacturing --since 30d
    """


@rules.command("test")
@click.argument("target", required=False, metavar="[URL | FILE]")
@click.option("--article", "article_id", type=int, metavar="ID", help="A stored article (its id in `query`).")
@click.option("--rule", "rule_names", multiple=True, metavar="NAME", help="Only this rule (repeatable).")
@click.option("--no-fetch", is_flag=True, help="With --article: do not fetch its page again to show what "
              "extraction removes.")
@output_options
@click.pass_obj
def rules_test(obj: dict[str, Any], target: str | None, article_id: int | None, rule_names: tuple[str, ...],
               no_fetch: bool, fmt: str) -> None:
    """Show, for each rule, whether an article matches it and why.

    TARGET is a URL (the stored article reached by it, else the page fetched
    now) or a file (HTML is extracted as a crawl would; other files are the
    article's text, title on the first line). For each rule: matched or not,
    the query terms that hit, the similarity score of a `like` rule with its
    nearest example and threshold; then what extraction removed from the page.

    \b
    Example:
      newsmon rules test saved-page.html
      newsmon rules test --article 42 --format json
    """
    from scheduler.explain import SubjectError, as_record, explain, from_article, from_file, from_url

    if (target is None) == (article_id is None):
        fail("give a URL or FILE, or --article ID (one of them)", EXIT_USAGE)
    with errors_as_exit():
        config = _load_config(obj)
        _known_rules(config, rule_names)
        repository = _repository(obj["db"])
        config = _with_stored_examples(config, repository)
        try:
            if article_id is not None:
                subject = from_article(repository, article_id, config, fetch=not no_fetch)
            elif target is not None and re.match(r"^https?://", target):
                subject = from_url(repository, target, config)
            else:
                subject = from_file(Path(target or ""), config)
        except SubjectError as exc:
            fail(str(exc))
        record = as_record(explain(subject, config.rules, rule_names))
    if fmt != "table":
        emit([record], fmt, ())
        return
    _print_explanation(record)


def _print_explanation(r: dict[str, Any]) -> None:
    click.echo(f"{r['subject']}\n  title: {r['title'] or '(none)'}\n  language: {r['language'] or '?'}, "
               f"{r['words']} words")
    for v in r["rules"]:
        mark = click.style("MATCH", fg="green", bold=True) if v["matched"] else click.style("no", fg="red")
        click.echo(f"\n{mark}  {v['rule']}")
        if not v["applies"]:
            click.echo(f"  not for articles in {r['language']!r} (its languages setting)")
            continue
        if v["query"] is not None and v["query_matched"]:
            click.echo(f"  query holds; terms that hit: {', '.join(v['terms'])}")
        elif v["query"] is not None:
            present = ", ".join(v["terms_present"]) or "none"
            click.echo(f"  query does not hold; its terms in the article: {present}")
        if v["score"] is not None:
            near = "at or above" if v["score"] >= v["threshold"] else "below"
            click.echo(f"  similarity {v['score']:.3f}, {near} the threshold {v['threshold']}; "
                       f"nearest example: {v['nearest']}")
            if v["unlike_score"] is not None:
                nearer = v["unlike_score"] >= v["score"]
                click.echo(f"  nearest unlike example: {v['nearest_unlike']} ({v['unlike_score']:.3f})"
                           f"{': nearer, so no match' if nearer else ''}")
    if r["removed"]:
        click.echo("\nremoved by extraction (page furniture: navigation, sidebars, footers):")
        for block in r["removed"]:
            line = f"  - {block['why']}: {block['text']}"
            click.echo(line if len(line) <= 79 else line[:76] + "...")
    elif r["note"] is None:
        click.echo("\nremoved by extraction: nothing beyond what trafilatura leaves out")
    if r["note"]:
        click.echo(f"\n{r['note']}")


@rules.command("apply")
@click.option("--rule", "rule_names", multiple=True, metavar="NAME",
              help="Only this rule (repeatable); a name no longer in rules.toml drops its matches.")
@click.option("--since", metavar="WHEN", help="Only articles first seen at or after WHEN: 30d, 2024-09-21 ...")
@output_options
@click.pass_obj
def rules_apply(obj: dict[str, Any], rule_names: tuple[str, ...], since: str | None, fmt: str) -> None:
    """Apply the current rules to articles already stored.

    A story a fixed rule now matches is listed again: `query --new` shows it
    once. A story that matches no rule any more stops being listed as matched.
    Without --rule, matches of rules no longer in rules.toml are dropped too.

    \b
    Example:
      newsmon rules apply --rule manufacturing-by-example --since 90d
    """
    from scheduler.reapply import apply_rules

    since_at = _parse_when(since) if since else None
    with errors_as_exit():
        config = _load_config(obj)
        repository = _repository(obj["db"])
        config = _with_stored_examples(config, repository)
        with _status_line() as show:
            report = apply_rules(repository, config.rules, rule_names, since_at,
                                 on_progress=(lambda r: show(f"{r.examined} articles examined, {r.newly_matched} "
                                                             f"newly matched, {r.unmatched} no longer matched"))
                                 if show else None)
    row = asdict(report)
    if fmt != "table":
        emit([row], fmt, ())
        return
    click.echo(f"{report.examined} articles examined with {', '.join(report.rules) or 'no rules'}: "
               f"{report.newly_matched} newly matched (listed again for query --new), "
               f"{report.unmatched} no longer matched, {report.changed} changed in all")


def _known_rules(config: Any, names: Sequence[str]) -> None:
    known = {r.name for r in config.rules}
    for name in names:
        if name not in known:
            fail(f"no rule named {name!r} (rules: {', '.join(sorted(known))})", EXIT_USAGE)


def _with_stored_examples(config: Any, repository: Any) -> Any:
    from crawler.run import with_stored_examples

    return with_stored_examples(config, repository)


@contextmanager
def _status_line() -> Iterator[Callable[[str], None] | None]:
    """A one-line live status on a terminal; None when stderr is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status("starting") as status:
        yield lambda text: status.update(text)


def _search_like(obj: dict[str, Any], query_text: str | None, like_id: int, flt: Any, fmt: str) -> None:
    from dataclasses import replace

    from scheduler.search import SearchQueryError, prepare, search_articles
    from scheduler.similar import NoSuchArticle, rank_like

    with errors_as_exit():
        repository = _repository(obj["db"], create=False)
        _known_names(obj, repository, flt.sources, flt.rules)
        candidates = None
        if query_text is not None:
            try:
                prepared = prepare(query_text)
            except SearchQueryError as exc:
                fail(str(exc), EXIT_USAGE)
            # The query's best thousand, ranked again by similarity.
            candidates = [f.article for f in search_articles(repository, prepared, replace(flt, limit=1000)).found]
        try:
            found = rank_like(repository, like_id, candidates, flt)
        except NoSuchArticle as exc:
            fail(str(exc))
    records = [{**article_record(f.article), "similarity": f.similarity} for f in found]
    if fmt != "table":
        emit(records, fmt, (*ARTICLE_KEYS, "similarity"))
    elif not records:
        click.echo(f"No article to rank by similarity to article {like_id}.", err=True)
    else:
        emit_stories([_story(r, f"similarity {r['similarity']:.3f}", ", ".join(r["rules"]))
                      for r in records])


# -- status ----------------------------------------------------------------------------------------

STATUS_COLUMNS = ("source", "last_run", "outcome", "new", "matched", "errors", "next_run", "running",
                  "failures", "schedule", "last_new", "silent")


@main.command()
@click.argument("query_text", metavar="[QUERY]", required=False)
@click.option("--like", "like_id", type=int, metavar="ID",
              help="Rank by similarity to stored article ID (what a like rule with it as example would catch).")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source (repeatable).")
@click.option("--rule", "rules", multiple=True, metavar="NAME", help="Only articles matching this rule.")
@click.option("--since", metavar="WHEN", help="First seen at or after WHEN: 2h, 3d, 2024-09-21 or an ISO time.")
@click.option("--all", "include_all", is_flag=True, help="Every copy of a story, not only its first.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N articles.")
@output_options
@click.pass_obj
def search(obj: dict[str, Any], query_text: str | None, like_id: int | None, sources: tuple[str, ...],
           rules: tuple[str, ...], since: str | None, include_all: bool, limit: int, fmt: str) -> None:
    """Find stored articles by a query in the rules' language, best match first.

    Every stored story is searched, matched by a rule or not: the place to find what the
    rules missed. The query reads as in seeds/rules.toml (AND, OR, NOT, "phrases",
    wildcard*); when more articles match than are ranked, the newest are (stderr says so).
    With --like ID, what the query finds (or, without a query, the newest 3,000
    stories) is ranked by similarity to article ID instead: key `similarity`.

    \b
    Example:
      newsmon search '"green steel" AND hydrogen NOT coal' --since 30d --format json
    """
    from scheduler.search import SearchQueryError, prepare, search_articles
    from store.records import ArticleFilter

    if query_text is None and like_id is None:
        fail("give a QUERY, --like ID, or both", EXIT_USAGE)
    flt = ArticleFilter(sources=sources, rules=rules, since=_parse_when(since) if since else None,
                        include_all=include_all, limit=limit)
    if like_id is not None:
        _search_like(obj, query_text, like_id, flt, fmt)
        return
    try:
        prepared = prepare(query_text or "")
    except SearchQueryError as exc:
        fail(str(exc), EXIT_USAGE)
    with errors_as_exit():
        repository = _repository(obj["db"], create=False)
        _known_names(obj, repository, sources, rules)
        result = search_articles(repository, prepared, flt)
    records = [{**article_record(f.article), "rank": f.rank} for f in result.found]
    if fmt != "table":
        emit(records, fmt, (*ARTICLE_KEYS, "rank"))
    elif not records:
        options = " with these options" if sources or rules or since else ""
        click.echo(f"No stored article matches {query_text!r}{options}.", err=True)
    else:
        emit_stories([_story(r, ", ".join(r["rules"])) for r in records])
    if result.more:
        click.echo(f"{result.ranked:,} or more articles match: the newest {result.ranked:,} were ranked "
                   "(narrow it with --since, --source or another term).", err=True)


@main.command()
@output_options
@click.pass_obj
def status(obj: dict[str, Any], fmt: str) -> None:
    """Show each source: last run, next scheduled run, who is crawling it now, failures, when it
    last yielded a new article (a silent source is named on stderr too); and each alert target:
    stories waiting, sent, failures (a failing one is named on stderr too).

    \b
    Example:
      newsmon status --format json
    """
    from scheduler.cli_alerts import alert_rows, load_alerts_of
    from scheduler.schedule import silent_after
    from scheduler.standby import SCHEDULER_LEASE
    from store.status import source_status

    with errors_as_exit():
        config, configured = load_alerts_of(obj)
        repository = _repository(obj["db"], create=False)
        rows = source_status(repository, [s.name for s in config.sources], silent_after=silent_after(config))
        targets = alert_rows(configured, repository.alerts.states()) if configured else []
        lead = repository.leases.all().get(SCHEDULER_LEASE)
    if fmt != "table":
        emit([asdict(r) for r in rows], fmt, STATUS_COLUMNS)
    else:
        # Eight short columns fit 80: the state in one word, times as ages; JSON has every field.
        now = datetime.now(UTC)
        emit([{"source": r.source, "last": _age(r.last_run, now), "state": _state(r), "new": r.new,
               "matched": r.matched, "errors": r.errors, "failures": r.failures,
               "next": _age(r.next_run, now)} for r in rows], fmt,
             ("source", "last", "state", "new", "matched", "errors", "failures", "next"),
             headers={"matched": "match", "errors": "err", "failures": "fails", "last": "last run",
                      "next": "next run"})
    if lead is not None and fmt == "table":
        # Queue mode: which daemon schedules, and whether it is alive (a standby takes over at expiry).
        now = datetime.now(UTC)
        alive = f"heartbeat {_age(lead.heartbeat, now)}" if lead.expires > now else \
            f"lease expired {_age(lead.expires, now)}: no scheduler is running"
        click.echo(f"\nScheduler (queue mode): {lead.holder}, {alive}")
    if targets and fmt == "table":
        # Two lines a target, its URL whole (a folded URL cannot be read or copied).
        click.echo("\nAlerts")
        for t in targets:
            health = f"failing ({t['failures']} in a row)" if t["failures"] else "ok"
            click.echo(f"  {t['alert']}: {t['mode']} · {t['waiting']} waiting · {t['sent']} sent · {health}"
                       + (f" · {t['gave_up']} given up" if t["gave_up"] else "") + f"\n    {t['target']}")
    for r in rows:
        if r.silent and r.last_new is not None:
            click.echo(f"source {r.source} is silent: crawled, but no new article since "
                       f"{r.last_new:%Y-%m-%d %H:%M} UTC (see newsmon runs --source {r.source} --errors)", err=True)
    for t in targets:
        if t["failures"] or t["gave_up"]:
            click.echo(f"alert {t['alert']}: {t['target']} is failing ({t['failures']} sends in a row, "
                       f"{t['gave_up']} messages given up): {t['last_error']}", err=True)


def _age(when: datetime | None, now: datetime) -> str:
    """"5m ago", "in 2h", "3d ago": an 80-column table's time."""
    if when is None:
        return ""
    seconds = int((now - when).total_seconds())
    ahead, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            amount = f"{seconds // size}{unit}"
            break
    else:
        amount = f"{seconds}s"
    return f"in {amount}" if ahead else f"{amount} ago"


def _state(row: Any) -> str:
    """A source's state in a word or two: crawling, ok, failed, silent, never crawled."""
    if row.running:
        return "crawling"
    if row.outcome is None:
        return "never crawled"
    return f"{row.outcome.value}, silent" if row.silent else str(row.outcome.value)


# The delivery and sources commands live beside this module; importing them registers them on `main`.
from scheduler import cli_alerts, cli_scale, cli_sources, cli_web  # noqa: E402, F401
