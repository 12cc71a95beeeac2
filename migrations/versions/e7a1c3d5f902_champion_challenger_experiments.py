"""champion/challenger experiments: experiments, experiment_arms, experiment_assignments;
policy versions may be challengers

Revision ID: e7a1c3d5f902
Revises: 8f2b6d4e1a93
Create Date: 2026-12-01 04:00:00.000000

"""
import sqlalchemy as sa

import portal.db_types
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7a1c3d5f902'
down_revision = '8f2b6d4e1a93'
branch_labels = None
depends_on = None

POLICY_STATES = "'draft', 'pending', 'active', 'scheduled', 'retired', 'rejected'"
RUNNING = sa.text("state = 'running'")


def upgrade():
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_policy_versions_state_known'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_policy_versions_state_known'), f"state IN ({POLICY_STATES}, 'challenger')"
        )

    op.create_table(
        'experiments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('primary_metric', sa.String(length=32), nullable=False),
        sa.Column('guardrails', sa.JSON(), nullable=False),
        sa.Column('baseline_rate', portal.db_types.ExactDecimal(precision=9, scale=6), nullable=False),
        sa.Column('mde', portal.db_types.ExactDecimal(precision=9, scale=6), nullable=False),
        sa.Column('alpha', portal.db_types.ExactDecimal(precision=9, scale=6), nullable=False),
        sa.Column('power', portal.db_types.ExactDecimal(precision=9, scale=6), nullable=False),
        sa.Column('planned_n', sa.Integer(), nullable=False),
        sa.Column('author', sa.String(length=120), nullable=False),
        sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('proposed_action', sa.String(length=16), nullable=True),
        sa.Column('proposed_arm_id', sa.Integer(), nullable=True),
        sa.Column('proposed_by', sa.String(length=120), nullable=True),
        sa.Column('proposed_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('proposal_comment', sa.Text(), nullable=True),
        sa.Column('approver', sa.String(length=120), nullable=True),
        sa.Column('started_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('stopped_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('promoted_version_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'running', 'stopped', 'rejected')", name=op.f('ck_experiments_state_known')),
        sa.CheckConstraint(
            "proposed_action IS NULL OR proposed_action IN ('start', 'stop', 'promote')",
            name=op.f('ck_experiments_proposal_known'),
        ),
        sa.CheckConstraint("primary_metric IN ('plan_accepted', 'kept_to_cycle_3')", name=op.f('ck_experiments_metric_known')),
        sa.CheckConstraint(
            "alpha > 0 AND power > 0 AND baseline_rate > 0 AND mde > 0",
            name=op.f('ck_experiments_design_in_range'),
        ),
        sa.CheckConstraint("approver IS NULL OR approver <> proposed_by", name=op.f('ck_experiments_maker_is_not_checker')),
        sa.ForeignKeyConstraint(['promoted_version_id'], ['policy_versions.id'], name=op.f('fk_experiments_promoted_version_id_policy_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    )
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.create_index('uq_experiments_one_running', ['currency'], unique=True, sqlite_where=RUNNING, postgresql_where=RUNNING)

    op.create_table(
        'experiment_arms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('experiment_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('policy_version_id', sa.Integer(), nullable=False),
        sa.Column('share', portal.db_types.ExactDecimal(precision=9, scale=6), nullable=False),
        sa.CheckConstraint('share > 0', name=op.f('ck_experiment_arms_share_in_range')),
        sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_arms_experiment_id_experiments')),
        sa.ForeignKeyConstraint(['policy_version_id'], ['policy_versions.id'], name=op.f('fk_experiment_arms_policy_version_id_policy_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_arms')),
        sa.UniqueConstraint('experiment_id', 'position', name='uq_experiment_arms_position'),
        sa.UniqueConstraint('experiment_id', 'policy_version_id', name='uq_experiment_arms_version'),
    )
    with op.batch_alter_table('experiment_arms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiment_arms_experiment_id'), ['experiment_id'], unique=False)

    op.create_table(
        'experiment_assignments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('experiment_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('arm_id', sa.Integer(), nullable=False),
        sa.Column('exposure', sa.String(length=16), nullable=False),
        sa.Column('assigned_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("exposure IN ('offers_viewed', 'link_sent')", name=op.f('ck_experiment_assignments_exposure_known')),
        sa.ForeignKeyConstraint(['account_id'], ['card_accounts.id'], name=op.f('fk_experiment_assignments_account_id_card_accounts')),
        sa.ForeignKeyConstraint(['arm_id'], ['experiment_arms.id'], name=op.f('fk_experiment_assignments_arm_id_experiment_arms')),
        sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_assignments_experiment_id_experiments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_assignments')),
        sa.UniqueConstraint('experiment_id', 'account_id', name='uq_experiment_assignments_account'),
    )
    with op.batch_alter_table('experiment_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_experiment_assignments_arm', ['arm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_experiment_assignments_account_id'), ['account_id'], unique=False)


def downgrade():
    op.drop_table('experiment_assignments')
    op.drop_table('experiment_arms')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_index('uq_experiments_one_running', sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.drop_table('experiments')
    op.execute("UPDATE policy_versions SET state = 'retired' WHERE state = 'challenger'")
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_policy_versions_state_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_policy_versions_state_known'), f"state IN ({POLICY_STATES})")
