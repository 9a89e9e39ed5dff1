"""Skipped pages: a `skipped` counter on runs, and run_skips (url, reason) for each source's recent runs.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import BigId, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default, so that the rows of existing runs read 0 (and ADD COLUMN NOT NULL works).
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "run_skips",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("run_id", BigId, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_run_skips_run_id", "run_skips", ["run_id"])


def downgrade() -> None:
    op.drop_table("run_skips")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("skipped")
