"""the daily servicing run: days past due dated, runs recorded, plan and promise verdicts

``card_accounts.days_past_due_as_of`` says which day an account's days past due were true
on, so the run ages only accounts the core system did not update. ``servicing_runs``
keeps one row per day the run acted as. The case file learns four kinds: plan completed,
plan broken, promise kept, promise broken.

Revision ID: 5fd347a040e3
Revises: 7c3e9a1f5b28
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = '5fd347a040e3'
down_revision = '7c3e9a1f5b28'
branch_labels = None
depends_on = None

# The stored strings as they stand before and after this revision.
OLD_KINDS = (
    "'note', 'reason', 'budget', 'promise', 'rating', 'plan_accepted', 'plan_requested', "
    "'request_decided', 'request_withdrawn', 'flag_set', 'flag_cleared', 'opted_out', 'opted_in', "
    "'sms_reply', 'message_blocked', 'message_failed', 'link_issued', 'link_revoked', 'link_sent', "
    "'link_delivered', 'link_opened', 'link_verified', 'link_offer_viewed', 'link_accepted', "
    "'personalised_requested', 'personalised_decided'"
)
NEW_KINDS = OLD_KINDS + ", 'plan_completed', 'plan_broken', 'promise_kept', 'promise_broken'"


def _kinds(kinds):
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_events_kind_known'), f"kind IN ({kinds})")


def upgrade():
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('days_past_due_as_of', sa.Date(), nullable=True))
    op.create_table(
        'servicing_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('started_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.CheckConstraint('runs >= 1', name=op.f('ck_servicing_runs_runs_positive')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_servicing_runs')),
        sa.UniqueConstraint('day', name=op.f('uq_servicing_runs_day')),
    )
    _kinds(NEW_KINDS)


def downgrade():
    op.execute(
        "DELETE FROM case_events WHERE kind IN ('plan_completed', 'plan_broken', 'promise_kept', 'promise_broken')"
    )
    _kinds(OLD_KINDS)
    op.drop_table('servicing_runs')
    with op.batch_alter_table('card_accounts', schema=None) as batch_op:
        batch_op.drop_column('days_past_due_as_of')
