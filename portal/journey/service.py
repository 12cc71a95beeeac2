"""What the journey pages show: which offers come first, and whether they fit the budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from portal.accounts.models import CardAccount
from portal.agreements.key_terms import payment_lines
from portal.cases.service import latest_budget
from portal.db_types import utcnow
from portal.domain.account import AccountSnapshot
from portal.domain.budget import Budget, affordable_payment
from portal.domain.money import minor_unit
from portal.domain.offers import Offer
from portal.domain.schedule import PlanType
from portal.offers.adapter import NewPlanWait, new_plan_wait, offers_for_account, snapshot

FIRST_SHOWN = 3


def account_today(account: CardAccount) -> date:
    """Today in the cardholder's own time zone (due dates are their dates)."""
    return utcnow().astimezone(ZoneInfo(account.time_zone)).date()


@dataclass(frozen=True)
class OfferChoice:
    offer: Offer
    fits: bool | None  # None when no budget was given

    @property
    def monthly(self) -> Decimal:
        return self.offer.quote.max_payment


@dataclass(frozen=True)
class OfferList:
    first: list[OfferChoice]
    rest: list[OfferChoice]
    budget_done: bool
    none_fit: bool
    affordable: Decimal | None
    policy_number: int
    personalised: OfferChoice | None
    # No offers because an earlier plan broke: until when, and whether the limits on new
    # plans after a broken one (rather than the cool-down) are why.
    wait: NewPlanWait | None = None


def budget_from_figures(figures: dict[str, str] | None) -> Budget | None:
    if not figures:
        return None
    return Budget(**{name: Decimal(value) for name, value in figures.items()})


def arrange_offers(
    offers: list[Offer], affordable: Decimal | None
) -> tuple[list[OfferChoice], OfferChoice | None, bool]:
    """The regular offers in the order the page shows them, the personalised one apart,
    and whether none fits ``affordable`` (None: no budget given). Pure: the simulated
    experiments (``tests/web/test_experiments_simulated.py``) order offers with it too."""
    choices = [OfferChoice(o, None if affordable is None else o.quote.max_payment <= affordable) for o in offers]
    personalised = next((c for c in choices if c.offer.plan is PlanType.PERSONALISED), None)
    regular = [c for c in choices if c.offer.plan is not PlanType.PERSONALISED]
    if affordable is None:
        return regular, personalised, False
    fitting = sorted((c for c in regular if c.fits), key=lambda c: (c.offer.quote.total_cost, c.monthly))
    others = [c for c in regular if not c.fits]
    return fitting + others, personalised, not fitting


def list_offers(
    account: CardAccount, figures: dict[str, str] | None, facts: AccountSnapshot | None = None
) -> OfferList:
    """Offers in the order a person should see them (``facts``: the account's offer
    snapshot, if the caller has just read it).

    With a budget, offers that fit come first, cheapest first; otherwise the policy's
    order (installments by length, relief, settlement). A personalised plan is never
    pushed: it is shown on its own when nothing else fits or when asked for.
    """
    today = account_today(account)
    facts = facts or snapshot(account)
    version, offers = offers_for_account(account, today, facts)
    policy = version.policy
    budget = budget_from_figures(figures)
    affordable = affordable_payment(budget, policy.affordability_share) if budget else None
    ordered, personalised, none_fit = arrange_offers(offers, affordable)
    return OfferList(
        first=ordered[:FIRST_SHOWN],
        rest=ordered[FIRST_SHOWN:],
        budget_done=budget is not None,
        none_fit=none_fit,
        affordable=affordable,
        policy_number=version.number,
        personalised=personalised,
        wait=new_plan_wait(account, today, facts, version) if not offers else None,
    )


def affordable_text(account: CardAccount) -> str | None:
    """The monthly amount the cardholder's last budget check (on the case file) suggests,
    as a plain decimal for a form field; None without a budget."""
    budget = budget_from_figures(latest_budget(account.id))
    if budget is None:
        return None
    version, _offers = offers_for_account(account, account_today(account))
    share = version.policy.affordability_share
    amount = affordable_payment(budget, share).quantize(minor_unit(account.currency), ROUND_DOWN)
    return str(amount) if amount > 0 else None


def find_choice(account: CardAccount, fingerprint: str, facts: AccountSnapshot | None = None) -> Offer | None:
    _, offers = offers_for_account(account, account_today(account), facts)
    return next((o for o in offers if o.fingerprint == fingerprint), None)


def figures_from_form(values: dict[str, Decimal | None]) -> dict[str, str]:
    return {name: str(value or Decimal(0)) for name, value in values.items()}


class OfferSummary(NamedTuple):
    """The numbers an offer card shows (templates/journey/_macros.html, ``offer_card``)
    and the request page repeats: attributes, which a template reads at once (a dict's
    keys it reaches only after failing to find an attribute of that name)."""

    monthly: Decimal
    payments: list[tuple[str, str]]
    monthly_varies: bool
    months: int
    first_due: date | None
    total_repaid: Decimal
    total_cost: Decimal
    written_off: Decimal
    interest_waived: Decimal
    apr: Decimal
    ear: Decimal
    down_payment: Decimal


def summary(offer: Offer) -> OfferSummary:
    """The numbers an offer card shows, in one place for the card and the detail page."""
    quote = offer.quote
    totals = [i.total for i in quote.installments]
    return OfferSummary(
        monthly=quote.max_payment,
        payments=payment_lines(totals, quote.currency),
        # A last payment a few cents different (rounding) is not "varying payments".
        monthly_varies=max(totals) - min(totals) > max(totals) / 100,
        months=len(totals),
        first_due=quote.first_due,
        total_repaid=quote.total_repaid,
        total_cost=quote.total_cost,
        written_off=quote.waived.written_off,
        interest_waived=quote.waived.interest,
        apr=quote.apr,
        ear=quote.ear,
        down_payment=quote.down_payment,
    )
