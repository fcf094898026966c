"""issue8 outbox heads: the index the sender's head-of-queue query walks

Revision ID: issue8_outbox_heads
Revises: issue8_facts_version
Create Date: 2026-12-02 02:05:00
"""

from __future__ import annotations

from alembic import op

revision = "issue8_outbox_heads"
down_revision = "issue8_facts_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (status, chat_id, priority, id): the chats with pending rows are found by a skip scan
    # and each chat's head by one descent, so the query's cost follows the number of chats,
    # not the backlog. Its (status, chat_id) prefix serves what the old index served.
    op.create_index("ix_outbox_message_head", "outbox_message", ["status", "chat_id", "priority", "id"])
    op.drop_index("ix_outbox_message_status_chat", table_name="outbox_message")


def downgrade() -> None:
    op.create_index("ix_outbox_message_status_chat", "outbox_message", ["status", "chat_id"])
    op.drop_index("ix_outbox_message_head", table_name="outbox_message")
