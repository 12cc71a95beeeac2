"""cardholders keep look-up keys for care search: phone's last four digits, e-mail as compared

Care search finds a phone number by its last 4 or more digits and an e-mail address by
its text through these indexed columns (portal.accounts.lookup_keys); the rows already
there are filled here, in batches, with the same functions the model uses.

Revision ID: a7c3e91d5b24
Revises: d8e2b6f4a913
Create Date: 2026-12-01 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from portal.accounts.lookup_keys import email_key, phone_last4

revision = "a7c3e91d5b24"
down_revision = 'd8e2b6f4a913'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    with op.batch_alter_table("cardholders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_last4", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("email_key", sa.String(length=254), nullable=True))
        batch_op.create_index(batch_op.f("ix_cardholders_phone_last4"), ["phone_last4"], unique=False)
        batch_op.create_index(batch_op.f("ix_cardholders_email_key"), ["email_key"], unique=False)

    bind = op.get_bind()
    holders = sa.table(
        "cardholders",
        sa.column("id", sa.Integer),
        sa.column("phone", sa.String),
        sa.column("email", sa.String),
        sa.column("phone_last4", sa.String),
        sa.column("email_key", sa.String),
    )
    fill = (
        holders.update()
        .where(holders.c.id == sa.bindparam("row_id"))
        .values(phone_last4=sa.bindparam("last4"), email_key=sa.bindparam("key"))
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(holders.c.id, holders.c.phone, holders.c.email)
            .where(holders.c.id > after)
            .order_by(holders.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(fill, [{"row_id": i, "last4": phone_last4(p), "key": email_key(e)} for i, p, e in rows])
        after = rows[-1][0]


def downgrade():
    with op.batch_alter_table("cardholders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cardholders_email_key"))
        batch_op.drop_index(batch_op.f("ix_cardholders_phone_last4"))
        batch_op.drop_column("email_key")
        batch_op.drop_column("phone_last4")
