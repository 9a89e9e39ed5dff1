"""`newsmon alerts`: the configured alerts and their delivery state, a test message, one delivery pass.

Registered on scheduler.cli's `main` by its import at the bottom of that module; the one other
module that prints. URLs are shown only as Apprise's privacy form (passwords and tokens masked).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click

from scheduler.cli import EXIT_RUNTIME, EXIT_USAGE, _load_config, _repository, errors_as_exit, fail, main
from scheduler.output import emit, output_options

ALERT_COLUMNS = ("alert", "target", "mode", "rules", "waiting", "sent", "gave_up", "failures", "last_error",
                 "last_sent", "retry_at", "next_digest")


def load_alerts_of(obj: dict[str, Any]) -> tuple[Any, Any]:
    """The seeds config and its alerts (alerts.toml beside sources.toml); ConfigError on a mistake."""
    from scheduler.alert_config import load_alerts

    config = _load_config(obj)
    return config, load_alerts(config.seeds_dir, {r.name for r in config.rules})


def alert_rows(alerts: Any, states: Any) -> list[dict[str, Any]]:
    """One row per target: its alert's settings and its delivery state (zeros before its first pass)."""
    known = {(s.alert, s.target): s for s in states}
    rows = []
    for alert in alerts:
        for target in alert.targets:
            state = known.get((alert.name, target.key))
            figures = asdict(state) if state else {"waiting": 0, "sent": 0, "gave_up": 0, "failures": 0}
            rows.append({**{k: None for k in ALERT_COLUMNS}, **figures, "alert": alert.name,
                         "target": target.label, "mode": alert.schedule,
                         "rules": list(alert.rules) or ["(all)"]})
    return [{k: r[k] for k in ALERT_COLUMNS} for r in rows]


@main.group(invoke_without_command=True)
@click.pass_context
def alerts(ctx: click.Context) -> None:
    """Alerts from seeds/alerts.toml: list them with their delivery state, test one, send.

    Without a subcommand, lists them (as `alerts list`). The daemon sends alerts itself;
    `alerts send` is for running newsmon from cron instead.

    \b
    Example:
      newsmon alerts && newsmon alerts test team-slack
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(alerts_list, fmt="table")


@alerts.command("list")
@output_options
@click.pass_obj
def alerts_list(obj: dict[str, Any], fmt: str) -> None:
    """List each alert target: mode, rules, stories waiting, sent, failures in a row, last error.

    \b
    Example:
      newsmon alerts list --format json
    """
    from store.errors import NoDatabase

    with errors_as_exit():
        _config, configured = load_alerts_of(obj)
        try:
            states = _repository(obj["db"], create=False).alerts.states()
        except NoDatabase:
            states = []  # alerts configured before the first crawl: nothing sent yet
    if not configured and fmt == "table":
        click.echo("No alerts: add [[alert]] blocks to alerts.toml in the seeds folder (see README.md).", err=True)
        return
    emit(alert_rows(configured, states), fmt, ("alert", "target", "mode", "waiting", "sent", "failures",
                                               "last_error"), widths={"target": 40, "last_error": 40})


@alerts.command("test")
@click.argument("name")
@output_options
@click.pass_obj
def alerts_test(obj: dict[str, Any], name: str, fmt: str) -> None:
    """Send a sample message to every target of alert NAME, and say how each send went.

    The sample is the newest stored story the alert's rules match (or a made-up one when there
    is none); it is marked as a test and changes no delivery state. Exit 1 when a send failed.

    \b
    Example:
      newsmon alerts test team-slack
    """
    from scheduler.alerts import story_message
    from scheduler.notify import send
    from store.errors import NoDatabase
    from store.records import ArticleFilter

    with errors_as_exit():
        _config, configured = load_alerts_of(obj)
        alert = next((a for a in configured if a.name == name), None)
        if alert is None:
            known = ", ".join(a.name for a in configured) or "none configured"
            fail(f"no alert named {name!r} in alerts.toml (known: {known})", EXIT_USAGE)
        try:
            stories = _repository(obj["db"], create=False).articles.query(ArticleFilter(rules=alert.rules, limit=1))
        except NoDatabase:
            stories = []  # a target can be tested before the first crawl: with the made-up story
    title, body = story_message(stories[0] if stories else _sample_story(), alert)
    rows = []
    for target in alert.targets:
        result = send(target.url, f"[newsmon test] {title}", body)
        rows.append({"alert": alert.name, "target": target.label, "ok": result.ok, "error": result.error})
    emit(rows, fmt, ("target", "ok", "error"), widths={"target": 50, "error": 60})
    if not all(r["ok"] for r in rows):
        raise SystemExit(EXIT_RUNTIME)


def _sample_story() -> Any:
    from store.records import StoredArticle

    now = datetime.now(UTC)
    return StoredArticle(
        id=0, url="https://example.org/newsmon-test", title="A sample story: newsmon alerts reach you",
        author=None, published=now, language="en", source="newsmon", rules=("example-rule",),
        terms={"example-rule": ["newsmon"]}, text="This message tests an alert's targets. No story is attached.",
        first_seen=now, duplicate_of=None)


@alerts.command("send")
@click.option("--digest-now", is_flag=True, help="Send pending digests now instead of at their time.")
@click.option("--retry-given-up", is_flag=True, help="Try again the messages given up after many failures.")
@output_options
@click.pass_obj
def alerts_send(obj: dict[str, Any], digest_now: bool, retry_given_up: bool, fmt: str) -> None:
    """Queue newly matched stories for every alert and send what is due (what the daemon does).

    Each story reaches each target once; a failed send is tried again by a later pass after
    its wait (the alert's `retry`, doubled for each failure in a row, up to an hour). Exit 0
    when the pass ran, even if a target failed: `newsmon alerts` shows the failures.

    \b
    Example:
      */5 * * * *  newsmon crawl now && newsmon alerts send
    """
    from scheduler.alerts import deliver
    from scheduler.schedule import silent_after

    with errors_as_exit():
        config, configured = load_alerts_of(obj)
        repository = _repository(obj["db"], create=False)
        if retry_given_up:
            repository.alerts.retry_given_up()
        report = deliver(repository, configured, digest_now=digest_now, silent_after=silent_after(config))
    emit([asdict(report)], fmt, ("queued", "sent", "failed", "dropped"))
    if report.failed:
        click.echo(f"{report.failed} messages could not be sent: `newsmon alerts` shows why; "
                   "they are tried again later.", err=True)
