"""`newsmon sources`: list and validate the seeds' sources, propose a new one from a site's pages
(`sources add`), and dry-run one (`sources check`).

Registered on scheduler.cli's `main` by its import at the bottom of that module; one of the modules
that print. The work is elsewhere: crawler.probe_run and crawler.site_probe (what a site offers),
scheduler.source_block (the block and its safe addition to sources.toml), crawler.dry_run (a crawl
into a scratch database).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from scheduler.cli import EXIT_RUNTIME, EXIT_USAGE, _load_config, _status_line, errors_as_exit, fail, main
from scheduler.output import emit, output_options

_URL = re.compile(r"^https?://[^\s/?#]+")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# Lines of the dry run's listing are cut here: it reads on an 80-column terminal.
_WIDTH = 79
# The query terms shown for a rule an article matches (all of them are in --format json).
_TERMS = 6
_HEADINGS = {
    "new": "Would be stored ({n} new)", "copy": "Would be stored as a copy of a story found here ({n})",
    "known": "Already stored in the database, not fetched ({n})", "skipped": "Skipped ({n})",
    "not fetched": "Not fetched in this dry run ({n}; a real crawl fetches them)", "failed": "Failed ({n})",
    "read": "Feeds, sitemaps and listing pages read ({n})",
}


@main.group(invoke_without_command=True)
@output_options
@click.pass_context
def sources(ctx: click.Context, fmt: str) -> None:
    """The sources in seeds/: list and validate them, add one from a site, dry-run one.

    Without a subcommand, lists them (as `sources list`).

    \b
    Example:
      newsmon --seeds ./my-seeds sources
      newsmon sources add https://www.example.com/business/ --write
      newsmon sources check example-business
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(sources_list, fmt=fmt)


@sources.command("list")
@output_options
@click.pass_obj
def sources_list(obj: dict[str, Any], fmt: str) -> None:
    """Validate seeds (alerts.toml too) and list the configured sources and the rules each applies.

    \b
    Example:
      newsmon --seeds ./my-seeds sources list --format json
    """
    from scheduler.cli_alerts import load_alerts_of
    from scheduler.schedule import plan

    with errors_as_exit():
        config, _alerts = load_alerts_of(obj)  # alerts.toml is checked too
    rows = [{"name": s.name, "feeds": list(s.feeds), "sitemaps": list(s.sitemaps),
             "start_urls": list(s.start_urls), "follow": s.follow,
             "rules": list(s.rules) if s.rules is not None else [r.name for r in config.rules],
             "every": plan(s).every, "cron": plan(s).cron} for s in config.sources]
    emit(rows, fmt, ("name", "feeds", "sitemaps", "start_urls", "rules"), title=f"Sources in {config.seeds_dir}")


@sources.command("add")
@click.argument("url")
@click.option("--name", help="The source's name. [default: from the host and the URL's first path word]")
@click.option("--write", is_flag=True, help="Append the block to the seeds' sources.toml (checked first).")
@click.option("--every", default="30m", show_default=True, metavar="DURATION", help="How often the daemon crawls it.")
@output_options
@click.pass_obj
def sources_add(obj: dict[str, Any], url: str, name: str | None, write: bool, every: str, fmt: str) -> None:
    """Find a site's feeds, sitemaps and section pages from URL, and propose a source.

    Fetches URL (a home or section page), its robots.txt, the feeds it declares
    (else the common feed paths), the sitemaps robots.txt names (else the common
    ones), and the section pages it links to, through Scrapy with the crawl's
    settings (robots.txt obeyed). Prints a [[source]] block with an allow pattern
    learned from the article URLs found, commented with what was found where;
    --write appends it to sources.toml (refused for a name, feed or site a source
    already has). Exit 1 when URL cannot be fetched or nothing was found.

    \b
    Example:
      newsmon sources add https://example.com/business/ --write
    """
    from crawler.probe_run import probe_site
    from crawler.site_probe import source_name
    from scheduler.schedule import parse_schedule
    from scheduler.source_block import SeedsChanged, append_block, conflict, render_block

    if not _URL.match(url):
        fail(f"{url!r} is not an http(s) URL", EXIT_USAGE)
    if name is not None and not _NAME.match(name):
        fail(f"--name {name!r}: use letters, digits, '.', '_' or '-'", EXIT_USAGE)
    try:
        parse_schedule({"every": every})
    except ValueError as exc:
        fail(f"--{exc}", EXIT_USAGE)
    chosen = name or source_name(url)
    with errors_as_exit():
        config = _load_config(obj)
    clash = conflict(config, chosen, url)
    if clash and write:
        fail(clash, EXIT_USAGE)
    with _status_line() as show:
        proposal = probe_site(url, config.settings, chosen, obj["log_level"],
                              on_progress=(lambda n, at: show(f"{n} fetched, last {at}"[:_WIDTH - 4]))
                              if show else None)
    if proposal.error is not None:
        fail(f"{url}: {proposal.error}", EXIT_RUNTIME)
    block = render_block(proposal, every, url)
    record = {**asdict(proposal), "every": every, "block": block, "written": None}
    if not proposal.found_anything:
        if fmt != "table":
            emit([record], fmt, ())
        click.echo(f"Tried {len(proposal.tried)} URLs:", err=True)
        for t in proposal.tried:
            click.echo(f"  {t.url} ({t.how}): {t.result}", err=True)
        fail(f"no feed, sitemap or section page found from {url}", EXIT_RUNTIME)
    if write:
        clash = conflict(config, chosen, url, proposal)
        if clash:
            fail(clash, EXIT_USAGE)
        assert config.seeds_dir is not None  # load_config always sets it
        with errors_as_exit():
            try:
                record["written"] = str(append_block(config.seeds_dir, block))
            except SeedsChanged as exc:
                fail(str(exc), EXIT_RUNTIME)
            except OSError as exc:
                fail(f"cannot write {config.seeds_dir}: {exc.strerror or exc}", EXIT_RUNTIME)
    if fmt != "table":
        emit([record], fmt, ())
    else:
        click.echo(block, nl=False)
    if clash and not write:
        click.echo(f"Note: {clash}", err=True)
    if record["written"]:
        click.echo(f"Added source {chosen!r} to {record['written']}. Try it: newsmon sources check {chosen}", err=True)
    else:
        click.echo(f"Paste it into {Path(config.seeds_dir or '.') / 'sources.toml'}, or run again with --write.",
                   err=True)


