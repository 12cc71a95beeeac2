"""agreements remember when the worker may try again

Revision ID: c5a8e3f0b912
Revises: b2e47c9d1a58
Create Date: 2026-11-30 15:15:00

Pending agreements already there keep a NULL next attempt: the worker takes them at once.
"""
import sqlalchemy as sa
from alembic import op

import portal.db_types

revision = 'c5a8e3f0b912'
down_revision = 'b2e47c9d1a58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', portal.db_types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_agreements_next_attempt_at'), ['next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_next_attempt_at'))
        batch_op.drop_column('next_attempt_at')
