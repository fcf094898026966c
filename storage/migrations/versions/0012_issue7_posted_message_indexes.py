"""issue7 posted message indexes: a reply to a message of the bot finds whose message it was (the outbox row, or the
relayed answer in a ticket's thread) by (chat id, message id) without reading the whole table

Revision ID: issue7_posted_message_indexes
Revises: issue7_context_together
Create Date: 2026-12-06 07:31:45
"""

from __future__ import annotations

from alembic import op

revision = "issue7_posted_message_indexes"
down_revision = "issue7_context_together"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("desk_ticket_message", schema=None) as batch_op:
        batch_op.create_index("ix_desk_ticket_message_posted", ["chat_id", "message_id"], unique=False)
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_posted", ["chat_id", "message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_posted")
    with op.batch_alter_table("desk_ticket_message", schema=None) as batch_op:
        batch_op.drop_index("ix_desk_ticket_message_posted")
