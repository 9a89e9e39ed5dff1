"""Article indexes for `query` newest first, `--since`, `--updated` and the revisit check at 1M
articles (bench/store.py); duplicate_of and updated indexed only where set.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _only_set(column: str) -> dict[str, Any]:
    """Make an index partial: only the rows where `column` is not NULL (SQLite and PostgreSQL)."""
    return {f"{dialect}_where": sa.text(f"{column} IS NOT NULL") for dialect in ("sqlite", "postgresql")}


def upgrade() -> None:
    op.create_index("ix_articles_first_seen", "articles", ["first_seen", "id"])
    # Its prefix serves everything ix_articles_source did.
    op.create_index("ix_articles_source_first_seen", "articles", ["source", "first_seen"])
    op.drop_index("ix_articles_source", table_name="articles")
    op.drop_index("ix_articles_duplicate_of", table_name="articles")
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"], **_only_set("duplicate_of"))
    op.create_index("ix_articles_updated", "articles", ["updated", "id"], **_only_set("updated"))


def downgrade() -> None:
    op.drop_index("ix_articles_updated", table_name="articles")
    op.drop_index("ix_articles_duplicate_of", table_name="articles")
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])
    op.create_index("ix_articles_source", "articles", ["source"])
    op.drop_index("ix_articles_source_first_seen", table_name="articles")
    op.drop_index("ix_articles_first_seen", table_name="articles")
