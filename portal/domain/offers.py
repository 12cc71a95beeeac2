"""What one account may choose today under a policy: `offers_for`.

Rules (all limits come from the account's tier in the policy):

* No offers at all when `ineligibility(...)` names a reason: currency differs from
  the policy's, a blocking flag, an active plan, inside the cool-down after a broken
  plan, over the limits on new plans after a broken one (`portal.domain.reage`),
  nothing overdue (DPD < 1) or nothing owed, or no tier covers the DPD.
  `new_plan_possible_on` says from which day the last two no longer stand in the way.
* A plan type is offered only if the tier allows it and the balance is in its band.
* First due date: today + 1 calendar month (clamped to month end). Settlements are
  instead due at the deadline, today + `deadline_days`, further payments monthly.
* Each offer is priced at the policy's most generous terms for the cardholder within
  its limits: installment, each allowed tenor at the tier's rate and minimum down
  payment (rounded up); relief, the maximum months, rate cut and fee waiver; settlement,
  the maximum discount in 1..max_payments payments; personalised, fees waived as far as
  allowed, at the longest tenor up to `max_tenor` whose principal part alone meets the
  minimum installment.
* An offer with any installment below the minimum installment (or settlement payment
  below the minimum payment) is not produced.
* Order: installment, relief, settlement, personalised; then by number of payments.

Acceptance must re-check: compute `offers_for` again with the current account and
policy and accept only an offer with the same `fingerprint`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext
from functools import cached_property
from typing import NamedTuple

from portal.domain.account import AccountSnapshot
from portal.domain.builders import (
    in_context_default_relief_payment,
    in_context_fee_waiver,
    in_context_installment_plan,
    in_context_relief_plan,
    in_context_settlement_plan,
)
from portal.domain.dates import add_months
from portal.domain.missed_payment import MissedPaymentRules
from portal.domain.money import CONTEXT, ZERO, ceil_money, minor_unit
from portal.domain.policy import (
    InstallmentLimits,
    OfferPolicy,
    PersonalisedLimits,
    ReliefLimits,
    SettlementLimits,
    Tier,
)
from portal.domain.reage import reage_possible_on
from portal.domain.schedule import NO_WAIVER, PlanType, Pricing, Quote
from portal.domain.terms import PlanTerms
from portal.domain.terms import fingerprint as terms_fingerprint

__all__ = ["Offer", "ineligibility", "new_plan_possible_on", "offers_for"]

ONE = Decimal(1)
_new = tuple.__new__  # a NamedTuple without its Python-level __new__
# Enum members as module constants: on Python 3.11 each `PlanType.X` is a descriptor
# look-up, and offers name a member a few times per offer, thousands of offers a run.
_INSTALLMENT, _SETTLEMENT, _PERSONALISED = PlanType.INSTALLMENT, PlanType.SETTLEMENT, PlanType.PERSONALISED
_MONTHLY_FEE = Pricing.MONTHLY_FEE
Limits = InstallmentLimits | ReliefLimits | SettlementLimits | PersonalisedLimits


class _OfferFields(NamedTuple):
    tier: str
    terms: PlanTerms
    quote: Quote
    needs_approval: bool
    needs_hardship_reason: bool
    agent_may_offer: bool
    missed_payment: MissedPaymentRules


class Offer(_OfferFields):
    """One choice for the cardholder: its terms, priced schedule and who may grant it.

    needs_approval         a supervisor must approve before it binds
    needs_hardship_reason  a recorded hardship reason is required (personalised)
    agent_may_offer        within an agent's own authority (never if needs_approval)
    missed_payment         the tier's missed-payment rules, frozen into the plan it makes
    fingerprint            (derived) SHA-256 hex of the canonical JSON of terms and schedule

    The fields are a NamedTuple's (immutable, compared and hashed as a tuple); this
    subclass adds what is derived from them, the fingerprint memoised on first read.
    """

    @property
    def plan(self) -> PlanType:
        """The plan type."""
        return self.terms.plan

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 hex of the canonical JSON of the terms and schedule (`terms.fingerprint`).

        Made when first read, not when the offer is made: a page shows a few of the
        offers it computes (reading each one's fingerprint several times), acceptance
        stops at the one that matches, and the canonical text of every schedule and its
        hash were a third of the time `offers_for` took.
        """
        return terms_fingerprint(self.terms, self.quote)


