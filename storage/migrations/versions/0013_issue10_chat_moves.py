"""issue10 chat moves: the groups upgraded to supergroups (old id → new id), so the steward and lead chats of the
settings are followed to their supergroups without a change of setting

Revision ID: issue10_chat_moves
Revises: issue7_posted_message_indexes
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "issue10_chat_moves"
down_revision = "issue7_posted_message_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_chat_move",
        sa.Column("old_chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("new_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("moved_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("old_chat_id"),
    )


def downgrade() -> None:
    op.drop_table("desk_chat_move")
