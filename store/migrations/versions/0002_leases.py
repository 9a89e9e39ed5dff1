"""Per-source leases (one crawler per source at a time), who ran each run, the daemon's schedule.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired", UTCDateTime(), nullable=False),
        sa.Column("heartbeat", UTCDateTime(), nullable=False),
        sa.Column("expires", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("holder", sa.String(200), nullable=True))
    op.create_table(
        "schedules",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("daemon", sa.String(200), nullable=False),
        sa.Column("next_run", UTCDateTime(), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("holder")
    op.drop_table("leases")
