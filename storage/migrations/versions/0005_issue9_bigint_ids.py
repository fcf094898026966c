"""Telegram ids are 64-bit: the last INTEGER id columns become BIGINT.

Supergroup ids (-100xxxxxxxxxx) and user ids above 2^31 overflowed question_log.chat_id,
question_log.user_id and learned_entry.created_by on PostgreSQL. Existing rows are kept
(SQLite copies the table under batch mode; PostgreSQL widens the column in place).

Revision ID: issue9_bigint_ids
Revises: issue7_context
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue9_bigint_ids"
down_revision = "issue7_context"
branch_labels = None
depends_on = None

_COLUMNS = (("question_log", "chat_id"), ("question_log", "user_id"), ("learned_entry", "created_by"))


def upgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True)
