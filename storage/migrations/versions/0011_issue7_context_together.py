"""issue7 context together: whether an asker's last question was whether procedures run together, how many of the
earlier items were asked in one message with the last, and whether the last message was offered a choice

Revision ID: issue7_context_together
Revises: issue7_context_earlier
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue7_context_together"
down_revision = "issue7_context_earlier"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # knowledge.context.Context.together; false for the rows written before this revision, which read as they did.
    with op.batch_alter_table("conversation_context") as batch:
        batch.add_column(sa.Column("together", sa.Boolean(), nullable=False, server_default=sa.false()))
        # knowledge.context.Context.at_once; 0 for the older rows (their items were kept most recent first)
        batch.add_column(sa.Column("at_once", sa.SmallInteger(), nullable=False, server_default="0"))
        # knowledge.context.Context.offered; false for the older rows
        batch.add_column(sa.Column("offered", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("conversation_context") as batch:
        batch.drop_column("offered")
        batch.drop_column("at_once")
        batch.drop_column("together")
