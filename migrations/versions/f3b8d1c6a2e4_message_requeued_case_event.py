"""a requeued message goes on the case file: the case-event kind message_requeued

A supervisor who puts a dead-lettered or blocked cardholder message back in the queue
(``portal.notifications.monitor.requeue_message``) was recorded in the audit log only;
the case file showed the message failing or being blocked and then, silently, sent. The
``case_events`` CHECK constraint now admits ``message_requeued``.

Revision ID: f3b8d1c6a2e4
Revises: c81e4b7d2a90
Create Date: 2026-12-05 06:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3b8d1c6a2e4'
down_revision = 'c81e4b7d2a90'
branch_labels = None
depends_on = None

# The stored strings as they stand before and after this revision.
CASE_EVENT_KINDS = (
    "'note', 'reason', 'budget', 'promise', 'rating', 'plan_accepted', 'plan_requested', "
    "'request_decided', 'request_withdrawn', 'flag_set', 'flag_cleared', 'opted_out', 'opted_in', "
    "'sms_reply', 'message_blocked', 'message_failed', 'link_issued', 'link_revoked', 'link_sent', "
    "'link_delivered', 'link_opened', 'link_verified', 'link_offer_viewed', 'link_accepted', "
    "'personalised_requested', 'personalised_decided', 'plan_completed', 'plan_broken', 'promise_kept', "
    "'promise_broken', 'payment_assigned', 'task_opened', 'task_done', 'case_assigned', 'case_released'"
)
NEW_CASE_EVENT_KINDS = CASE_EVENT_KINDS + ", 'message_requeued'"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_events_kind_known'), f"kind IN ({kinds})")


def upgrade():
    _kinds(NEW_CASE_EVENT_KINDS)


def downgrade():
    op.execute("DELETE FROM case_events WHERE kind = 'message_requeued'")
    _kinds(CASE_EVENT_KINDS)
