"""Forgetting the secrets that messages carry (sign-in codes, plan-link tokens).

A secret is kept beside its message only while it is needed to send it. A real channel
(SMS gateway, SMTP relay) has it once the message is sent, so it is forgotten then. The
development channel sends nowhere: its outbox page IS the recipient's phone, so there
the secret stays readable until it expires, like the code in a text message. Expired
secrets are forgotten by every round of the outbox worker (``portal deliver``); a
revoked or used link, a failed or blocked message forgets its secret at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage


def forget_secret(message: OutboxMessage) -> None:
    """Drop the message's secret now (its body keeps the mask; the caller commits)."""
    message.secret = None


def forget_link_secrets(link_id: int) -> None:
    """The link's token is dead (revoked or used): no message about it keeps it."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.link_id == link_id, OutboxMessage.secret.is_not(None))
        .values(secret=None)
        .execution_options(synchronize_session="fetch")
    )


def forget_signin_codes(account_id: int) -> None:
    """Earlier codes stop working when a new one is sent or one is used: forget them all."""
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.account_id == account_id,
            OutboxMessage.kind == "signin_code",
            OutboxMessage.secret.is_not(None),
        )
        .values(secret=None)
        .execution_options(synchronize_session="fetch")
    )


def forget_expired_secrets(now: datetime | None = None) -> None:
    """Forget every secret whose code or link has expired (the caller commits)."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.secret.is_not(None), OutboxMessage.secret_until <= (now or utcnow()))
        .values(secret=None)
        .execution_options(synchronize_session=False)
    )


def secret_lost(message: OutboxMessage) -> bool:
    """True when the message needed a secret that is gone (expired before it could go)."""
    return message.secret_until is not None and message.secret is None
