"""issue8 facts_version: versions of the facts each process caches

Revision ID: issue8_facts_version
Revises: issue8_delivery
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue8_facts_version"
down_revision = "issue8_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "facts_version",
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("family"),
    )
    op.bulk_insert(table, [{"family": f, "version": 0} for f in ("bindings", "staff", "learned", "ledger")])


def downgrade() -> None:
    op.drop_table("facts_version")
