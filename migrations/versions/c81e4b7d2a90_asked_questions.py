"""asked questions: what cardholders asked the answers box, without account data (issue 18)

An ``asked_questions`` table: the scrubbed question, its language, the guide and score
it was answered with, whether the answer was confident, the rule that sent it to a
person, and when. Nothing refers to an account.

Revision ID: c81e4b7d2a90
Revises: a7c3e91d5b24
Create Date: 2026-12-04 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.db_types


# revision identifiers, used by Alembic.
revision = 'c81e4b7d2a90'
down_revision = 'a7c3e91d5b24'
branch_labels = None
depends_on = None

LOCALES = "'en', 'zh_Hans', 'zh_Hant'"
REASONS = "'self_harm', 'fraud', 'bereavement', 'dispute', 'complaint', 'hardship', 'human'"


def upgrade():
    op.create_table(
        'asked_questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('grouped', sa.String(length=500), nullable=False),
        sa.Column('topic', sa.String(length=64), nullable=True),
        sa.Column('score', portal.db_types.ExactDecimal(precision=9, scale=3), nullable=False),
        sa.Column('confident', sa.Boolean(), nullable=False),
        sa.Column('escalate', sa.String(length=16), nullable=True),
        sa.Column('asked_at', portal.db_types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"locale IN ({LOCALES})", name=op.f('ck_asked_questions_locale_known')),
        sa.CheckConstraint(
            f"escalate IS NULL OR escalate IN ({REASONS})", name=op.f('ck_asked_questions_escalate_known')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_asked_questions')),
    )
    with op.batch_alter_table('asked_questions', schema=None) as batch_op:
        batch_op.create_index('ix_asked_questions_asked_at', ['asked_at'], unique=False)
        batch_op.create_index('ix_asked_questions_confident_time', ['confident', 'asked_at'], unique=False)


def downgrade():
    op.drop_table('asked_questions')
