"""conversation context (issue 7)

Revision ID: issue7_context
Revises: issue11_archive
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "issue7_context"
down_revision = "issue11_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_context",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id"),
    )
    with op.batch_alter_table("conversation_context", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_context_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation_context", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_context_updated_at"))
    op.drop_table("conversation_context")
