"""care staff assign unmatched payments: a match basis and a case-event kind for it

A payment assigned from the review list is posted with ``match_basis =
'assigned_by_staff'``, and the account's case file gets a ``payment_assigned`` entry;
both columns carry CHECK constraints, rewritten here with the new value.

Revision ID: 0dba5a7e5195
Revises: 5fd347a040e3
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0dba5a7e5195'
down_revision = '5fd347a040e3'
branch_labels = None
depends_on = None

# The stored strings as they stand before and after this revision.
MATCH_BASES = (
    "'account_reference', 'agreement_reference', 'no_reference', 'ambiguous', 'other_currency', "
    "'original_not_found'"
)
NEW_MATCH_BASES = MATCH_BASES + ", 'assigned_by_staff'"
CASE_EVENT_KINDS = (
    "'note', 'reason', 'budget', 'promise', 'rating', 'plan_accepted', 'plan_requested', "
    "'request_decided', 'request_withdrawn', 'flag_set', 'flag_cleared', 'opted_out', 'opted_in', "
    "'sms_reply', 'message_blocked', 'message_failed', 'link_issued', 'link_revoked', 'link_sent', "
    "'link_delivered', 'link_opened', 'link_verified', 'link_offer_viewed', 'link_accepted', "
    "'personalised_requested', 'personalised_decided', 'plan_completed', 'plan_broken', 'promise_kept', "
    "'promise_broken'"
)
NEW_CASE_EVENT_KINDS = CASE_EVENT_KINDS + ", 'payment_assigned'"


def _checks(bases: str, kinds: str) -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payments_match_basis_known'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_payments_match_basis_known'), f"match_basis IS NULL OR match_basis IN ({bases})"
        )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_events_kind_known'), f"kind IN ({kinds})")


def upgrade():
    _checks(NEW_MATCH_BASES, NEW_CASE_EVENT_KINDS)


def downgrade():
    # Assigned payments stay on their accounts; the old list has no word for how they got there.
    op.execute("UPDATE payments SET match_basis = NULL WHERE match_basis = 'assigned_by_staff'")
    op.execute("DELETE FROM case_events WHERE kind = 'payment_assigned'")
    _checks(MATCH_BASES, CASE_EVENT_KINDS)
