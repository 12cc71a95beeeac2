"""outbox messages may carry a dedupe key: one reminder per installment and day

Reminders and the message after a broken plan are queued by the daily run, which may
run the same day twice; a nullable UNIQUE key (``reminder:installment:<id>:<offset>``,
``broken:plan:<id>``) lets it insert or skip. Other messages leave it empty. The
reminder query reads only the installments due on a few dates: an index on due_date.

Revision ID: 06a6d6c68750
Revises: b67455a93444
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '06a6d6c68750'
down_revision = 'b67455a93444'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_messages_dedupe_key'), ['dedupe_key'])
    op.create_index('ix_plan_installments_due_date', 'plan_installments', ['due_date'])


def downgrade():
    op.drop_index('ix_plan_installments_due_date', table_name='plan_installments')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_messages_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')
