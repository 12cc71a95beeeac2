"""plan requests keep the proposed monthly amount, the approved pause and the decline reason

Revision ID: 8b1f3c2d9e47
Revises: 7949c40638e5
Create Date: 2026-11-30 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = '8b1f3c2d9e47'
down_revision = '7949c40638e5'
branch_labels = None
depends_on = None

DECLINE_REASONS = ("income_too_low", "other_plan_fits", "need_documents", "account_disputed", "payments_too_small",
                   "other")


def upgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_monthly', portal.db_types.ExactDecimal(precision=18, scale=4),
                                      nullable=True))
        batch_op.add_column(sa.Column('pause_months', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decline_reason', sa.String(length=32), nullable=True))
        # Not detected by autogenerate.
        reasons = ", ".join(f"'{r}'" for r in DECLINE_REASONS)
        batch_op.create_check_constraint(batch_op.f('ck_plans_decline_reason_known'),
                                         f"decline_reason IS NULL OR decline_reason IN ({reasons})")
        batch_op.create_check_constraint(batch_op.f('ck_plans_pause_non_negative'),
                                         "pause_months IS NULL OR pause_months >= 0")
        batch_op.create_check_constraint(batch_op.f('ck_plans_proposed_positive'),
                                         "proposed_monthly IS NULL OR proposed_monthly > 0")


def downgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_plans_proposed_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_plans_pause_non_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_plans_decline_reason_known'), type_='check')
        batch_op.drop_column('decline_reason')
        batch_op.drop_column('pause_months')
        batch_op.drop_column('proposed_monthly')
