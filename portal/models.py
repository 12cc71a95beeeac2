"""Every model, imported in one place so Alembic and the app see the whole schema."""

from portal.accounts.models import CardAccount, Cardholder, Payment
from portal.audit.models import AuditEvent
from portal.auth.models import OneTimeCode
from portal.notifications.models import OutboxMessage

__all__ = ["AuditEvent", "CardAccount", "Cardholder", "OneTimeCode", "OutboxMessage", "Payment"]
