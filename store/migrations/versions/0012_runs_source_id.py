"""Runs indexed by (source, id), and the runs that stored something apart: a source's newest run,
newest ok run, failure streak and newest run that yielded are read from the end of its index
range, a few rows each, instead of all its runs. (source, id) also serves every other lookup by
source (pruning, `runs --source`), so the (source, started) index, read by nothing now, goes.

`newsmon status`, `serve`'s /sources and every alert pass read them for every source: grouped over
all runs, a pass took 20 s on PostgreSQL and 4.7 s on SQLite at 20,000 sources of 100 runs each
(runs are kept 14 days: 672 a source at a 30-minute interval), growing with the runs kept.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_source_id", "runs", ["source", "id"])
    op.drop_index("ix_runs_source_started", table_name="runs")
    # Partial: a source that has not yielded for weeks would otherwise be read back to its last yield.
    op.create_index("ix_runs_source_yielded", "runs", ["source", "id"], postgresql_where=sa.text("new > 0"),
                    sqlite_where=sa.text("new > 0"))


def downgrade() -> None:
    op.drop_index("ix_runs_source_yielded", table_name="runs")
    op.create_index("ix_runs_source_started", "runs", ["source", "started"])
    op.drop_index("ix_runs_source_id", table_name="runs")
