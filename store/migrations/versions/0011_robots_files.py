"""Each host's robots.txt as last fetched, so a check need not fetch it again for a day.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robots_files",
        sa.Column("origin", sa.Text(), primary_key=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("robots_files")
