"""Rules by example and rules that look back: a similarity `score` on matches, and `listed`, an
article's place in the stream `query --new` reads (backfilled with its id, which consumers'
cursors already count in).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("listed", sa.BigInteger(), nullable=True))
    op.execute("UPDATE articles SET listed = id")
    op.create_index("ix_articles_listed", "articles", ["listed"])


def downgrade() -> None:
    op.drop_index("ix_articles_listed", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("listed")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("score")
