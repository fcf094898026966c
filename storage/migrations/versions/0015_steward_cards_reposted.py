"""desk chat moves: when the steward cards left in a group upgraded to a supergroup were posted again there

Revision ID: steward_cards_reposted
Revises: issue8_inbox_claims
Create Date: 2026-12-06 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "steward_cards_reposted"
down_revision = "issue8_inbox_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the moves recorded before: their announcements are past, so nothing claims them
    with op.batch_alter_table("desk_chat_move", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cards_reposted_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desk_chat_move", schema=None) as batch_op:
        batch_op.drop_column("cards_reposted_at")
