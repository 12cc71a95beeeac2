"""staff admins, and a partial index of the requests waiting for approval

A new role, ``staff_admin`` (manages staff accounts in the browser), so the CHECK on
``staff_users.role`` is rewritten with it. The approvals page and the navigation's count
of waiting requests read ``ix_plans_pending_approval``, a partial index on ``created_at``
of the plans in ``pending_approval``.

Revision ID: a3c9e5d1f7b2
Revises: a3c9e5f7b210
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c9e5d1f7b2'
down_revision = 'a3c9e5f7b210'
branch_labels = None
depends_on = None

ROLES = "'agent', 'supervisor', 'policy_admin', 'auditor'"
NEW_ROLES = ROLES + ", 'staff_admin'"
PENDING = sa.text("state = 'pending_approval'")


def _role_check(roles: str) -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_staff_users_role_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_users_role_known'), f"role IN ({roles})")


def upgrade():
    _role_check(NEW_ROLES)
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index('ix_plans_pending_approval', ['created_at'], unique=False, sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index('ix_plans_pending_approval', sqlite_where=PENDING, postgresql_where=PENDING)
    # Staff admins cannot stay behind a CHECK that does not know them: they lose their access.
    op.execute("UPDATE staff_users SET active = false WHERE role = 'staff_admin'")
    op.execute("UPDATE staff_users SET role = 'auditor' WHERE role = 'staff_admin'")
    _role_check(ROLES)
