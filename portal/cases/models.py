"""Case-file events and promises to pay."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.audit.actors import ActorType
from portal.db_types import Money, UTCDateTime, sql_values, utcnow
from portal.extensions import Model


class CaseEventKind(StrEnum):
    """What a case-file entry records. ``add_event`` accepts only these; a test proves each
    is written somewhere or listed in ``RESERVED_KINDS``; the database refuses others."""

    NOTE = "note"
    REASON = "reason"
    BUDGET = "budget"
    PROMISE = "promise"
    RATING = "rating"
    PLAN_ACCEPTED = "plan_accepted"
    PLAN_REQUESTED = "plan_requested"
    REQUEST_DECIDED = "request_decided"
    REQUEST_WITHDRAWN = "request_withdrawn"
    FLAG_SET = "flag_set"
    FLAG_CLEARED = "flag_cleared"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    SMS_REPLY = "sms_reply"
    MESSAGE_BLOCKED = "message_blocked"
    MESSAGE_FAILED = "message_failed"
    # Staff put a failed or blocked message back in the queue (portal.notifications.monitor).
    MESSAGE_REQUEUED = "message_requeued"
    LINK_ISSUED = "link_issued"
    LINK_REVOKED = "link_revoked"
    # The link funnel (``portal.links.models.LinkStep``), one entry per step reached.
    LINK_SENT = "link_sent"
    LINK_DELIVERED = "link_delivered"
    LINK_OPENED = "link_opened"
    LINK_VERIFIED = "link_verified"
    LINK_OFFER_VIEWED = "link_offer_viewed"
    LINK_ACCEPTED = "link_accepted"
    # The daily servicing run's verdicts (portal.servicing): data says which plan or promise and why.
    PLAN_COMPLETED = "plan_completed"
    PLAN_BROKEN = "plan_broken"
    PROMISE_KEPT = "promise_kept"
    PROMISE_BROKEN = "promise_broken"
    # Care staff assigned a payment from the unmatched review list to this account.
    PAYMENT_ASSIGNED = "payment_assigned"
    # Work for care staff on this case (portal.cases.tasks): a call-back, a follow-up, a question.
    TASK_OPENED = "task_opened"
    TASK_DONE = "task_done"
    # Who owns the case (portal.care.workbench): assigned, taken, drawn by "next case", released.
    CASE_ASSIGNED = "case_assigned"
    CASE_RELEASED = "case_released"
    # Written before plan requests replaced them; old case files still hold them.
    PERSONALISED_REQUESTED = "personalised_requested"
    PERSONALISED_DECIDED = "personalised_decided"


RESERVED_KINDS = {
    CaseEventKind.PERSONALISED_REQUESTED: "written until plan requests (plan_requested) replaced it",
    CaseEventKind.PERSONALISED_DECIDED: "written until plan requests (request_decided) replaced it",
}


class PromiseState(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


class TaskKind(StrEnum):
    """What a case task asks care staff to do."""

    CALLBACK = "callback"  # ring the cardholder back at the time agreed with them
    FOLLOW_UP = "follow_up"  # look at the case again at a date
    QUESTION = "question"  # a cardholder's question that needs a person (``reason`` says why)


class CaseEvent(Model):
    """One entry on an account's timeline (reason given, budget checked, promise, rating, …)."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_account_time", "account_id", "created_at"),
        # The servicing run folds a day's events of each kind into the reports.
        Index("ix_case_events_kind_time", "kind", "created_at"),
        CheckConstraint(f"kind IN ({sql_values(CaseEventKind)})", name="kind_known"),
        CheckConstraint(f"actor_type IN ({sql_values(ActorType)})", name="actor_type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Promise(Model):
    """A promise to pay an amount by a date, without a plan."""

    __tablename__ = "promises"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"state IN ({sql_values(PromiseState)})", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    pay_by: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=PromiseState.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseTask(Model):
    """Something a person at the care desk should do on a case, by ``due_at`` (None: as soon
    as possible), for ``owner_id`` (None: anyone on the queue). Done when ``done_at`` is set.

    ``reason`` qualifies the kind (for a question: the rule that routed it to a person);
    ``note`` is what the person doing it needs to know, never a card number or a code.
    """

    __tablename__ = "case_tasks"
    __table_args__ = (
        Index("ix_case_tasks_account_open", "account_id", "done_at"),
        Index("ix_case_tasks_open_due", "done_at", "due_at"),
        CheckConstraint(f"kind IN ({sql_values(TaskKind)})", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))  # an actor key (portal.audit.actors)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_open(self) -> bool:
        return self.done_at is None
