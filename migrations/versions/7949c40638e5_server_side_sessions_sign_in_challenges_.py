"""server-side sessions, sign-in challenges for every first step, staff lockout per address

Revision ID: 7949c40638e5
Revises: c5a8e3f0b912
Create Date: 2026-11-30 14:22:33.558599

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = '7949c40638e5'
down_revision = 'c5a8e3f0b912'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('principal', sa.String(length=24), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_principal'), ['principal'], unique=False)

    op.create_table('staff_signin_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_staff_signin_throttles_failures_non_negative')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_staff_signin_throttles_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_signin_throttles')),
    sa.UniqueConstraint('staff_id', 'address', name='staff_address')
    )
    with op.batch_alter_table('staff_signin_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_signin_throttles_staff_id'), ['staff_id'], unique=False)

    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('challenge_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('account_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_one_time_codes_challenge_hash'), ['challenge_hash'])



def downgrade():
    # Challenges for details that matched nobody have no account; they live 5 minutes.
    op.execute("DELETE FROM one_time_codes WHERE account_id IS NULL")
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_one_time_codes_challenge_hash'), type_='unique')
        batch_op.alter_column('account_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('challenge_hash')

    with op.batch_alter_table('staff_signin_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_signin_throttles_staff_id'))

    op.drop_table('staff_signin_throttles')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_principal'))

    op.drop_table('web_sessions')
