"""accounts know their jurisdiction; a minimum due never exceeds the balance

Revision ID: 9c1e5a7d2b40
Revises: 8b1f3c2d9e47
Create Date: 2026-11-30 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c1e5a7d2b40'
down_revision = '8b1f3c2d9e47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jurisdiction', sa.String(length=2), server_default='CN', nullable=False))
    # Until now only Hong Kong accounts were kept in Hong Kong dollars.
    op.execute("UPDATE card_accounts SET jurisdiction = 'HK' WHERE currency = 'HKD'")
    # Older demo data could ask for more than was owed; the minimum is at most the balance.
    op.execute(
        "UPDATE card_accounts SET minimum_due = principal + interest + fees + late_fees "
        "WHERE minimum_due > principal + interest + fees + late_fees"
    )
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f('ck_card_accounts_jurisdiction_code'),
            'length(jurisdiction) = 2 AND upper(jurisdiction) = jurisdiction',
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_card_accounts_minimum_due_within_balance'),
            'minimum_due <= principal + interest + fees + late_fees',
        )


def downgrade():
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_card_accounts_minimum_due_within_balance'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_card_accounts_jurisdiction_code'), type_='check')
        batch_op.drop_column('jurisdiction')
