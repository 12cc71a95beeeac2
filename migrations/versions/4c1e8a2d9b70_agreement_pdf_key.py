"""agreements may keep their signed PDF in an object store: agreements.pdf_key

A signed agreement holds its bytes in ``pdf`` (the database store) or the key of the
object that holds them in ``pdf_key`` (``PORTAL_AGREEMENT_STORE=s3``); the CHECK that a
signed agreement has its document accepts either.

Revision ID: 4c1e8a2d9b70
Revises: 0dba5a7e5195
Create Date: 2026-12-02 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '4c1e8a2d9b70'
down_revision = '0dba5a7e5195'
branch_labels = None
depends_on = None

OLD_CHECK = "state = 'pending' OR (pdf IS NOT NULL AND sha256 IS NOT NULL AND signed_at IS NOT NULL)"
NEW_CHECK = (
    "state = 'pending' OR ((pdf IS NOT NULL OR pdf_key IS NOT NULL) "
    "AND sha256 IS NOT NULL AND signed_at IS NOT NULL)"
)


def upgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_key', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_agreements_signed_has_document'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_agreements_signed_has_document'), NEW_CHECK)


def downgrade():
    # Agreements kept in the object store cannot be put back in the old shape: refuse
    # rather than leave signed rows without their document.
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM agreements WHERE pdf_key IS NOT NULL")).scalar():
        raise RuntimeError("agreements are kept in the object store: copy them into agreements.pdf first")
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_agreements_signed_has_document'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_agreements_signed_has_document'), OLD_CHECK)
        batch_op.drop_column('pdf_key')
