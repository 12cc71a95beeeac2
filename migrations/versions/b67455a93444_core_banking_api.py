"""core banking API: accepted messages, idempotency records, snapshot time, bank reference index

The core system's signed API remembers the ``webhook-id`` of each message it accepted
(a replay fails on the primary key) and the answer it gave per ``Idempotency-Key``
(UNIQUE: a concurrent duplicate waits for the first and is given its answer). An
account remembers the "as of" time of its last balance snapshot, so an older one never
overwrites a newer one. Payments are looked up by the bank's own reference, so the same
payment reported by a camt.054 and then by the camt.053 is posted once; a payment the
API recorded is unique by the core system's payment id.

Revision ID: b67455a93444
Revises: 4d7a2c9e1f63
Create Date: 2026-11-30 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = 'b67455a93444'
down_revision = '4d7a2c9e1f63'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_messages',
        sa.Column('webhook_id', sa.String(length=128), nullable=False),
        sa.Column('received_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('webhook_id', name=op.f('pk_api_messages')),
    )
    with op.batch_alter_table('api_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_messages_received_at'), ['received_at'], unique=False)

    op.create_table(
        'api_idempotency_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_digest', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('path', sa.String(length=255), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('response_body', sa.Text(), nullable=True),
        sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_records')),
        sa.UniqueConstraint('key', name=op.f('uq_api_idempotency_records_key')),
    )
    with op.batch_alter_table('api_idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotency_records_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot_at', portal.db_types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_bank_reference', ['bank_reference'], unique=False)
        batch_op.create_index(
            'uq_payments_api_payment_id', ['entry_reference'], unique=True,
            sqlite_where=sa.text("source = 'api'"), postgresql_where=sa.text("source = 'api'"),
        )


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_api_payment_id')
        batch_op.drop_index('ix_payments_bank_reference')

    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.drop_column('snapshot_at')

    with op.batch_alter_table('api_idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotency_records_created_at'))
    op.drop_table('api_idempotency_records')

    with op.batch_alter_table('api_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_messages_received_at'))
    op.drop_table('api_messages')
