"""What a cardholder sees about their own account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import ColumnElement, and_

from portal.accounts.models import CardAccount
from portal.payments.models import Direction, Payment, PaymentStatus


@dataclass(frozen=True)
class Stage:
    """A plain-words description of how far behind an account is."""

    key: str  # current, early, late, serious, default
    min_dpd: int


# Stages for explanations only; offer tiers are bank policy (see the policies package).
STAGES = (Stage("current", 0), Stage("early", 1), Stage("late", 30), Stage("serious", 90), Stage("default", 180))


def stage_for(days_past_due: int) -> Stage:
    return [stage for stage in STAGES if days_past_due >= stage.min_dpd][-1]


@dataclass(frozen=True)
class BalanceLine:
    key: str
    amount: Decimal


def balance_lines(account: CardAccount) -> list[BalanceLine]:
    return [
        BalanceLine("principal", account.principal),
        BalanceLine("interest", account.interest),
        BalanceLine("fees", account.fees),
        BalanceLine("late_fees", account.late_fees),
    ]


def shown_payments(payment: Any = Payment) -> ColumnElement[bool]:
    """The payments a cardholder is shown: money in, those that count and those the bank
    took back (shown as such, so a cardholder is never left wondering where one went).
    ``payment`` is ``Payment`` or an alias of it."""
    return and_(
        payment.direction == Direction.CREDIT,
        payment.reverses_id.is_(None),
        payment.status.in_((PaymentStatus.POSTED, PaymentStatus.REVERSED)),
    )


def newest_first(payment: Any = Payment) -> tuple[Any, ...]:
    return (payment.paid_at.desc(), payment.id.desc())


class OverviewLabels(NamedTuple):
    """The account page's fixed words (templates/accounts/overview.html) outside its
    cached fragments: a template's ``_()`` costs several µs, and the page has a dozen
    and a half. As the template's ``_()`` gives them: Markup, ``%%`` read as ``%``."""

    overdue_now: Markup
    overdue_means: Markup
    minimum_payment: Markup
    minimum_due: Markup
    due_date: Markup
    minimum_means: Markup
    owed_total: Markup
    parts: dict[str, Markup]  # a BalanceLine's key: its label
    credit_limit: Markup
    recent_payments: Markup
    no_payments: Markup
    sent_back: Markup
    promise_title: Markup
    change_promise: Markup


def overview_labels() -> OverviewLabels:
    """The account page's fixed words in the request's language, translated once per
    language in each worker (like ``portal.journey.service.card_labels``)."""
    return _overview_labels(str(get_locale()))


def _words(text: str) -> Markup:
    # What Jinja's newstyle gettext makes of a translation in an autoescaped template.
    return Markup(_(text)) % {}  # noqa: S704 - a catalog's text, as the template's _() trusts it


@cache
def _overview_labels(locale: str) -> OverviewLabels:
    # Called in a request whose language is ``locale`` (overview_labels).
    return OverviewLabels(
        overdue_now=_words("Overdue now"),
        overdue_means=_words("This is the part of your past minimum payments that you have not paid yet."),
        minimum_payment=_words("Minimum payment"),
        minimum_due=_words("Minimum due"),
        due_date=_words("Due date"),
        minimum_means=_words(
            "This is the overdue amount plus this month's minimum payment. It is never more than what you owe in total."
        ),
        owed_total=_words("What you owe in total"),
        parts={
            "principal": _words("Spending and cash (principal)"),
            "interest": _words("Interest"),
            "fees": _words("Fees"),
            "late_fees": _words("Late fees"),
        },
        credit_limit=_words("Credit limit"),
        recent_payments=_words("Recent payments"),
        no_payments=_words("We have no payments from you in the last few months."),
        sent_back=_words("Sent back by the bank: it does not count"),
        promise_title=_words("Your promise to pay"),
        change_promise=_words("Change your promise"),
    )
