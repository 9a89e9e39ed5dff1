"""Alerts: alert_targets (each Apprise URL's queue position, digest time, send health),
alert_messages (each story owed to a target, once) and alert_notices (news about newsmon itself,
such as a source gone silent, owed to a target once per episode).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import BigId, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_targets",
        sa.Column("alert", sa.String(200), primary_key=True),
        sa.Column("target", sa.String(32), primary_key=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("queued_upto", sa.BigInteger(), nullable=False),
        sa.Column("next_digest", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_sent", UTCDateTime(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alert_messages",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("alert", sa.String(200), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("article_id", BigId, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued", UTCDateTime(), nullable=False),
        sa.Column("claimed", UTCDateTime(), nullable=True),
        sa.Column("sent", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ux_alert_messages_story", "alert_messages", ["alert", "target", "article_id"], unique=True)
    op.create_index("ix_alert_messages_status", "alert_messages", ["alert", "target", "status"])
    op.create_table(
        "alert_notices",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("alert", sa.String(200), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued", UTCDateTime(), nullable=False),
        sa.Column("claimed", UTCDateTime(), nullable=True),
        sa.Column("sent", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ux_alert_notices_key", "alert_notices", ["alert", "target", "key"], unique=True)


def downgrade() -> None:
    op.drop_table("alert_notices")
    op.drop_table("alert_messages")
    op.drop_table("alert_targets")
