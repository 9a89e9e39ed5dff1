"""Near-duplicate stories (SimHash bands), article versions, learned boilerplate, modified dates.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import BigId, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("simhash", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("modified", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("updated", UTCDateTime(), nullable=True))
    op.create_table(
        "article_bands",
        sa.Column("article_id", BigId, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("band", sa.SmallInteger(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_article_bands_band_value", "article_bands", ["band", "value"])
    op.create_table(
        "article_versions",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("article_id", BigId, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fetched", UTCDateTime(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("text", sa.Text()),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_article_versions_article_id", "article_versions", ["article_id"])
    op.create_table(
        "boilerplate_blocks",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("block_hash", sa.String(32), primary_key=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("sample", sa.Text(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("boilerplate_blocks")
    op.drop_table("article_versions")
    op.drop_table("article_bands")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("updated")
        batch.drop_column("modified")
        batch.drop_column("simhash")
