"""Champion/challenger tests played hundreds of times on the simulated book (issue 16, "A
book to try it on"): an A/A test is significant about α of the time, and a challenger the
behaviour model makes better is found with about the power the design promised.

A full ``portal simulate`` run costs ~25 s, so the repetitions run at the level that can
repeat, with the real parts wherever they decide something:

- the accounts and cardholders are the book generator's (`draw_terms`, `draw_persona`);
- each account's offers under each policy come from the offer engine the offers page uses
  (`offers_for`, after the policy document went through `OfferPolicy.from_dict`), in the
  page's order (`arrange_offers`, the first three unless the cardholder asks for all);
- each cardholder's chance to accept is the behaviour model's (`offer_chance`, the best
  offer they saw, weighed over whether they gave a budget and asked for all offers, the
  model's ``give_budget`` and ``show_all``): one visit, after the offers were viewed
  (the first exposure, where they are assigned);
- the design's sample size is `required_sample_size` (statsmodels) for the rates the
  model gives;
- each repetition is a new experiment: a sample of the book, arms by the keyed hash
  (`arm_position`, its own experiment id), acceptances drawn from the chances with its own
  seed, and the arm counts through `analyse` (the CLI's and the pages' function).

What does not change between repetitions (offers, chances) is computed once. Primary
metric: a (non-personalised) plan accepted, per assigned account (intention to treat).
``tests/web/test_experiments_simulated.py`` is the slow cross-check: one A/A experiment
started in the database and a short ``portal simulate`` run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache

import numpy as np
from scipy.stats import binom
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from portal.domain.account import AccountSnapshot
from portal.domain.budget import affordable_payment
from portal.domain.default_policy import default_policy
from portal.domain.money import round_money
from portal.domain.offers import offers_for
from portal.domain.policy import OfferPolicy, Tier
from portal.domain.policy_validation import validate_policy
from portal.domain.schedule import PlanType, Pricing
from portal.experiments.analysis import analyse
from portal.experiments.design import arm_position, changes_hardship
from portal.experiments.stats import required_sample_size
from portal.journey.service import FIRST_SHOWN, arrange_offers, budget_from_figures
from portal.simulate.behaviour import BehaviourModel, Draws, Persona, offer_chance
from portal.simulate.book import draw_persona, draw_terms

SEED = 20261201
START = date(2026, 12, 1)
BOOK = 6_000  # serials drawn; the CNY ones (about 80 %) are the population sampled from
KEY = b"simulated experiments"
ALPHA, POWER = 0.05, 0.8
SHARES = (Decimal("0.5"), Decimal("0.5"))
REPETITIONS = 200
MODEL = BehaviourModel()
SIGNIFICANT = ("challenger_better", "champion_better")


def parsed(policy: OfferPolicy) -> OfferPolicy:
    """The policy as a stored version holds it: its document, parsed by the policy code."""
    return OfferPolicy.from_dict(policy.to_dict())


def fee_free_installments(policy: OfferPolicy) -> OfferPolicy:
    """The challenger: installments priced by a monthly fee carry none (the rest alike)."""

    def tier(t: Tier) -> Tier:
        lim = t.installment
        if lim is None or lim.pricing is not Pricing.MONTHLY_FEE:
            return t
        return replace(t, installment=replace(lim, max_monthly_fee_rate=Decimal(0)))

    return replace(policy, tiers=tuple(tier(t) for t in policy.tiers))


def snapshot(serial: int) -> AccountSnapshot | None:
    """The account as the offer engine sees it (as `portal.offers.adapter.snapshot` builds
    it from the stored row); None for an HKD account (the CNY policy's experiment)."""
    terms = draw_terms(Draws(SEED), serial, START)
    if terms.currency != "CNY":
        return None

    def exact(amount: Decimal) -> Decimal:
        return round_money(amount, terms.currency)

    return AccountSnapshot(
        currency=terms.currency,
        principal=exact(terms.principal),
        interest=exact(terms.interest),
        fees=Decimal(0),
        late_fees=exact(terms.late_fees),
        overdue_amount=exact(terms.overdue),
        minimum_due=exact(terms.minimum_due),
        days_past_due=terms.days_past_due,
        due_date=terms.due_date,
    )


def accept_chance(persona: Persona, account: AccountSnapshot, policy: OfferPolicy) -> float:
    """The chance that ``persona`` accepts a plan on one visit to the offers page under
    ``policy``, as `portal.simulate.play.Simulation._choose` draws it."""
    offers = offers_for(account, policy, START)
    budget = budget_from_figures(persona.budget_figures())
    assert budget is not None
    affordable = affordable_payment(budget, policy.affordability_share)
    chance = 0.0
    for gave_budget, p_budget in ((True, MODEL.give_budget), (False, 1 - MODEL.give_budget)):
        ordered, _personalised, _none_fit = arrange_offers(offers, affordable if gave_budget else None)
        for seen, p_seen in ((ordered, MODEL.show_all), (ordered[:FIRST_SHOWN], 1 - MODEL.show_all)):
            best = max(
                (
                    offer_chance(
                        MODEL,
                        persona,
                        c.offer.quote.max_payment,
                        c.offer.quote.total_cost,
                        c.offer.quote.amount,
                        settlement=c.offer.plan is PlanType.SETTLEMENT,
                    )[0]
                    for c in seen
                    if not c.offer.needs_approval
                ),
                default=0.0,
            )
            chance += p_budget * p_seen * best
    return chance


@dataclass(frozen=True)
class Book:
    serials: np.ndarray
    chances: tuple[np.ndarray, np.ndarray]  # per arm (champion, challenger), per account


@cache
def book(challenger_kind: str) -> Book:
    champion = parsed(default_policy())
    challenger = parsed(default_policy() if challenger_kind == "same" else fee_free_installments(default_policy()))
    serials, champion_chances, challenger_chances = [], [], []
    draws = Draws(SEED)
    for serial in range(1, BOOK + 1):
        account = snapshot(serial)
        if account is None:
            continue
        persona = draw_persona(draws, serial, account.currency)
        serials.append(serial)
        champion_chances.append(accept_chance(persona, account, champion))
        challenger_chances.append(accept_chance(persona, account, challenger))
    return Book(np.array(serials), (np.array(champion_chances), np.array(challenger_chances)))


def design(population: Book) -> tuple[float, float, int]:
    """(baseline, lift, planned_n) for the fee-free challenger's rates, as an admin would state them."""
    baseline = float(population.chances[0].mean())
    lift = float(population.chances[1].mean()) - baseline
    planned = required_sample_size(baseline, lift, ALPHA, POWER, [float(s) for s in SHARES])
    return baseline, lift, planned.total


def decisions(population: Book, planned_n: int) -> list[str]:
    """The analysis' decision in each repetition of the experiment on ``population``."""
    found = []
    for repetition in range(1, REPETITIONS + 1):
        rng = np.random.default_rng([SEED, repetition])
        sample = rng.choice(len(population.serials), size=planned_n, replace=False)
        arms = np.array([arm_position(KEY, repetition, int(population.serials[i]), SHARES) for i in sample])
        chances = np.where(arms == 0, population.chances[0][sample], population.chances[1][sample])
        accepted = rng.random(planned_n) < chances
        counts = [
            {
                "name": name,
                "share": float(share),
                "assigned": int((arms == position).sum()),
                "n": int((arms == position).sum()),
                "successes": int(accepted[arms == position].sum()),
            }
            for position, (name, share) in enumerate(zip(("champion", "challenger"), SHARES, strict=True))
        ]
        found.append(analyse({"alpha": ALPHA, "planned_n": planned_n, "arms": counts})["decision"])
    return found


def test_the_challenger_is_a_policy_an_experiment_may_run():
    champion, challenger = parsed(default_policy()), parsed(fee_free_installments(default_policy()))
    assert challenger != champion
    assert validate_policy(challenger) == []
    assert not changes_hardship(champion, challenger)


def test_an_a_a_test_is_significant_about_alpha_of_the_time():
    same = book("same")
    assert np.array_equal(same.chances[0], same.chances[1])  # two parses, one behaviour
    _, _, planned_n = design(book("fee_free"))
    found = decisions(same, planned_n)
    significant = sum(d in SIGNIFICANT for d in found)
    low, high = binom.interval(0.999, REPETITIONS, ALPHA)
    print(
        f"\nA/A: {significant}/{REPETITIONS} significant ({significant / REPETITIONS:.3f}) at α = {ALPHA}, "
        f"99.9 % binomial range {int(low)}–{int(high)}; n = {planned_n} a repetition; "
        f"withheld for the sample ratio: {found.count('srm_withheld')}"
    )
    assert set(found) <= {*SIGNIFICANT, "no_difference", "srm_withheld"}
    assert low <= significant <= high


def test_a_better_challenger_is_found_with_the_power_the_design_promised():
    population = book("fee_free")
    baseline, lift, planned_n = design(population)
    assert lift > 0  # the model makes cheaper installments better
    per_arm = planned_n / len(SHARES)
    designed = float(
        NormalIndPower().power(proportion_effectsize(baseline + lift, baseline), per_arm, ALPHA, ratio=1.0)
    )
    found = decisions(population, planned_n)
    better = found.count("challenger_better")
    low, high = binom.interval(0.999, REPETITIONS, designed)
    print(
        f"\npower: baseline {baseline:.4f}, challenger {baseline + lift:.4f} (lift {lift:+.4f}); "
        f"planned n = {planned_n} for power {POWER} at α = {ALPHA} (designed {designed:.3f}); "
        f"found in {better}/{REPETITIONS} ({better / REPETITIONS:.3f}), 99.9 % binomial range "
        f"{int(low)}–{int(high)}; champion_better {found.count('champion_better')}"
    )
    assert designed >= POWER
    assert low <= better <= high
    assert found.count("champion_better") == 0
