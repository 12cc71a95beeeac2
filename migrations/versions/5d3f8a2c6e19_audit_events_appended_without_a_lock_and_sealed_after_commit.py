"""audit events appended without a lock, chained by a sealer after commit

Revision ID: 5d3f8a2c6e19
Revises: d4a7c2e9f153
Create Date: 2026-11-30 17:40:00

New events (chain_version 3) carry a keyed MAC of their content and of a random nonce
(unique, so a copied event is refused) from the start and get
their chain position and link from the sealer, so the link columns become nullable
(an event waiting for the sealer has none). Events already written were chained in id
order: they get that order as their position, and the head record over them stays.
"""
import sqlalchemy as sa
from alembic import op

revision = '5d3f8a2c6e19'
down_revision = 'd4a7c2e9f153'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('content_mac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE audit_events SET position = numbered.n "
        "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events) AS numbered "
        "WHERE audit_events.id = numbered.id"
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_position'), ['position'])
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_content_mac'), ['content_mac'])
        batch_op.drop_constraint(batch_op.f('ck_audit_events_chain_version_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_audit_events_chain_version_known'), 'chain_version IN (1, 2, 3)')
        batch_op.create_check_constraint(
            batch_op.f('ck_audit_events_sealed_with_a_link'),
            "(position IS NULL AND prev_hash IS NULL AND hash IS NULL AND chain_version = 3)"
            " OR (position IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_audit_events_new_events_carry_a_mac'),
            'chain_version < 3 OR (content_mac IS NOT NULL AND nonce IS NOT NULL)',
        )


def downgrade():
    # Version 3 events cannot be expressed in the older scheme (their hash binds a
    # position and a content MAC): refuse rather than leave an unverifiable trail.
    new = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_events WHERE chain_version = 3")).scalar()
    if new:
        raise RuntimeError(f"{new} audit events use chain_version 3: downgrading would make the "
                           "audit chain unverifiable")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_events_new_events_carry_a_mac'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_audit_events_sealed_with_a_link'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_audit_events_chain_version_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_audit_events_chain_version_known'), 'chain_version IN (1, 2)')
        batch_op.drop_constraint(batch_op.f('uq_audit_events_content_mac'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_audit_events_position'), type_='unique')
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('position')
        batch_op.drop_column('content_mac')
        batch_op.drop_column('nonce')
