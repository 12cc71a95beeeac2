"""care workbench: who owns a case (case_states), care staff's calls (call_attempts)

A ``case_states`` row per worked account (owner, lease, last contact and its outcome, the
next action's date, kept current by the care services), a ``call_attempts`` table that
the contact caps count, the case-event kinds ``case_assigned`` and ``case_released`` in
the ``case_events`` CHECK constraint, and the index the care queue pages along.

Revision ID: d8e2b6f4a913
Revises: a3c9e5d1f7b2
Create Date: 2026-12-05 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = 'd8e2b6f4a913'
down_revision = 'a3c9e5d1f7b2'
branch_labels = None
depends_on = None

# The stored strings as they stand before and after this revision.
CASE_EVENT_KINDS = (
    "'note', 'reason', 'budget', 'promise', 'rating', 'plan_accepted', 'plan_requested', "
    "'request_decided', 'request_withdrawn', 'flag_set', 'flag_cleared', 'opted_out', 'opted_in', "
    "'sms_reply', 'message_blocked', 'message_failed', 'link_issued', 'link_revoked', 'link_sent', "
    "'link_delivered', 'link_opened', 'link_verified', 'link_offer_viewed', 'link_accepted', "
    "'personalised_requested', 'personalised_decided', 'plan_completed', 'plan_broken', 'promise_kept', "
    "'promise_broken', 'payment_assigned', 'task_opened', 'task_done'"
)
NEW_CASE_EVENT_KINDS = CASE_EVENT_KINDS + ", 'case_assigned', 'case_released'"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_events_kind_known'), f"kind IN ({kinds})")


def upgrade():
    op.create_table(
        'case_states',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('owned_until', portal.db_types.UTCDateTime(), nullable=True),
        sa.Column('owned_since', portal.db_types.UTCDateTime(), nullable=True),
        sa.Column('last_contact_at', portal.db_types.UTCDateTime(), nullable=True),
        sa.Column('last_outcome', sa.String(length=32), nullable=True),
        sa.Column('last_channel', sa.String(length=16), nullable=True),
        sa.Column('next_action_at', portal.db_types.UTCDateTime(), nullable=True),
        sa.Column('updated_at', portal.db_types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['card_accounts.id'], name=op.f('fk_case_states_account_id_card_accounts')),
        sa.ForeignKeyConstraint(['owner_id'], ['staff_users.id'], name=op.f('fk_case_states_owner_id_staff_users')),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_case_states')),
    )
    with op.batch_alter_table('case_states', schema=None) as batch_op:
        batch_op.create_index('ix_case_states_owner', ['owner_id', 'owned_until'], unique=False)
        batch_op.create_index('ix_case_states_next_action', ['next_action_at'], unique=False)
    op.create_table(
        'call_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('answered', sa.Boolean(), nullable=False),
        sa.Column('requested', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('called_at', portal.db_types.UTCDateTime(), nullable=False),
        sa.Column('called_by', sa.String(length=64), nullable=False),
        sa.CheckConstraint("outcome <> ''", name=op.f('ck_call_attempts_outcome_present')),
        sa.ForeignKeyConstraint(['account_id'], ['card_accounts.id'], name=op.f('fk_call_attempts_account_id_card_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_attempts')),
    )
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_call_attempts_account_time', ['account_id', 'called_at'], unique=False)
    _kinds(NEW_CASE_EVENT_KINDS)
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_card_accounts_queue_dpd', ['days_past_due', 'overdue_amount', 'id'], unique=False)
        batch_op.create_index('ix_card_accounts_queue_amount', ['overdue_amount', 'days_past_due', 'id'], unique=False)
        batch_op.create_index('ix_card_accounts_currency', ['currency', 'days_past_due'], unique=False)


def downgrade():
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_card_accounts_currency')
        batch_op.drop_index('ix_card_accounts_queue_amount')
        batch_op.drop_index('ix_card_accounts_queue_dpd')
    op.execute("DELETE FROM case_events WHERE kind IN ('case_assigned', 'case_released')")
    _kinds(CASE_EVENT_KINDS)
    op.drop_table('call_attempts')
    op.drop_table('case_states')