@sources.command("check")
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True,
              help="At most N article pages fetched; the others found are listed, not fetched.")
@output_options
@click.pass_obj
def sources_check(obj: dict[str, Any], name: str, limit: int, fmt: str) -> None:
    """Dry-run source NAME: what a crawl would store, skip and fail, and which rules match.

    Fetches the source's feeds, sitemaps and listing pages and its new articles as a
    crawl does (robots.txt, politeness, the same analysis and rules), into a scratch
    database thrown away afterwards: the --db database is only read, to tell the
    articles already stored (not fetched, as in a real crawl).

    \b
    Example:
      newsmon sources check china-daily-business --limit 10
    """
    from crawler.dry_run import dry_run

    with errors_as_exit():
        config = _load_config(obj)
        source = config.source(name)
        real = _read_only(obj["db"])
        try:
            with _status_line() as show:
                report = dry_run(config, source, real, limit, obj["log_level"].upper(),
                                 on_progress=(lambda c: show(
                                     f"{name}: {c['fetched']} fetched, {c['known']} already stored, "
                                     f"{c['skipped']} skipped, {c['failed']} failed")) if show else None)
        finally:
            if real is not None:
                real.close()
    rows = [asdict(p) for p in report.pages]
    if fmt == "csv":  # one cell each
        rows = [{**r, "scores": "; ".join(f"{k}: {v:.3f}" for k, v in r["scores"].items())} for r in rows]
    if fmt != "table":
        emit(rows, fmt, ("url", "kind", "outcome", "reason", "found_on", "title", "rules", "scores", "links"))
        return
    _print_check(report, obj["db"])


def _read_only(db: str) -> Any:
    """The user's database, opened as a reader (never created here); None when there is none yet."""
    from store.errors import NoDatabase
    from store.repository import Repository

    try:
        return Repository.open(db, create=False)
    except NoDatabase:
        return None


def _print_check(report: Any, db: str) -> None:
    where = "the database" if report.looked_up else "the database (there is none yet: every article is new)"
    click.echo(textwrap.fill(f"{report.source}: a dry run. Nothing was stored in {where}.", _WIDTH))
    for outcome, heading in _HEADINGS.items():
        pages = [p for p in report.pages if p.outcome == outcome]
        if not pages:
            continue
        click.echo("\n" + heading.format(n=len(pages)) + ":")
        for p in pages:
            click.echo(f"  {p.url}")
            for line in _details(p):
                click.echo(textwrap.fill(line, _WIDTH, initial_indent="    ", subsequent_indent="      "))
    new = report.count("new")
    matched = sum(1 for p in report.pages if p.outcome == "new" and p.rules)
    click.echo("\n" + textwrap.fill(
        f"{new} new ({matched} matching a rule), {_n(report.count('copy'), 'copy')}, "
        f"{report.count('known')} already stored, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed, {report.count('not fetched')} not fetched.", _WIDTH))


def _details(p: Any) -> list[str]:
    if p.outcome == "read":
        return [f"{p.kind}: {_n(p.links, 'article page')} asked for"]
    lines = []
    if p.title:
        lines.append(p.title if len(p.title) <= _WIDTH - 4 else p.title[: _WIDTH - 7] + "...")
    if p.reason and p.outcome != "known":
        lines.append(p.reason)
    if p.outcome in ("new", "copy"):
        if not p.rules:
            lines.append("matches no rule")
        for rule, terms in p.rules.items():
            score = f" (similarity {p.scores[rule]:.3f})" if rule in p.scores else ""
            shown = ", ".join(terms[:_TERMS]) + (f" and {len(terms) - _TERMS} more" if len(terms) > _TERMS else "")
            lines.append(f"matches {rule}{score}" + (f": {shown}" if terms else ""))
    return lines


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {noun if count == 1 else plural}"
