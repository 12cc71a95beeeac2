"""the scheduler remembers each timed job's last completed due time: scheduler_jobs

``flask portal scheduler`` runs a job only for a due time later than ``done_slot``, under
a PostgreSQL advisory lock per job, so two schedulers never run one due time twice.

Revision ID: 8f2b6d4e1a93
Revises: 4c1e8a2d9b70
Create Date: 2026-12-02 11:00:00.000000

"""
import sqlalchemy as sa

import portal.db_types
from alembic import op


# revision identifiers, used by Alembic.
revision = '8f2b6d4e1a93'
down_revision = '4c1e8a2d9b70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scheduler_jobs',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('done_slot', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('started_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('last_result', sa.String(length=200), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('retry_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('runs >= 0', name=op.f('ck_scheduler_jobs_runs_non_negative')),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_jobs')),
    )


def downgrade():
    op.drop_table('scheduler_jobs')
