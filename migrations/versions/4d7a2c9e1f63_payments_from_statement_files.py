"""payments from statement files: references, direction, status, source, plan

The payments table grows from "an amount on an account" into the record of one
statement entry: which statement and entry reported it (a UNIQUE key makes an import
idempotent), credit or debit, posted, unmatched (no account yet), not ours or reversed,
and the plan it counts towards. Existing rows are history from the core system: posted
credits in their account's currency.

Revision ID: 4d7a2c9e1f63
Revises: 5d3f8a2c6e19
Create Date: 2026-11-30 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = '4d7a2c9e1f63'
down_revision = '5d3f8a2c6e19'
branch_labels = None
depends_on = None

CHECKS = {
    'currency_iso': 'length(currency) = 3',
    'direction_known': "direction IN ('credit', 'debit')",
    'status_known': "status IN ('posted', 'unmatched', 'not_ours', 'reversed')",
    'source_known': "source IN ('camt053', 'camt054', 'csv', 'api', 'core')",
    'match_basis_known': (
        "match_basis IS NULL OR match_basis IN ('account_reference', 'agreement_reference', "
        "'no_reference', 'ambiguous', 'other_currency', 'original_not_found')"
    ),
    'posted_has_account': "status <> 'posted' OR account_id IS NOT NULL",
    'unmatched_has_no_account': "status <> 'unmatched' OR account_id IS NULL",
}


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('direction', sa.String(length=6), server_default='credit', nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='posted', nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=8), server_default='core', nullable=False))
        batch_op.add_column(sa.Column('match_basis', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('booking_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('value_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('statement_id', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('entry_reference', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('end_to_end_id', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('bank_reference', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('import_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('remittance', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reverses_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=True))

    # History already on file: in its account's currency, booked and created when paid.
    op.execute(
        "UPDATE payments SET currency = (SELECT currency FROM card_accounts WHERE card_accounts.id = payments.account_id)"
    )
    # SQLite keeps times as text, where CAST(… AS DATE) would give the year as a number.
    day = "date(paid_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(paid_at AT TIME ZONE 'UTC' AS DATE)"
    op.execute(f"UPDATE payments SET booking_date = {day}, created_at = paid_at")

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('currency', existing_type=sa.String(length=3), nullable=False)
        batch_op.alter_column('booking_date', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column(
            'created_at', existing_type=portal.db_types.UTCDateTime(timezone=True), nullable=False
        )
        # The defaults only filled the rows above; new rows always say what they are.
        batch_op.alter_column('direction', existing_type=sa.String(length=6), server_default=None)
        batch_op.alter_column('status', existing_type=sa.String(length=12), server_default=None)
        batch_op.alter_column('source', existing_type=sa.String(length=8), server_default=None)
        batch_op.create_foreign_key(batch_op.f('fk_payments_plan_id_plans'), 'plans', ['plan_id'], ['id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_payments_reverses_id_payments'), 'payments', ['reverses_id'], ['id']
        )
        batch_op.create_unique_constraint(batch_op.f('uq_payments_import_key'), ['import_key'])
        batch_op.create_unique_constraint(batch_op.f('uq_payments_reverses_id'), ['reverses_id'])
        batch_op.create_index(batch_op.f('ix_payments_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(
            'ix_payments_unmatched', ['created_at'], unique=False,
            sqlite_where=sa.text("status = 'unmatched'"), postgresql_where=sa.text("status = 'unmatched'"),
        )
        batch_op.create_index('ix_payments_end_to_end_id', ['end_to_end_id'], unique=False)
        for name, condition in CHECKS.items():
            batch_op.create_check_constraint(batch_op.f(f'ck_payments_{name}'), condition)


def downgrade():
    # Rows that belong to no account cannot go back to a table where every row has one.
    # What the old table cannot tell apart from money received goes: unmatched and
    # not-ours rows, debits, reversals and the payments they reversed.
    op.execute(
        "DELETE FROM payments WHERE account_id IS NULL OR direction = 'debit' OR reverses_id IS NOT NULL"
        " OR status IN ('reversed', 'not_ours')"
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        for name in reversed(list(CHECKS)):
            batch_op.drop_constraint(batch_op.f(f'ck_payments_{name}'), type_='check')
        batch_op.drop_index('ix_payments_end_to_end_id')
        batch_op.drop_index('ix_payments_unmatched')
        batch_op.drop_index(batch_op.f('ix_payments_plan_id'))
        batch_op.drop_constraint(batch_op.f('uq_payments_reverses_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_payments_import_key'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_payments_reverses_id_payments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_payments_plan_id_plans'), type_='foreignkey')
        for column in (
            'created_at', 'reverses_id', 'remittance', 'import_key', 'bank_reference', 'end_to_end_id',
            'entry_reference', 'statement_id', 'value_date', 'booking_date', 'match_basis', 'source',
            'status', 'direction', 'currency', 'plan_id',
        ):
            batch_op.drop_column(column)
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
