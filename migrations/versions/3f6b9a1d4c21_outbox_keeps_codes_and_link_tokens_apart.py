"""outbox keeps codes and link tokens apart from the body, and only until sent or expired

Revision ID: 3f6b9a1d4c21
Revises: 8d1c5e2a7b30
Create Date: 2026-11-30 14:45:00

Bodies written before this revision still hold their code or token in clear. Those are
masked here: the digits of a sign-in code, the token of a plan-link URL. A message still
queued loses its secret too, so it fails visibly ("expired before it could be sent")
instead of sending a masked link; staff send a new one.
"""
import re

import sqlalchemy as sa
from alembic import op

import portal.db_types

revision = '3f6b9a1d4c21'
down_revision = '8d1c5e2a7b30'
branch_labels = None
depends_on = None

MASK = "••••••"
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
LINK_TOKEN = re.compile(r"(/l/)[A-Za-z0-9_-]{16,}")


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('secret_until', portal.db_types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_secret_until'), ['secret_until'], unique=False)

    bind = op.get_bind()
    outbox = sa.table('outbox_messages', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('body', sa.Text), sa.column('secret_until', portal.db_types.UTCDateTime()),
                      sa.column('created_at', portal.db_types.UTCDateTime()))
    rows = bind.execute(sa.select(outbox.c.id, outbox.c.kind, outbox.c.body, outbox.c.created_at)
                        .where(outbox.c.kind.in_(("signin_code", "plan_link")))).all()
    for message_id, kind, body, created_at in rows:
        masked = CODE.sub(MASK, body, count=1) if kind == "signin_code" else LINK_TOKEN.sub(rf"\g<1>{MASK}", body)
        if masked != body:
            # secret_until set with no secret: the message needed one that is now gone.
            bind.execute(outbox.update().where(outbox.c.id == message_id)
                         .values(body=masked, secret_until=created_at))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_secret_until'))
        batch_op.drop_column('secret_until')
        batch_op.drop_column('secret')
