"""case tasks: call-backs, follow-ups and questions for care staff (portal.cases.tasks)

A ``case_tasks`` table, and the case-event kinds ``task_opened`` and ``task_done`` in the
``case_events`` CHECK constraint.

Revision ID: a3c9e5f7b210
Revises: b4d2f8a1c6e3
Create Date: 2026-12-04 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = 'a3c9e5f7b210'
down_revision = 'b4d2f8a1c6e3'
branch_labels = None
depends_on = None

# The stored strings as they stand before and after this revision.
CASE_EVENT_KINDS = (
    "'note', 'reason', 'budget', 'promise', 'rating', 'plan_accepted', 'plan_requested', "
    "'request_decided', 'request_withdrawn', 'flag_set', 'flag_cleared', 'opted_out', 'opted_in', "
    "'sms_reply', 'message_blocked', 'message_failed', 'link_issued', 'link_revoked', 'link_sent', "
    "'link_delivered', 'link_opened', 'link_verified', 'link_offer_viewed', 'link_accepted', "
    "'personalised_requested', 'personalised_decided', 'plan_completed', 'plan_broken', 'promise_kept', "
    "'promise_broken', 'payment_assigned'"
)
NEW_CASE_EVENT_KINDS = CASE_EVENT_KINDS + ", 'task_opened', 'task_done'"
TASK_KINDS = "'callback', 'follow_up', 'question'"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_events_kind_known'), f"kind IN ({kinds})")


def upgrade():
    op.create_table(
        'case_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('due_at', portal.db_types.UTCDateTime(), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('created_at', portal.db_types.UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('done_at', portal.db_types.UTCDateTime(), nullable=True),
        sa.Column('done_by', sa.String(length=64), nullable=True),
        sa.CheckConstraint(f"kind IN ({TASK_KINDS})", name=op.f('ck_case_tasks_kind_known')),
        sa.ForeignKeyConstraint(['account_id'], ['card_accounts.id'], name=op.f('fk_case_tasks_account_id_card_accounts')),
        sa.ForeignKeyConstraint(['owner_id'], ['staff_users.id'], name=op.f('fk_case_tasks_owner_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_tasks')),
    )
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_case_tasks_account_open', ['account_id', 'done_at'], unique=False)
        batch_op.create_index('ix_case_tasks_open_due', ['done_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_tasks_owner_id'), ['owner_id'], unique=False)
    _kinds(NEW_CASE_EVENT_KINDS)


def downgrade():
    op.execute("DELETE FROM case_events WHERE kind IN ('task_opened', 'task_done')")
    _kinds(CASE_EVENT_KINDS)
    op.drop_table('case_tasks')
