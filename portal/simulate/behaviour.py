"""How simulated cardholders behave: the documented model behind ``portal simulate``.

Pure: no Flask, no database. Every chance is a function of the cardholder (a `Persona`,
drawn once per account) and of what the portal shows them, so that a policy that is
really better for cardholders shows up as better outcomes. All parameters live in one
dataclass, `BehaviourModel`, that a test (or an A/A or power test) can change.

**The burden ratio.** What matters to a cardholder about an offer is ``r = monthly
payment / monthly capacity``, where the capacity is what their budget leaves (income
less costs, the same `Budget.disposable` the budget page computes; never below
``capacity_floor``). A settlement (one payment) is weighed against the savings instead:
``r = payment / savings``. The chances below fall as ``r`` rises, along a Hill curve
``hill(r, top, mid, steep) = top / (1 + (r / mid) ** steep)``: ``top`` at ``r = 0``,
half of it at ``r = mid``, falling faster the larger ``steep``.

**The journey, step by step** (each a separate draw; defaults in brackets):

1. A delivered plan link is opened with ``open_link × (0.5 + engagement)`` [0.35; the
   persona's engagement is 0..1, lower for the cardholders who avoid the bank out of
   fear], on the day it arrives or up to ``open_delay_days`` [2] later (a link that
   expired first is not opened).
2. The cardholder proves who they are with ``verify`` [0.85], tells the reason for
   falling behind with ``tell_reason`` [0.7] and fills the budget check with
   ``give_budget`` [0.6] (the portal then orders offers that fit first).
3. Of the offers the journey shows first (the same `list_offers` the page uses: with a
   budget, those that fit first, cheapest first; without, the policy's order), or of all
   of them when they follow "show all" (``show_all`` [0.3]), the cardholder takes the
   one with the best chance
   ``hill(r, accept_top, accept_mid, accept_steep) × max(0, 1 − cost_aversion × total
   cost / amount)`` [0.75, 1.0, 3.0; 1.5] and accepts it with that chance: a lower
   payment relative to the budget and a lower cost both raise acceptance.
4. If nothing was accepted and no offer has ``r ≤ 1``, a cardholder with a hardship
   reason (lost job, illness, income fell) who was offered a personalised plan asks for
   it with ``request_if_none_fit`` [0.5]; otherwise one in ``promise_if_no_plan`` [0.3]
   promises to pay the policy's minimum share of the overdue amount (at least), as much
   as the capacity allows, within 7 days.
5. An approved request is signed with ``sign_approved`` [0.9] on the next visit.
6. Each installment of an active plan is paid with
   ``hill(r, pay_top, pay_mid, pay_steep)`` [0.97, 1.6, 3.0], on its due date or up to
   ``pay_late_days`` [3] days later. After a miss the cardholder has stopped paying; they
   start again at a later installment with ``resume`` [0.25].
7. A promise is kept (paid in full by its date) with ``hill(r, promise_top, promise_mid,
   promise_steep)`` [0.8, 1.5, 2.0] of ``r = amount / capacity``; otherwise a part
   (``promise_part`` [0.4]) is paid, or nothing.
8. Without a plan or an open promise, the cardholder pays the overdue amount on their own
   (a self-cure) with ``self_cure_monthly`` [0.04] a month when their capacity covers it.
9. Each collection message (link or reminder) makes the cardholder opt out of its channel
   with ``opt_out`` [0.01] (STOP by text, the unsubscribe link by e-mail).

Each draw is a uniform number derived from (seed, account, day, what), not from a shared
stream: the same seed gives the same book and the same choices whatever else changes,
and two policies played on one seed meet the same cardholders with the same luck
(common random numbers), which makes their comparison sharper.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from decimal import Decimal

HARDSHIP_REASONS = frozenset({"lost_job", "illness", "income_fell"})


@dataclass(frozen=True)
class BehaviourModel:
    """Every parameter of the cardholders' behaviour (see the module's docstring)."""

    open_link: float = 0.35
    open_delay_days: int = 2
    verify: float = 0.85
    tell_reason: float = 0.7
    give_budget: float = 0.6
    show_all: float = 0.3
    accept_top: float = 0.75
    accept_mid: float = 1.0
    accept_steep: float = 3.0
    cost_aversion: float = 1.5
    request_if_none_fit: float = 0.5
    promise_if_no_plan: float = 0.3
    promise_days: int = 7
    sign_approved: float = 0.9
    pay_top: float = 0.97
    pay_mid: float = 1.6
    pay_steep: float = 3.0
    pay_late_days: int = 3
    resume: float = 0.25
    promise_top: float = 0.8
    promise_mid: float = 1.5
    promise_steep: float = 2.0
    promise_part: float = 0.4
    self_cure_monthly: float = 0.04
    opt_out: float = 0.01
    capacity_floor: Decimal = Decimal("50")


@dataclass(frozen=True)
class Persona:
    """Who the cardholder behind one simulated account is (drawn once, by `draw_persona`)."""

    reason: str
    engagement: float  # 0..1
    income: Decimal  # monthly
    costs: Decimal  # monthly
    savings: Decimal
    channel: str  # where the bank sends their links: "sms" or "email"

    @property
    def disposable(self) -> Decimal:
        return self.income - self.costs

    def capacity(self, model: BehaviourModel) -> Decimal:
        """What the cardholder can really pay a month."""
        return max(self.disposable, model.capacity_floor)

    def budget_figures(self) -> dict[str, str]:
        """The budget as the budget page would record it (`portal.domain.budget.Budget` fields)."""
        cents = Decimal("0.01")
        parts = {"housing": "0.35", "food_housekeeping": "0.30", "transport": "0.10", "utilities": "0.10"}
        figures = {"earnings": str(self.income.quantize(cents))}
        spent = Decimal(0)
        for name, share in parts.items():
            amount = (self.costs * Decimal(share)).quantize(cents)
            figures[name] = str(amount)
            spent += amount
        figures["personal"] = str(self.costs.quantize(cents) - spent)
        return figures


class Draws:
    """Uniform numbers in [0, 1) keyed by what they decide: ``draws.u(serial, day, "open")``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def u(self, *key: object) -> float:
        text = "|".join(str(part) for part in (self.seed, *key)).encode()
        (number,) = struct.unpack(">Q", hashlib.blake2b(text, digest_size=8).digest())
        return number / 2**64

    def chance(self, p: float, *key: object) -> bool:
        return self.u(*key) < p

    def pick(self, weights: dict[str, float], *key: object) -> str:
        """One of ``weights``' keys, with chances in proportion to its weight."""
        point = self.u(*key) * sum(weights.values())
        for name, weight in weights.items():
            point -= weight
            if point < 0:
                return name
        return name


