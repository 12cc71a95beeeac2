"""Every audit action the portal writes, grouped by feature (Warehouse's ``events/tags.py``).

:func:`portal.audit.service.record` accepts only members of an :class:`AuditAction`
subclass: mypy refuses a bare string at the call, and ``record`` refuses one at run time.
The stored value is the member's string, so events written before this registry read the
same. A test proves every member is used somewhere in ``portal/`` or listed in
:data:`RESERVED`, and that no ``record()`` call names an action any other way.

To add an action: add a member here (``<feature>.<what_happened>``, past tense), use it.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """The base of every group. It has no members itself: only groups are subclassed."""


class Action:
    """The registry: ``Action.Plan.ACCEPTED`` and so on."""

    class Account(AuditAction):
        FLAG_SET = "account.flag_set"
        FLAG_CLEARED = "account.flag_cleared"
        SNAPSHOT_APPLIED = "account.snapshot_applied"  # the core system's balance snapshot

    class Agreement(AuditAction):
        SIGNED = "agreement.signed"

    class Audit(AuditAction):
        EXPORTED = "audit.exported"

    class Care(AuditAction):
        SEARCHED = "care.searched"

    class Case(AuditAction):
        VIEWED = "case.viewed"
        NOTE_ADDED = "case.note_added"
        REASON_SET = "case.reason_set"
        BUDGET_RECORDED = "case.budget_recorded"
        RATING_GIVEN = "case.rating_given"
        TASK_OPENED = "case.task_opened"
        TASK_DONE = "case.task_done"
        ASSIGNED = "case.assigned"  # an owner: by a supervisor, taken, or drawn by "next case"
        RELEASED = "case.released"
        CALL_RECORDED = "case.call_recorded"  # a phone call care staff made, and its outcome

    class Contact(AuditAction):
        OPTED_OUT = "contact.opted_out"
        OPTED_IN = "contact.opted_in"
        REPLY_RECEIVED = "contact.reply_received"

    class Demo(AuditAction):
        ACCOUNT_CREATED = "demo.account_created"
        STAFF_CREATED = "demo.staff_created"

    class Experiment(AuditAction):
        """Champion/challenger experiments (portal.experiments), maker-checker like policies."""

        CREATED = "experiment.created"
        PROPOSED = "experiment.proposed"  # start, stop or promote, waiting for a second admin
        REJECTED = "experiment.rejected"
        STARTED = "experiment.started"
        STOPPED = "experiment.stopped"
        PROMOTED = "experiment.promoted"
        ASSIGNED = "experiment.assigned"  # an account's arm, at its first exposure

    class Link(AuditAction):
        ISSUED = "link.issued"
        REVOKED = "link.revoked"
        REFUSED = "link.refused"
        OTHER_ACCOUNT = "link.other_account"
        # The funnel steps (``portal.links.models.LinkStep``), stamped once each.
        SENT = "link.sent"
        DELIVERED = "link.delivered"
        OPENED = "link.opened"
        VERIFIED = "link.verified"
        OFFER_VIEWED = "link.offer_viewed"
        ACCEPTED = "link.accepted"

    class Message(AuditAction):
        QUEUED = "message.queued"
        HELD = "message.held"
        BLOCKED = "message.blocked"
        SENT = "message.sent"
        RETRY = "message.retry"
        FAILED = "message.failed"
        DELIVERED = "message.delivered"
        UNDELIVERED = "message.undelivered"

    class Outbox(AuditAction):
        REQUEUED = "outbox.requeued"  # staff put a dead-lettered webhook or a failed/blocked message back in the queue

    class Payment(AuditAction):
        POSTED = "payment.posted"  # matched to an account on arrival
        UNMATCHED = "payment.unmatched"  # recorded; waits for care staff
        REVERSED = "payment.reversed"  # a reversal un-posted it
        ASSIGNED = "payment.assigned"  # care staff assigned an unmatched payment to an account
        NOT_OURS = "payment.not_ours"  # care staff decided an unmatched payment is not ours

    class Plan(AuditAction):
        ACCEPTED = "plan.accepted"
        REQUESTED = "plan.requested"
        REQUEST_WITHDRAWN = "plan.request_withdrawn"
        REQUEST_APPROVED = "plan.request_approved"
        REQUEST_DECLINED = "plan.request_declined"
        COMPLETED = "plan.completed"  # the servicing run: every installment paid
        BROKEN = "plan.broken"  # the servicing run: broken by the plan's own frozen rules

    class Policy(AuditAction):
        DRAFT_CREATED = "policy.draft_created"
        DRAFT_SAVED = "policy.draft_saved"
        SUBMITTED = "policy.submitted"
        WITHDRAWN = "policy.withdrawn"
        APPROVED = "policy.approved"
        REJECTED = "policy.rejected"
        ACTIVATED = "policy.activated"
        RETIRED = "policy.retired"

    class Promise(AuditAction):
        MADE = "promise.made"
        KEPT = "promise.kept"  # the servicing run: paid in full since it was made
        BROKEN = "promise.broken"  # the servicing run: its date (and settle days) passed unpaid

    class SignIn(AuditAction):
        """A cardholder's sign-in."""

        CODE_SENT = "signin.code_sent"
        IDENTITY_FAILED = "signin.identity_failed"
        CODE_FAILED = "signin.code_failed"
        LOCKED = "signin.locked"
        SUCCEEDED = "signin.succeeded"

    class Staff(AuditAction):
        CREATED = "staff.created"
        ENROLMENT_REISSUED = "staff.enrolment_reissued"
        ENROLLED = "staff.enrolled"
        ACTIVATED = "staff.activated"
        DEACTIVATED = "staff.deactivated"
        ROLE_CHANGED = "staff.role_changed"
        SIGNED_IN = "staff.signed_in"
        SIGNIN_FAILED = "staff.signin_failed"
        SIGNIN_REFUSED_LOCKED = "staff.signin_refused_locked"
        LOCKED = "staff.locked"
        SIGNED_OUT = "staff.signed_out"
        SESSION_EXPIRED = "staff.session_expired"


# Registered but not written by today's code, each with the reason it stays.
RESERVED: dict[AuditAction, str] = {
    Action.Link.REFUSED: "written until a GET stopped writing for refused links; older trails hold it",
}


def registered() -> list[AuditAction]:
    """Every member of every group defined in the portal, in definition order."""
    return [
        member for group in AuditAction.__subclasses__() if group.__module__.startswith("portal.") for member in group
    ]
