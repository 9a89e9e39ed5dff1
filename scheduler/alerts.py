"""Alerts out: each target is owed the stories its rules matched since it was set up, and is sent
them, one message a story or a digest on a timer; a failed send waits and is tried again.

One pass (`deliver`) does it all from the database, so a daemon that restarts, or a `newsmon alerts
send` run from cron, picks up exactly where the last pass stopped: queue (store.alerts), claim,
send, record. A target that fails waits its alert's `retry` (1m by default) doubled for each failure in
a row, up to RETRY_CEILING; a message tried GIVE_UP_AFTER times is given up and shown in `status`.
The messages are plain text: title, source, date, the rules and terms that matched, the link and
the story's other outlets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.alert_config import DIGEST, Alert, Target, duration
from scheduler.notify import SendResult, send
from store.alerts import Claimed
from store.records import ArticleFilter, StoredArticle, utcnow
from store.repository import Repository
from store.status import source_status

log = logging.getLogger("newsmon.alerts")

RETRY_CEILING = 3600
GIVE_UP_AFTER = 20
# Messages sent to one target in one pass (the rest wait for the next pass, seconds later).
EACH_BATCH = 20
# Stories in one digest message; more make several messages.
DIGEST_MAX = 50
EXCERPT = 300
# Terms listed per rule in a message: enough to say why, short enough to read on a phone.
MAX_TERMS = 5

Sender = Callable[[str, str, str], SendResult]


@dataclass
class PassReport:
    """What one pass did, over every target."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0


def deliver(repository: Repository, alerts: Sequence[Alert], sender: Sender = send,
            digest_now: bool = False, silent_after: Mapping[str, int] | None = None) -> PassReport:
    """Queue what each target is owed and send what is due; return the counts.

    With `silent_after` (each configured source's, scheduler.schedule.silent_after), a source
    that has gone silent is news too: each target of an alert with `health` on is told once per
    silence, at once, whatever the alert's mode.
    """
    report = PassReport()
    now = utcnow()
    register(repository, alerts)
    if silent_after:
        _queue_silences(repository, alerts, silent_after, now)
    for alert in alerts:
        for target in alert.targets:
            report.queued += repository.alerts.queue(alert.name, target.key, alert.rules)
    states = {(s.alert, s.target): s for s in repository.alerts.states()}
    for alert in alerts:
        for target in alert.targets:
            state = states[(alert.name, target.key)]
            if state.retry_at is not None and state.retry_at > now:
                continue
            if not _send_notices(repository, alert, target, sender, report):
                continue
            if alert.mode != DIGEST:
                _send_each(repository, alert, target, sender, report)
                continue
            due = digest_now or (state.next_digest is not None and state.next_digest <= now)
            if due and _send_digests(repository, alert, target, sender, report):
                repository.alerts.set_next_digest(alert.name, target.key, alert.next_digest(now))
    return report


def register(repository: Repository, alerts: Sequence[Alert]) -> None:
    """Make each target known to the database: a new one is owed the stories listed from now on."""
    now = utcnow()
    for alert in alerts:
        for target in alert.targets:
            repository.alerts.ensure(alert.name, target.key, target.label, alert.next_digest(now))


def _queue_silences(repository: Repository, alerts: Sequence[Alert], silent_after: Mapping[str, int],
                    now: datetime) -> None:
    for row in source_status(repository, list(silent_after), now, silent_after):
        if not row.silent or row.last_new is None:
            continue
        # One notice per silence: it ends when the source yields again, and a later one is new.
        key = f"silent/{row.source}/{row.last_new.isoformat()}"
        quiet = duration(int((now - row.last_new).total_seconds()))
        title = f"newsmon: source {row.source} has gone silent"
        body = (f"{row.source} has stored no new article for {quiet} (since {row.last_new:%Y-%m-%d %H:%M} UTC), "
                f"though it was crawled since: its last crawl ended {row.outcome or 'unknown'} with "
                f"{row.errors or 0} errors.\nSee why: newsmon runs --source {row.source} --errors")
        for alert in alerts:
            if alert.health:
                for target in alert.targets:
                    if repository.alerts.notify(alert.name, target.key, key, title, body):
                        log.warning("source %s has gone silent: alert %s tells %s", row.source, alert.name,
                                    target.label)


def _send_notices(repository: Repository, alert: Alert, target: Target, sender: Sender,
                  report: PassReport) -> bool:
    """Send the target's pending notices; False when a send failed (the target then waits)."""
    for notice_id, title, body in repository.alerts.claim_notices(alert.name, target.key):
        result = sender(target.url, title, body)
        repository.alerts.notice_sent(notice_id, None if result.ok else (result.error or "send failed"))
        if not result.ok:
            _failed(repository, alert, target, [], result, report)
            report.failed += 1
            return False
        report.sent += 1
    return True


