"""The lease table: one instance at a time runs the scheduled work.

Revision ID: issue9_scheduler_lease
Revises: issue9_bigint_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "issue9_scheduler_lease"
down_revision = "issue9_bigint_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("lease")
