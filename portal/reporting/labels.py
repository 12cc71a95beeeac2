"""The words the report pages use for metrics, channels and splits (import-time, lazy)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.reporting.models import Metric
from portal.reporting.queries import Split

METRICS = {
    Metric.LINK_SENT: _l("Link sent"),
    Metric.DELIVERED: _l("Delivered"),
    Metric.OPENED: _l("Opened"),
    Metric.VERIFIED: _l("Identity verified"),
    Metric.OFFERS_VIEWED: _l("Offers viewed"),
    Metric.ACCEPTED: _l("Plan accepted or request sent"),
    Metric.FIRST_PAYMENT: _l("First payment"),
    Metric.KEPT_CYCLE_3: _l("Kept to the third installment"),
    Metric.COMPLETED: _l("Completed"),
    Metric.BROKEN: _l("Broken"),
    Metric.PROMISE_MADE: _l("Promises made"),
    Metric.PROMISE_KEPT: _l("Promises kept"),
    Metric.PROMISE_BROKEN: _l("Promises broken"),
    Metric.RECOVERED: _l("Amount recovered"),
    Metric.BOOK: _l("Balance past due"),
    Metric.OPT_OUT: _l("Opt-outs"),
    Metric.COMPLAINT: _l("Complaints (disputes raised)"),
    Metric.HARDSHIP_REQUEST: _l("Hardship requests"),
    Metric.RATING: _l("Ratings"),
}

SPLITS = {
    Split.NONE: _l("Nothing (all together)"),
    Split.TIER: _l("Tier"),
    Split.CHANNEL: _l("Channel"),
    Split.POLICY_VERSION: _l("Policy version"),
    Split.AGENT: _l("Agent who sent the link"),
    Split.LANGUAGE: _l("Language"),
    Split.WEEK: _l("Week"),
}

CHANNELS = {
    "sms": _l("SMS"),
    "email": _l("E-mail"),
    "self": _l("Self-started"),
    "care": _l("By care staff"),
    "link": _l("Link"),
    "": _l("None"),
}

LANGUAGES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文", "": _l("None")}
