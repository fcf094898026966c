"""ledger projects can be archived (ledger remove, import --prune)

Revision ID: issue11_archive
Revises: issue10_learned_scope
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "issue11_archive"
down_revision = "issue10_learned_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_ledger_project_archived_at"), ["archived_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_project_archived_at"))
        batch_op.drop_column("archived_at")