def ineligibility(account: AccountSnapshot, policy: OfferPolicy, today: date) -> list[str]:
    """Why `account` gets no offers today (codes), or [] if it may have some.

    Codes: currency, blocked, active_plan, cooling_down, reage_limit, not_overdue,
    nothing_owed, no_tier.
    """
    balance = account.balance
    tier = policy.tier_for(account.days_past_due, balance) if account.days_past_due >= 1 else None
    return _ineligibility(account, policy, today, balance, tier)


def _ineligibility(
    account: AccountSnapshot, policy: OfferPolicy, today: date, balance: Decimal, tier: Tier | None
) -> list[str]:
    """`ineligibility` given the account's balance and its tier (None below DPD 1)."""
    reasons = []
    if account.currency != policy.currency:
        reasons.append("currency")
    if account.flags & policy.blocking_flags:
        reasons.append("blocked")
    if account.has_active_plan:
        reasons.append("active_plan")
    if _cool_down_ends(account, policy, today) is not None:
        reasons.append("cooling_down")
    if _reage_ends(account, policy, today) is not None:
        reasons.append("reage_limit")
    if account.days_past_due < 1:
        reasons.append("not_overdue")
    elif tier is None:
        reasons.append("no_tier")
    if balance <= ZERO:
        reasons.append("nothing_owed")
    return reasons


def _cool_down_ends(account: AccountSnapshot, policy: OfferPolicy, today: date) -> date | None:
    """The first day after the cool-down of the last broken plan, if that is after today."""
    broken = account.last_broken_plan_on
    if broken is None:
        return None
    ends = broken + timedelta(days=policy.cooldown_days)
    return ends if today < ends else None


def _reage_ends(account: AccountSnapshot, policy: OfferPolicy, today: date) -> date | None:
    """The first day a new plan after a broken one is within the re-ageing limits, if
    not today (accounts that never had a plan broken are not limited)."""
    if account.last_broken_plan_on is None:
        return None
    return reage_possible_on(
        account.new_plans_after_broken, today, policy.max_new_plans_12_months, policy.max_new_plans_5_years
    )


def new_plan_possible_on(account: AccountSnapshot, policy: OfferPolicy, today: date) -> date | None:
    """From which day a broken plan's cool-down and the limits on new plans after a
    broken one no longer stop offers; None when neither stops them today."""
    ends = [d for d in (_cool_down_ends(account, policy, today), _reage_ends(account, policy, today)) if d]
    return max(ends) if ends else None


def _open(lim: Limits, balance: Decimal) -> bool:
    """The tier allows this plan type and the balance is inside its band."""
    return lim.allowed and lim.min_balance <= balance and (lim.max_balance is None or balance <= lim.max_balance)


def _offer(tier: Tier, terms: PlanTerms, quote: Quote, *, approval: bool, agent: bool) -> Offer:
    hardship = terms.plan is _PERSONALISED
    return _new(
        Offer,
        (
            tier.name,
            terms,
            quote,
            approval,
            hardship,
            agent and not approval,
            tier.missed_payment,
        ),
    )


def _price(lim: InstallmentLimits | PersonalisedLimits) -> Decimal:
    """The tier's price for its convention: the monthly fee rate or the annual rate."""
    return lim.max_monthly_fee_rate if lim.pricing is _MONTHLY_FEE else lim.max_annual_rate


def _installments(
    tier: Tier, lim: InstallmentLimits, account: AccountSnapshot, balance: Decimal, first_due: date, unit: Decimal
) -> list[Offer]:
    down = ceil_money(balance * lim.min_down_payment, account.currency)
    if down >= balance:
        return []
    rate = _price(lim)
    floor = max(lim.min_installment, unit)
    offers = []
    for months in sorted(set(lim.tenors)):
        quote = in_context_installment_plan(
            account.currency, balance, months, lim.pricing, rate, first_due, down, NO_WAIVER, _INSTALLMENT
        )
        if quote.min_payment < floor:
            continue
        # plan, months, pricing, rate, down_payment: positional, as keywords cost more.
        terms = PlanTerms(_INSTALLMENT, months, lim.pricing, rate, down)
        above = lim.needs_supervisor_above
        offers.append(
            _offer(
                tier, terms, quote, approval=above is not None and months > above, agent=months <= lim.agent_max_tenor
            )
        )
    return offers


