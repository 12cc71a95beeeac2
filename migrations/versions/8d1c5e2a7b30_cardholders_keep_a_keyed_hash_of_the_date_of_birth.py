"""cardholders keep a keyed hash of the date of birth, not the date

Revision ID: 8d1c5e2a7b30
Revises: 450ad35f762c
Create Date: 2026-11-30 14:30:00

The hash needs the deployment's card-hash key, which is configuration, not database
content: run this through ``flask --app wsgi db upgrade`` (the app's ``CARD_HASH_KEY``,
from ``PORTAL_CARD_HASH_KEY``, is read from ``current_app``). Without an app and with
cardholders to convert, it stops rather than lose their dates.
"""
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op

revision = '8d1c5e2a7b30'
down_revision = '450ad35f762c'
branch_labels = None
depends_on = None


def _card_hash_key() -> str:
    from flask import current_app

    try:
        return str(current_app.config["CARD_HASH_KEY"])
    except (RuntimeError, KeyError):
        raise RuntimeError("hashing dates of birth needs the app's CARD_HASH_KEY: "
                           "run this migration with `flask --app wsgi db upgrade`") from None


def upgrade():
    with op.batch_alter_table('cardholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_of_birth_hash', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    holders = sa.table('cardholders', sa.column('id', sa.Integer), sa.column('date_of_birth', sa.Date),
                       sa.column('date_of_birth_hash', sa.String))
    rows = bind.execute(sa.select(holders.c.id, holders.c.date_of_birth)).all()
    if rows:
        key = _card_hash_key().encode()
        for holder_id, born in rows:
            # The same function as portal.security.birth_date_hash, frozen here as of this revision.
            digest = hmac.new(key, b"dob:" + born.isoformat().encode(), hashlib.sha256).hexdigest()
            bind.execute(holders.update().where(holders.c.id == holder_id).values(date_of_birth_hash=digest))

    with op.batch_alter_table('cardholders', schema=None) as batch_op:
        batch_op.alter_column('date_of_birth_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('date_of_birth')


def downgrade():
    # The dates cannot be recovered from their keyed hashes: a downgrade gives every
    # cardholder 1900-01-01, which matches no one at sign-in until the bank reloads them.
    with op.batch_alter_table('cardholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_of_birth', sa.Date(), nullable=False,
                                      server_default=sa.text("'1900-01-01'")))
        batch_op.drop_column('date_of_birth_hash')
    with op.batch_alter_table('cardholders', schema=None) as batch_op:
        batch_op.alter_column('date_of_birth', existing_type=sa.Date(), server_default=None)
