"""Initial schema: articles, their URL variants, rule matches, runs, run errors, consumers.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("started", UTCDateTime(), nullable=False),
        sa.Column("finished", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
    )
    op.create_index("ix_runs_source_started", "runs", ["source", "started"])
    op.create_table(
        "articles",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("author", sa.Text()),
        sa.Column("published", UTCDateTime()),
        sa.Column("language", sa.String(16)),
        sa.Column("description", sa.Text()),
        sa.Column("text", sa.Text()),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("run_id", BigId,
                  sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("duplicate_of", BigId,
                  sa.ForeignKey("articles.id")),
    )
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])
    op.create_table(
        "article_urls",
        sa.Column("url", sa.Text(), primary_key=True),
        sa.Column("article_id", BigId,
                  sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_article_urls_article_id", "article_urls", ["article_id"])
    op.create_table(
        "matches",
        sa.Column("article_id", BigId,
                  sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rule", sa.String(200), primary_key=True),
        sa.Column("terms", sa.JSON(), nullable=False),
    )
    op.create_index("ix_matches_rule", "matches", ["rule"])
    op.create_table(
        "run_errors",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("run_id", BigId,
                  sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_run_errors_run_id", "run_errors", ["run_id"])
    op.create_table(
        "consumers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_article_id", sa.BigInteger(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("consumers", "run_errors", "matches", "article_urls", "articles", "runs"):
        op.drop_table(table)
