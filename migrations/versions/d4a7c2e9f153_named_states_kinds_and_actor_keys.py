"""named states, case-event kinds and actor types are checked; stored actors are keys

Promise states, case-event kinds and the actor type of case events and audit events get
CHECK constraints (plans, policy versions, agreements and the outbox had theirs). Single
column actor references that held a bare staff id (plans.decided_by, plan_links.created_by
and revoked_by) are rewritten to the one actor notation, ``staff:<id>``
(portal.audit.actors); audit events keep their two columns and are not rewritten (they
are hash-chained).

Revision ID: d4a7c2e9f153
Revises: 9c1e5a7d2b40
Create Date: 2026-11-30 17:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4a7c2e9f153'
down_revision = '9c1e5a7d2b40'
branch_labels = None
depends_on = None

# The stored strings as they stand at this revision (later kinds come with their own migration).
PROMISE_STATES = "'open', 'kept', 'broken'"
CASE_EVENT_KINDS = (
    "'note', 'reason', 'budget', 'promise', 'rating', 'plan_accepted', 'plan_requested', "
    "'request_decided', 'request_withdrawn', 'flag_set', 'flag_cleared', 'opted_out', 'opted_in', "
    "'sms_reply', 'message_blocked', 'message_failed', 'link_issued', 'link_revoked', 'link_sent', "
    "'link_delivered', 'link_opened', 'link_verified', 'link_offer_viewed', 'link_accepted', "
    "'personalised_requested', 'personalised_decided'"
)
ACTOR_TYPES = "'cardholder', 'staff', 'system', 'anonymous'"

# Only staff decide requests and issue or revoke links, so a bare value there is a staff id.
ACTOR_COLUMNS = (("plans", "decided_by"), ("plan_links", "created_by"), ("plan_links", "revoked_by"))


def upgrade():
    for table, column in ACTOR_COLUMNS:
        op.execute(
            f"UPDATE {table} SET {column} = 'staff:' || {column} "
            f"WHERE {column} IS NOT NULL AND {column} NOT LIKE '%:%' AND {column} NOT IN ('system', 'anonymous')"
        )
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_promises_state_known'), f"state IN ({PROMISE_STATES})")
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_case_events_kind_known'), f"kind IN ({CASE_EVENT_KINDS})")
        batch_op.create_check_constraint(
            batch_op.f('ck_case_events_actor_type_known'), f"actor_type IN ({ACTOR_TYPES})"
        )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f('ck_audit_events_actor_type_known'), f"actor_type IN ({ACTOR_TYPES})"
        )


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_events_actor_type_known'), type_='check')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_actor_type_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_case_events_kind_known'), type_='check')
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_promises_state_known'), type_='check')
    for table, column in ACTOR_COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = substr({column}, 7) WHERE {column} LIKE 'staff:%'")
