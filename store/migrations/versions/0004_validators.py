"""HTTP validators and content hashes per discovery URL (feeds, sitemaps, listing pages).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "validators",
        sa.Column("url", sa.Text(), primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("not_modified", sa.Integer(), nullable=False),
        sa.Column("checked", UTCDateTime(), nullable=False),
        sa.Column("changed", UTCDateTime()),
    )
    op.create_index("ix_validators_source", "validators", ["source"])


def downgrade() -> None:
    op.drop_table("validators")
