"""learned entries have a scope: every project, or one project's help group

Revision ID: issue10_learned_scope
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue10_learned_scope"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Entries learned before scopes existed hold for every project (NULL), as they did.
    with op.batch_alter_table("learned_entry") as batch:
        batch.add_column(sa.Column("project_code", sa.String(length=64), nullable=True))
        batch.create_index("ix_learned_entry_project_code", ["project_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("learned_entry") as batch:
        batch.drop_index("ix_learned_entry_project_code")
        batch.drop_column("project_code")