def _relief(
    tier: Tier, lim: ReliefLimits, account: AccountSnapshot, balance: Decimal, first_due: date, unit: Decimal
) -> list[Offer]:
    waived = in_context_fee_waiver(account.fees, account.late_fees, lim.max_fee_waiver, account.currency)
    principal = balance - waived.written_off
    if principal <= ZERO:
        return []
    reduced = lim.normal_annual_rate * (ONE - lim.max_rate_cut)
    payment = max(
        lim.min_payment,
        unit,
        in_context_default_relief_payment(principal, reduced, lim.max_months, lim.after_months, account.currency),
    )
    quote = in_context_relief_plan(
        account.currency,
        balance,
        first_due,
        lim.max_months,
        reduced,
        lim.normal_annual_rate,
        payment,
        lim.after_months,
        waived,
    )
    if quote.min_payment < unit:
        return []
    terms = PlanTerms(
        PlanType.RELIEF,
        fee_waiver=lim.max_fee_waiver,
        relief_months=lim.max_months,
        relief_rate=reduced,
        normal_rate=lim.normal_annual_rate,
        relief_payment=payment,
        after_months=lim.after_months,
    )
    above = lim.needs_supervisor_above
    agent = lim.max_months <= lim.agent_max_months and lim.max_fee_waiver <= lim.agent_max_fee_waiver
    return [_offer(tier, terms, quote, approval=above is not None and lim.max_months > above, agent=agent)]


def _settlements(
    tier: Tier, lim: SettlementLimits, account: AccountSnapshot, balance: Decimal, today: date, unit: Decimal
) -> list[Offer]:
    deadline = today + timedelta(days=lim.deadline_days)
    floor = max(lim.min_payment, unit)
    above = lim.needs_supervisor_above
    approval = above is not None and lim.max_discount > above
    offers = []
    for payments in range(1, lim.max_payments + 1):
        quote = in_context_settlement_plan(account.currency, balance, deadline, lim.max_discount, payments)
        if quote.min_payment < floor:
            break  # more payments only make each one smaller
        terms = PlanTerms(_SETTLEMENT, discount=lim.max_discount, payments=payments, deadline=deadline)
        offers.append(_offer(tier, terms, quote, approval=approval, agent=lim.max_discount <= lim.agent_max_discount))
    return offers


def _personalised(
    tier: Tier, lim: PersonalisedLimits, account: AccountSnapshot, balance: Decimal, first_due: date, unit: Decimal
) -> list[Offer]:
    waived = in_context_fee_waiver(account.fees, account.late_fees, lim.max_fee_waiver, account.currency)
    principal = balance - waived.written_off
    floor = max(lim.min_installment, unit)
    months = min(lim.max_tenor, int(principal // floor))
    rate = _price(lim)
    # Half-up parts can leave the last one a little short of the minimum; one month
    # fewer fixes that, so this loop runs once or twice.
    while months >= 1:
        quote = in_context_installment_plan(
            account.currency, balance, months, lim.pricing, rate, first_due, ZERO, waived, _PERSONALISED
        )
        if quote.min_payment >= floor:
            terms = PlanTerms(
                PlanType.PERSONALISED, months=months, pricing=lim.pricing, rate=rate, fee_waiver=lim.max_fee_waiver
            )
            return [_offer(tier, terms, quote, approval=True, agent=False)]
        months -= 1
    return []


def offers_for(account: AccountSnapshot, policy: OfferPolicy, today: date) -> list[Offer]:
    """Every offer `account` may choose on `today` under `policy` (see module notes).

    Returns [] when the account is ineligible. Never returns an offer outside the
    policy's limits; the policy is assumed valid (`validate_policy`).
    """
    balance = account.balance
    tier = policy.tier_for(account.days_past_due, balance) if account.days_past_due >= 1 else None
    if _ineligibility(account, policy, today, balance, tier):
        return []
    assert tier is not None  # _ineligibility() checked it
    with localcontext(CONTEXT):
        unit = minor_unit(account.currency)
        first_due = add_months(today, 1)
        offers: list[Offer] = []
        if _open(tier.installment, balance):
            offers += _installments(tier, tier.installment, account, balance, first_due, unit)
        if _open(tier.relief, balance):
            offers += _relief(tier, tier.relief, account, balance, first_due, unit)
        if _open(tier.settlement, balance):
            offers += _settlements(tier, tier.settlement, account, balance, today, unit)
        if _open(tier.personalised, balance):
            offers += _personalised(tier, tier.personalised, account, balance, first_due, unit)
        # Already in the documented order: the plan types are taken in PlanType order,
        # tenors ascending and settlements by payments ascending (no sort needed).
        return offers
