"""Every model, imported in one place so Alembic and the app see the whole schema."""

from portal.accounts.models import CardAccount, Cardholder
from portal.agreements.models import Agreement  # noqa: F401
from portal.answers.models import AskedQuestion  # noqa: F401
from portal.audit.models import AuditEvent
from portal.auth.models import OneTimeCode, WebSession
from portal.care.models import CallAttempt, CaseState
from portal.cases.models import CaseEvent, Promise
from portal.experiments.models import Experiment, ExperimentArm, ExperimentAssignment
from portal.integrations.core_banking.models import ApiMessage, IdempotencyRecord, PlanEvent
from portal.links.models import PlanLink
from portal.notifications.models import OutboxMessage
from portal.payments.models import Payment
from portal.plans.models import Plan, PlanInstallment, Signature
from portal.policies.models import PolicyVersion
from portal.reporting.models import (  # noqa: F401
    ReportAccountMonth,
    ReportComment,
    ReportDaily,
    ReportPastDue,
    ReportPlanMilestone,
    ReportRoll,
)
from portal.scheduler.models import SchedulerJob
from portal.servicing.models import ServicingRun
from portal.staff.models import EnrolmentToken, StaffSignInThrottle, StaffUser

__all__ = [
    "AuditEvent",
    "CardAccount",
    "Cardholder",
    "CaseEvent",
    "OneTimeCode",
    "OutboxMessage",
    "Payment",
    "Plan",
    "PlanEvent",
    "PlanInstallment",
    "PlanLink",
    "PolicyVersion",
    "Promise",
    "SchedulerJob",
    "ServicingRun",
    "Signature",
]
__all__ += ["ApiMessage", "IdempotencyRecord"]
__all__ += ["EnrolmentToken", "StaffSignInThrottle", "StaffUser", "WebSession"]
__all__ += ["Experiment", "ExperimentArm", "ExperimentAssignment"]
__all__ += ["CallAttempt", "CaseState"]