def _send_each(repository: Repository, alert: Alert, target: Target, sender: Sender, report: PassReport) -> None:
    claimed = repository.alerts.claim(alert.name, target.key, EACH_BATCH)
    stories = _stories(repository, alert, claimed, report)
    for n, message in enumerate(claimed):
        story = stories.get(message.article_id)
        if story is None:
            continue
        result = sender(target.url, *story_message(story, alert))
        if not result.ok:
            _failed(repository, alert, target, [message.id], result, report)
            # The target is down, or refuses this one message: the rest wait for the next try, untried.
            repository.alerts.release([c.id for c in claimed[n + 1:] if c.article_id in stories])
            return
        repository.alerts.sent(alert.name, target.key, [message.id])
        report.sent += 1
        log.info("alert %s: sent %r to %s", alert.name, story.title or story.url, target.label)


def _send_digests(repository: Repository, alert: Alert, target: Target, sender: Sender,
                  report: PassReport) -> bool:
    """Send everything pending as digests of up to DIGEST_MAX stories; False when a send failed."""
    while claimed := repository.alerts.claim(alert.name, target.key, DIGEST_MAX):
        stories = _stories(repository, alert, claimed, report)
        ids = [c.id for c in claimed if c.article_id in stories]
        if not ids:
            continue
        result = sender(target.url, *digest_message([stories[c.article_id] for c in claimed
                                                     if c.article_id in stories], alert))
        if not result.ok:
            _failed(repository, alert, target, ids, result, report)
            return False
        repository.alerts.sent(alert.name, target.key, ids)
        report.sent += len(ids)
        log.info("alert %s: sent a digest of %d stories to %s", alert.name, len(ids), target.label)
    return True


def _stories(repository: Repository, alert: Alert, claimed: Sequence[Claimed], report: PassReport
             ) -> dict[int, StoredArticle]:
    """The claimed stories that still match the alert's rules (a rule edited since they were queued);
    the others are dropped, unsent."""
    if not claimed:
        return {}
    ids = tuple(c.article_id for c in claimed)
    found = {a.id: a for a in repository.articles.query(ArticleFilter(ids=ids, rules=alert.rules))}
    gone = [c.id for c in claimed if c.article_id not in found]
    if gone:
        repository.alerts.drop(gone, "the story no longer matches the alert's rules")
        report.dropped += len(gone)
    return found


def _failed(repository: Repository, alert: Alert, target: Target, ids: list[int], result: SendResult,
            report: PassReport) -> None:
    error = result.error or "send failed"
    wait = min(RETRY_CEILING, alert.retry * 2 ** min(repository.alerts.failures(alert.name, target.key), 16))
    streak = repository.alerts.failed(alert.name, target.key, ids, error, utcnow() + timedelta(seconds=wait),
                                      GIVE_UP_AFTER)
    report.failed += len(ids)
    log.warning("alert %s: sending to %s failed (%d in a row; next try in %ds): %s", alert.name, target.label,
                streak, wait, error)


# -- messages --------------------------------------------------------------------------------------

def story_message(story: StoredArticle, alert: Alert) -> tuple[str, str]:
    """One story's title and plain-text body."""
    return (story.title or story.url)[:250], "\n".join(_story_lines(story, alert, excerpt=True))


def digest_message(stories: Sequence[StoredArticle], alert: Alert) -> tuple[str, str]:
    """A digest's title and body: the stories numbered, newest first."""
    noun = "story" if len(stories) == 1 else "stories"
    blocks = [f"{i}. " + "\n   ".join(_story_lines(s, alert, excerpt=False)) for i, s in enumerate(stories, 1)]
    return f"newsmon {alert.name}: {len(stories)} new {noun}", "\n\n".join(blocks)


def _story_lines(story: StoredArticle, alert: Alert, excerpt: bool) -> list[str]:
    when = story.published or story.first_seen
    lines = [story.title or story.url] if not excerpt else []
    lines.append(f"{story.source} · {when:%Y-%m-%d}" + (f" · {story.language}" if story.language else ""))
    lines.append("Matched: " + "; ".join(_why(story, rule) for rule in story.rules
                                         if not alert.rules or rule in alert.rules))
    lines.append(story.url)
    lines += [f"Also at: {url}" for url in story.also_at]
    if excerpt and story.text:
        text = " ".join(story.text.split())
        lines += ["", text if len(text) <= EXCERPT else text[:EXCERPT].rsplit(" ", 1)[0] + " …"]
    return lines


def _why(story: StoredArticle, rule: str) -> str:
    terms = story.terms.get(rule, [])
    parts = [", ".join(terms[:MAX_TERMS]) + (", …" if len(terms) > MAX_TERMS else "")]
    if rule in story.scores:
        parts.append(f"similarity {story.scores[rule]:.2f}")
    detail = "; ".join(p for p in parts if p)
    return f"{rule} ({detail})" if detail else rule

