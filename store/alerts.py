"""Alert delivery state: each target's place in the stream of listed stories, and each story owed to it.

A target is one Apprise URL of one `[[alert]]` block. Queueing reads the stories listed since the
target's `queued_upto` (Article.listed, the stream `query --new` reads) and owes each one message;
the unique (alert, target, article) key makes a story that is listed again (a rule edited to match
it) reach a target once. A sender claims messages (status `sending`) in a write transaction before
it sends, so two senders never send the same message; a claim older than STALE_CLAIM (its sender
died mid-send) is released to be sent again: the one case where a story can arrive twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, exists, func, insert, select, text, update

from store.articles import LISTED_LOCK
from store.database import Database
from store.models import AlertMessage, AlertNotice, AlertTarget, Article, Match
from store.records import utcnow

PENDING, SENDING, SENT, GAVE_UP, DROPPED = "pending", "sending", "sent", "gave_up", "dropped"
# A send takes seconds (Apprise's own timeouts); a claim this old belongs to a sender that died.
STALE_CLAIM = timedelta(minutes=10)


@dataclass(frozen=True)
class TargetState:
    """One alert target as `newsmon alerts` and `status` show it (the field order is the JSON's)."""

    alert: str
    target: str
    label: str
    waiting: int
    sent: int
    gave_up: int
    failures: int
    last_error: str | None
    last_sent: datetime | None
    retry_at: datetime | None
    next_digest: datetime | None


@dataclass(frozen=True)
class Claimed:
    """A message claimed for sending: which story, and how often it was tried before."""

    id: int
    article_id: int
    attempts: int


class Alerts:
    """The alert_targets and alert_messages tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(self, alert: str, target: str, label: str, next_digest: datetime | None = None) -> None:
        """Register a target; a new one starts at the current end of the stream (no backlog flood)."""
        with self.db.write() as conn:
            row = conn.execute(select(AlertTarget.label).where(*_key(alert, target))).first()
            if row is None:
                conn.execute(insert(AlertTarget).values(
                    alert=alert, target=target, label=label, queued_upto=_max_listed(conn, self.db.dialect),
                    next_digest=next_digest, failures=0, created=utcnow()))
            elif row.label != label:
                conn.execute(update(AlertTarget).where(*_key(alert, target)).values(label=label))

    def queue(self, alert: str, target: str, rules: Sequence[str]) -> int:
        """Owe the target a message for each story listed since it last queued that matches one of
        `rules` (any rule when empty); return how many were queued."""
        with self.db.write() as conn:
            upto = _max_listed(conn, self.db.dialect)
            start = conn.execute(select(AlertTarget.queued_upto).where(*_key(alert, target))).scalar_one()
            if upto <= start:
                return 0
            matched = and_(Match.article_id == Article.id, Match.rule.in_(rules)) if rules else (
                Match.article_id == Article.id)
            ids = list(conn.execute(select(Article.id).where(
                Article.listed > start, Article.listed <= upto, Article.duplicate_of.is_(None),
                exists().where(matched)).order_by(Article.listed)).scalars())
            owed = {r[0] for r in self.db.chunked_in(conn, lambda chunk: select(AlertMessage.article_id).where(
                *_msg_key(alert, target), AlertMessage.article_id.in_(chunk)), ids)}
            new = [i for i in ids if i not in owed]
            now = utcnow()
            if new:
                conn.execute(insert(AlertMessage), [
                    {"alert": alert, "target": target, "article_id": i, "status": PENDING, "attempts": 0,
                     "queued": now} for i in new])
            conn.execute(update(AlertTarget).where(*_key(alert, target)).values(queued_upto=upto))
            return len(new)

    def claim(self, alert: str, target: str, limit: int) -> list[Claimed]:
        """Claim up to `limit` pending messages, oldest first (those tried least first, so one
        message that always fails cannot hold the others back)."""
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(update(AlertMessage).where(
                *_msg_key(alert, target), AlertMessage.status == SENDING,
                AlertMessage.claimed < now - STALE_CLAIM).values(status=PENDING, claimed=None))
            rows = conn.execute(select(AlertMessage.id, AlertMessage.article_id, AlertMessage.attempts).where(
                *_msg_key(alert, target), AlertMessage.status == PENDING)
                .order_by(AlertMessage.attempts, AlertMessage.id).limit(limit)).all()
            if rows:
                conn.execute(update(AlertMessage).where(AlertMessage.id.in_([r.id for r in rows]))
                             .values(status=SENDING, claimed=now))
        return [Claimed(r.id, r.article_id, r.attempts) for r in rows]

    def sent(self, alert: str, target: str, ids: Sequence[int]) -> None:
        """Record the messages as delivered, and the target as working."""
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(update(AlertMessage).where(AlertMessage.id.in_(ids)).values(
                status=SENT, sent=now, claimed=None, last_error=None, attempts=AlertMessage.attempts + 1))
            conn.execute(update(AlertTarget).where(*_key(alert, target)).values(
                failures=0, retry_at=None, last_error=None, last_sent=now))

    def failed(self, alert: str, target: str, ids: Sequence[int], error: str, retry_at: datetime,
               give_up_after: int) -> int:
        """Record a failed send: the messages wait for `retry_at` (a message tried `give_up_after`
        times is given up), the target's failure streak grows. Return the target's streak."""
        with self.db.write() as conn:
            conn.execute(update(AlertMessage).where(AlertMessage.id.in_(ids)).values(
                attempts=AlertMessage.attempts + 1, claimed=None, last_error=error, status=PENDING))
            conn.execute(update(AlertMessage).where(
                AlertMessage.id.in_(ids), AlertMessage.attempts >= give_up_after).values(status=GAVE_UP))
            conn.execute(update(AlertTarget).where(*_key(alert, target)).values(
                failures=AlertTarget.failures + 1, retry_at=retry_at, last_error=error))
            return int(conn.execute(select(AlertTarget.failures).where(*_key(alert, target))).scalar_one())

    def failures(self, alert: str, target: str) -> int:
        """The target's failed sends in a row (0 for an unknown target)."""
        with self.db.read() as conn:
            return int(conn.execute(select(AlertTarget.failures).where(*_key(alert, target))).scalar() or 0)

    def drop(self, ids: Sequence[int], reason: str) -> None:
        """Settle claimed messages that must not be sent (their story no longer matches)."""
        with self.db.write() as conn:
            conn.execute(update(AlertMessage).where(AlertMessage.id.in_(ids)).values(
                status=DROPPED, claimed=None, last_error=reason))

    def release(self, ids: Sequence[int]) -> None:
        """Put claimed messages back, untried (a digest that was not due after all)."""
        with self.db.write() as conn:
            conn.execute(update(AlertMessage).where(AlertMessage.id.in_(ids)).values(status=PENDING, claimed=None))

    def set_next_digest(self, alert: str, target: str, when: datetime | None) -> None:
        """Record when the target's next digest is due."""
        with self.db.write() as conn:
            conn.execute(update(AlertTarget).where(*_key(alert, target)).values(next_digest=when))

    def retry_given_up(self, alert: str | None = None) -> int:
        """Make given-up messages pending again, with a fresh count of attempts; return how many."""
        with self.db.write() as conn:
            where = [AlertMessage.status == GAVE_UP] + ([AlertMessage.alert == alert] if alert else [])
            result = conn.execute(update(AlertMessage).where(*where).values(status=PENDING, attempts=0))
            conn.execute(update(AlertTarget).where(*([AlertTarget.alert == alert] if alert else []))
                         .values(retry_at=None))
            return int(result.rowcount)

    # -- notices: news about newsmon itself (a source gone silent), sent once per key ----------------

    def notify(self, alert: str, target: str, key: str, title: str, body: str) -> bool:
        """Owe the target a notice, unless it was owed one with this key before; True when new."""
        with self.db.write() as conn:
            known = conn.execute(select(AlertNotice.id).where(
                AlertNotice.alert == alert, AlertNotice.target == target, AlertNotice.key == key)).first()
            if known is None:
                conn.execute(insert(AlertNotice).values(alert=alert, target=target, key=key, title=title, body=body,
                                                        status=PENDING, attempts=0, queued=utcnow()))
            return known is None

    def claim_notices(self, alert: str, target: str) -> list[tuple[int, str, str]]:
        """Claim the target's notices not sent yet, oldest first: (id, title, body)."""
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(update(AlertNotice).where(
                AlertNotice.alert == alert, AlertNotice.target == target, AlertNotice.status == SENDING,
                AlertNotice.claimed < now - STALE_CLAIM).values(status=PENDING, claimed=None))
            rows = conn.execute(select(AlertNotice.id, AlertNotice.title, AlertNotice.body).where(
                AlertNotice.alert == alert, AlertNotice.target == target, AlertNotice.status == PENDING)
                .order_by(AlertNotice.id)).all()
            if rows:
                conn.execute(update(AlertNotice).where(AlertNotice.id.in_([r.id for r in rows]))
                             .values(status=SENDING, claimed=now))
        return [(r.id, r.title, r.body) for r in rows]

    def notice_sent(self, notice_id: int, error: str | None = None) -> None:
        """Record a claimed notice's send: delivered (no error), or pending again."""
        with self.db.write() as conn:
            conn.execute(update(AlertNotice).where(AlertNotice.id == notice_id).values(
                status=PENDING if error else SENT, sent=None if error else utcnow(), last_error=error,
                claimed=None, attempts=AlertNotice.attempts + 1))

    def states(self) -> list[TargetState]:
        """Every known target with its message counts, by alert."""
        with self.db.read() as conn:
            counts: dict[tuple[str, str], dict[str, int]] = {}
            for r in conn.execute(select(AlertMessage.alert, AlertMessage.target, AlertMessage.status,
                                         func.count()).group_by(AlertMessage.alert, AlertMessage.target,
                                                                AlertMessage.status)):
                counts.setdefault((r[0], r[1]), {})[r[2]] = int(r[3])
            targets = conn.execute(select(*AlertTarget.__table__.c).order_by(AlertTarget.alert, AlertTarget.created))
            out = []
            for t in targets:
                c = counts.get((t.alert, t.target), {})
                out.append(TargetState(
                    alert=t.alert, target=t.target, label=t.label, waiting=c.get(PENDING, 0) + c.get(SENDING, 0),
                    sent=c.get(SENT, 0), gave_up=c.get(GAVE_UP, 0), failures=t.failures,
                    last_error=t.last_error, last_sent=t.last_sent, retry_at=t.retry_at, next_digest=t.next_digest))
            return out


def _key(alert: str, target: str) -> tuple[ColumnElement[bool], ...]:
    return AlertTarget.alert == alert, AlertTarget.target == target


def _msg_key(alert: str, target: str) -> tuple[ColumnElement[bool], ...]:
    return AlertMessage.alert == alert, AlertMessage.target == target


def _max_listed(conn: Connection, dialect: str) -> int:
    if dialect == "postgresql":
        # The lock article writers number under: no story can be mid-write behind the position read.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LISTED_LOCK})
    return int(conn.execute(select(func.max(Article.listed))).scalar() or 0)
