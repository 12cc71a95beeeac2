"""Offer policy documents: the limits of every plan type per delinquency tier.

Shape and conventions (the policy admin screens and `validate_policy` rely on them):

* A policy has one currency; its amount limits are in that currency and accounts in
  any other currency get no offers.
* Tiers are days-past-due ranges (`min_dpd` inclusive, `max_dpd` inclusive or None for
  open-ended). Together they must cover DPD 1 to infinity without gaps or overlaps.
* A tier may also hold a balance band (`balance_from` inclusive, `balance_below`
  exclusive or None for no upper end; the defaults, 0 and None, mean any balance, which
  is what a document stored before bands existed says). Several tiers with the SAME DPD
  range split it by balance ("M1 small": 1–29, below 2,000; "M1": 1–29, from 2,000): their
  bands must cover every balance from 0 up, end to end. So each account (DPD ≥ 1, balance
  ≥ 0) is in exactly one tier of a valid policy, and `tier_for` is the one place that
  says which (its SQL twin is `portal.accounts.sql.tier_index`).
* Each tier holds one limit set per plan type. A balance band (`min_balance` inclusive,
  `max_balance` inclusive or None) inside each limit set narrows eligibility for that
  plan type only, so a tier may, say, offer settlements only above 5,000.
* Each tier also holds the missed-payment rules (grace days, when a plan ends) that
  plans made in it are judged by; a document stored before they were policy reads
  today's defaults (`MissedPaymentRules`).
* Each tier also holds its reminder cadence (`ReminderCadence`: days before a due date,
  on the day, days after); a document stored before it was policy reads the defaults.
* The policy limits new plans after a broken one (`cooldown_days`, then at most
  `max_new_plans_12_months` in 12 months and `max_new_plans_5_years` in 5 years; see
  `portal.domain.reage`).
* Percentages are stored as Decimal FRACTIONS from 0 to 1 (0.3 = 30 %); rates are
  fractions too (0.006 = 0.6 % a month, 0.18 = 18 % a year).
* `to_dict()` gives JSON-ready data (Decimals as strings, tiers by `min_dpd` then `balance_from`, tenors
  ascending, flags sorted) and `from_dict()` reads it back strictly: unknown keys and
  floats are refused, missing keys take the restrictive defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from portal.domain.missed_payment import MissedPaymentRules
from portal.domain.money import ZERO
from portal.domain.policy_io import PolicyFormatError, dump, load
from portal.domain.reminder_cadence import ReminderCadence
from portal.domain.schedule import Pricing

__all__ = [
    "DEFAULT_BLOCKING_FLAGS",
    "InstallmentLimits",
    "MissedPaymentRules",
    "OfferPolicy",
    "PersonalisedLimits",
    "PolicyFormatError",
    "ReliefLimits",
    "ReminderCadence",
    "SettlementLimits",
    "Tier",
]

DEFAULT_BLOCKING_FLAGS = frozenset({"dispute", "deceased", "fraud"})


@dataclass(frozen=True)
class InstallmentLimits:
    """Installment plans a tier allows.

    The offered price is the maximum rate of the chosen `pricing`: `max_monthly_fee_rate`
    under MONTHLY_FEE, `max_annual_rate` under ANNUAL_RATE. `needs_supervisor_above` is a
    tenor in months (None: never); agents alone may offer tenors up to `agent_max_tenor`.
    """

    allowed: bool = False
    tenors: tuple[int, ...] = ()
    pricing: Pricing = Pricing.MONTHLY_FEE
    max_monthly_fee_rate: Decimal = ZERO
    max_annual_rate: Decimal = ZERO
    min_down_payment: Decimal = ZERO
    min_installment: Decimal = ZERO
    min_balance: Decimal = ZERO
    max_balance: Decimal | None = None
    needs_supervisor_above: int | None = None
    agent_max_tenor: int = 0


@dataclass(frozen=True)
class ReliefLimits:
    """Interest relief a tier allows.

    The reduced rate is `normal_annual_rate` × (1 − cut), cut ≤ `max_rate_cut` (1 freezes
    interest). After `max_months` of relief the rest is amortised over `after_months` at
    the normal rate (0: one payment at month M+1). `min_payment` is the least fixed
    monthly payment. `needs_supervisor_above` is in relief months (None: never).
    """

    allowed: bool = False
    max_months: int = 0
    after_months: int = 0
    normal_annual_rate: Decimal = ZERO
    max_rate_cut: Decimal = ZERO
    max_fee_waiver: Decimal = ZERO
    min_payment: Decimal = ZERO
    min_balance: Decimal = ZERO
    max_balance: Decimal | None = None
    needs_supervisor_above: int | None = None
    agent_max_months: int = 0
    agent_max_fee_waiver: Decimal = ZERO


@dataclass(frozen=True)
class SettlementLimits:
    """Settlements a tier allows: up to `max_discount` off, first payment due within
    `deadline_days`, in at most `max_payments` (≤ 3) monthly payments of at least
    `min_payment`. `needs_supervisor_above` is a discount fraction (None: never)."""

    allowed: bool = False
    max_discount: Decimal = ZERO
    deadline_days: int = 0
    max_payments: int = 1
    min_payment: Decimal = ZERO
    min_balance: Decimal = ZERO
    max_balance: Decimal | None = None
    needs_supervisor_above: Decimal | None = None
    agent_max_discount: Decimal = ZERO


@dataclass(frozen=True)
class PersonalisedLimits:
    """Personalised installment plans for proven hardship (CBRC 2011 Art. 70).

    Always needs a hardship reason and supervisor approval, so there is no agent
    authority here. `max_tenor` ≤ 60. The rate of the chosen `pricing` is usually 0.
    A supervisor may start the plan with a payment pause of up to `max_pause_months`
    (0: none); the pause counts towards `max_tenor`.
    """

    allowed: bool = False
    max_tenor: int = 0
    pricing: Pricing = Pricing.MONTHLY_FEE
    max_monthly_fee_rate: Decimal = ZERO
    max_annual_rate: Decimal = ZERO
    max_fee_waiver: Decimal = ZERO
    min_installment: Decimal = ZERO
    min_balance: Decimal = ZERO
    max_balance: Decimal | None = None
    max_pause_months: int = 0


@dataclass(frozen=True)
class Tier:
    """A delinquency bucket: a DPD range, the limits of each plan type in it, the
    missed-payment rules its plans are made with, and when its reminders go."""

    name: str
    min_dpd: int
    max_dpd: int | None
    balance_from: Decimal = ZERO
    balance_below: Decimal | None = None
    installment: InstallmentLimits = field(default_factory=InstallmentLimits)
    relief: ReliefLimits = field(default_factory=ReliefLimits)
    settlement: SettlementLimits = field(default_factory=SettlementLimits)
    personalised: PersonalisedLimits = field(default_factory=PersonalisedLimits)
    missed_payment: MissedPaymentRules = field(default_factory=MissedPaymentRules)
    reminders: ReminderCadence = field(default_factory=ReminderCadence)

    def covers_dpd(self, days_past_due: int) -> bool:
        """True when `days_past_due` falls in this tier's DPD range (whatever the balance)."""
        return self.min_dpd <= days_past_due and (self.max_dpd is None or days_past_due <= self.max_dpd)

    def in_band(self, balance: Decimal) -> bool:
        """True when `balance` falls in this tier's balance band."""
        return self.balance_from <= balance and (self.balance_below is None or balance < self.balance_below)

    def covers(self, days_past_due: int, balance: Decimal) -> bool:
        """True when an account this far past due and owing `balance` belongs here."""
        return self.covers_dpd(days_past_due) and self.in_band(balance)

    @property
    def banded(self) -> bool:
        """The tier takes only part of the balances of its DPD range."""
        return self.balance_from > ZERO or self.balance_below is not None


