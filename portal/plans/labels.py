"""Why a supervisor declined a request, in the words the cardholder is shown."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.plans.models import DECLINE_REASONS

DECLINE_REASON_TEXT = {
    "income_too_low": _l("Your income is not enough for this plan right now."),
    "other_plan_fits": _l("Another plan fits your situation better."),
    "need_documents": _l("We need documents that show your situation before we can agree this plan."),
    "account_disputed": _l("Your account is under dispute. Plans wait until the dispute is settled."),
    "payments_too_small": _l("The payments would be smaller than this plan allows."),
    "other": _l("Our team could not agree this plan. The note below says why."),
}
assert set(DECLINE_REASON_TEXT) == set(DECLINE_REASONS)


def decline_reason_text(code: str | None) -> str:
    """The plain-words reason for ``code`` (the general one when unknown)."""
    return str(DECLINE_REASON_TEXT.get(code or "other", DECLINE_REASON_TEXT["other"]))


def decline_reason_message(code: str | None) -> str:
    """The reason as a text message says it: there, no note follows to say more."""
    if (code or "other") not in DECLINE_REASON_TEXT or code in (None, "other"):
        return str(_l("Our team could not agree this plan. Sign in to read why."))
    return decline_reason_text(code)
