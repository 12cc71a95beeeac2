"""plan events for the core system and webhooks in the outbox

Plan events (accepted, installment paid, broken, completed, cancelled) are kept as rows
with a stable public id; the daily export file reads them, and a webhook row in the
outbox points at the event it carries. An installment is announced paid once
(uq_plan_events_once); NULL installment numbers (plan-level events) are not constrained.

Revision ID: 7c3e9a1f5b28
Revises: 06a6d6c68750
Create Date: 2026-11-30 20:15:04.560869

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = '7c3e9a1f5b28'
down_revision = '06a6d6c68750'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('installment_number', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('occurred_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(event = 'installment_paid') = (installment_number IS NOT NULL)", name=op.f('ck_plan_events_installment_only_when_paid')),
    sa.CheckConstraint("event IN ('accepted', 'installment_paid', 'broken', 'completed', 'cancelled')", name=op.f('ck_plan_events_event_known')),
    sa.ForeignKeyConstraint(['account_id'], ['card_accounts.id'], name=op.f('fk_plan_events_account_id_card_accounts')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_events_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_events')),
    sa.UniqueConstraint('plan_id', 'event', 'installment_number', name='uq_plan_events_once'),
    sa.UniqueConstraint('public_id', name=op.f('uq_plan_events_public_id'))
    )
    with op.batch_alter_table('plan_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_plan_events_occurred_at', ['occurred_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_events_plan_id'), ['plan_id'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_event_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_plan_event_id'), ['plan_event_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_plan_event_id_plan_events'), 'plan_events', ['plan_event_id'], ['id'])



def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_plan_event_id_plan_events'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_plan_event_id'))
        batch_op.drop_column('plan_event_id')

    with op.batch_alter_table('plan_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_events_plan_id'))
        batch_op.drop_index('ix_plan_events_occurred_at')
        batch_op.drop_index(batch_op.f('ix_plan_events_account_id'))

    op.drop_table('plan_events')
