"""Queueing messages to cardholders. Every message is an outbox row first."""

from __future__ import annotations

from flask_babel import force_locale, gettext

from portal.accounts.models import CardAccount
from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from sqlalchemy import select


def queue_signin_code(account: CardAccount, code: str, bank_name: str) -> OutboxMessage:
    """Queue a sign-in code by SMS in the cardholder's language.

    A code the cardholder asked for is not a collection message: it is never held for
    contact hours or counted against contact caps.
    """
    holder = account.cardholder
    with force_locale(holder.locale):
        body = gettext(
            "%(bank)s: your sign-in code is %(code)s. It expires in 5 minutes. "
            "We will never ask you for this code by phone.",
            bank=bank_name,
            code=code,
        )
    message = OutboxMessage(
        account_id=account.id,
        kind="signin_code",
        channel="sms",
        recipient=holder.phone,
        locale=holder.locale,
        body=body,
        send_after=utcnow(),
    )
    db.session.add(message)
    return message


def recent_messages(limit: int = 50) -> list[OutboxMessage]:
    """Newest first, for the development outbox page and CLI."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def message_as_dict(message: OutboxMessage) -> dict[str, object]:
    return {
        "id": message.id,
        "kind": message.kind,
        "channel": message.channel,
        "recipient": message.recipient,
        "locale": message.locale,
        "subject": message.subject,
        "body": message.body,
        "status": message.status,
        "created_at": message.created_at.isoformat(),
        "account_id": message.account_id,
    }