@dataclass(frozen=True)
class OfferPolicy:
    """A whole policy document.

    cooldown_days        no offers for this long after a plan was broken
    max_new_plans_12_months  new plans after a broken one: at most this many in 12 months
    max_new_plans_5_years    and this many in 5 years (re-ageing, portal.domain.reage)
    link_expiry_hours    lifetime of a plan link
    affordability_share  share of monthly disposable income a plan may take
    promise_max_days     a promise to pay must fall within this many days
    promise_min_share    and cover at least this share of the overdue amount
    blocking_flags       account flags that stop all offers
    """

    currency: str
    tiers: tuple[Tier, ...]
    cooldown_days: int = 90
    max_new_plans_12_months: int = 1
    max_new_plans_5_years: int = 2
    link_expiry_hours: int = 72
    affordability_share: Decimal = Decimal("0.5")
    promise_max_days: int = 14
    promise_min_share: Decimal = Decimal("0.1")
    blocking_flags: frozenset[str] = DEFAULT_BLOCKING_FLAGS

    def tier_for(self, days_past_due: int, balance: Decimal) -> Tier | None:
        """The tier of an account `days_past_due` past due that owes `balance`: the first
        tier covering both (exactly one once validated; None below DPD 1 or when an
        invalid policy leaves a gap). Offers, the daily run's tier moves, reports, care
        queues and experiments all choose a tier here or through its SQL twin."""
        for tier in self.tiers:
            if tier.covers(days_past_due, balance):
                return tier
        return None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data in a stable order: Decimals as strings, tiers by min_dpd and band."""
        data = dump(self)
        data["tiers"] = [dump(t) for t in sorted(self.tiers, key=lambda t: (t.min_dpd, t.balance_from, t.name))]
        return data

    @classmethod
    def from_dict(cls, data: object) -> OfferPolicy:
        """Read `to_dict()` output back. Raises PolicyFormatError naming the bad path.

        Only the document's shape is checked here; its limits are checked by
        `validate_policy`.
        """
        return load(cls, data, "")
