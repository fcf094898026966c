"""issue7 context earlier: the other items of an asker's conversation, for 「这两个能一起报吗」

Revision ID: issue7_context_earlier
Revises: issue8_outbox_heads
Create Date: 2026-12-03 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue7_context_earlier"
down_revision = "issue8_outbox_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Comma-joined item keys, most recent first (knowledge.context.Context.earlier); "" for none, so the rows
    # written before this revision read as they did.
    with op.batch_alter_table("conversation_context") as batch:
        batch.add_column(sa.Column("earlier", sa.String(length=160), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("conversation_context") as batch:
        batch.drop_column("earlier")
