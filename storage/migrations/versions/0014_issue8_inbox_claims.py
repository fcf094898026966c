"""delivery inbox claims: each stored update names the instance run that took it, so a starting instance
replays only what a dead one left (not what another live instance is handling)

Revision ID: issue8_inbox_claims
Revises: issue10_chat_moves
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "issue8_inbox_claims"
down_revision = "issue10_chat_moves"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for what was stored before: nobody's, taken by the first instance that looks
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