def hill(ratio: float, top: float, mid: float, steep: float) -> float:
    """``top`` at ratio 0, ``top / 2`` at ``mid``, falling with ``steep``."""
    if ratio <= 0:
        return top
    return top / (1 + (ratio / mid) ** steep)


def burden(payment: Decimal, capacity: Decimal) -> float:
    """``payment / capacity`` as a plain ratio (a chance is no money: float is fine here)."""
    return float(payment / capacity) if capacity > 0 else float("inf")


def accept_chance(model: BehaviourModel, ratio: float, cost_share: float) -> float:
    """The chance to accept an offer of burden ``ratio`` that costs ``cost_share`` of its amount."""
    return hill(ratio, model.accept_top, model.accept_mid, model.accept_steep) * max(
        0.0, 1 - model.cost_aversion * cost_share
    )


def offer_chance(
    model: BehaviourModel, persona: Persona, payment: Decimal, total_cost: Decimal, amount: Decimal, *, settlement: bool
) -> tuple[float, float]:
    """(chance to accept, burden ratio) of one offer for ``persona`` (step 3): a settlement's
    ``payment`` is weighed against the savings, an installment's against the capacity."""
    means = max(persona.savings, model.capacity_floor) if settlement else persona.capacity(model)
    ratio = burden(payment, means)
    return accept_chance(model, ratio, float(total_cost / amount) if amount else 0.0), ratio


def pay_chance(model: BehaviourModel, ratio: float) -> float:
    """The chance to pay one installment of burden ``ratio``."""
    return hill(ratio, model.pay_top, model.pay_mid, model.pay_steep)


def keep_promise_chance(model: BehaviourModel, ratio: float) -> float:
    """The chance to pay a promise of burden ``ratio`` in full by its date."""
    return hill(ratio, model.promise_top, model.promise_mid, model.promise_steep)
