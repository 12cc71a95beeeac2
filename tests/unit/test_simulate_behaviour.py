"""The simulated cardholders' behaviour model: chances fall as the burden and the cost
rise, so a policy that asks less of cardholders shows up as better outcomes; draws are
fixed by the seed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from portal.domain.budget import Budget
from portal.simulate.behaviour import (
    BehaviourModel,
    Draws,
    Persona,
    accept_chance,
    burden,
    hill,
    keep_promise_chance,
    pay_chance,
)


def test_a_lower_payment_relative_to_the_budget_raises_the_chance_to_accept_and_to_keep_paying():
    model = BehaviourModel()
    ratios = [0.2, 0.5, 0.9, 1.0, 1.3, 2.0, 4.0]
    accept = [accept_chance(model, r, 0.05) for r in ratios]
    pay = [pay_chance(model, r) for r in ratios]
    keep = [keep_promise_chance(model, r) for r in ratios]
    for series in (accept, pay, keep):
        assert series == sorted(series, reverse=True) and series[0] > series[-1]
    assert accept_chance(model, 1.0, 0.0) == model.accept_top / 2  # half of the top at the midpoint


def test_a_cheaper_offer_is_more_likely_to_be_accepted():
    model = BehaviourModel()
    assert accept_chance(model, 0.8, 0.02) > accept_chance(model, 0.8, 0.10) > accept_chance(model, 0.8, 0.30)
    assert accept_chance(model, 0.8, 1.0) == 0.0


def test_the_model_is_one_dataclass_a_test_can_change():
    eager = replace(BehaviourModel(), accept_top=1.0, accept_mid=10.0)
    assert accept_chance(eager, 1.0, 0.0) > accept_chance(BehaviourModel(), 1.0, 0.0)


def test_hill_curve_edges():
    assert hill(0, 0.9, 1.0, 3.0) == 0.9
    assert hill(1.0, 0.9, 1.0, 3.0) == 0.45
    assert burden(Decimal(100), Decimal(0)) == float("inf")
    assert pay_chance(BehaviourModel(), float("inf")) == 0.0


def test_draws_are_fixed_by_the_seed_and_what_they_decide():
    one, same, other = Draws(7), Draws(7), Draws(8)
    assert one.u(1, "open") == same.u(1, "open")
    assert one.u(1, "open") != one.u(2, "open") != other.u(1, "open")
    values = [one.u(n, "x") for n in range(2000)]
    assert all(0 <= v < 1 for v in values)
    assert 0.45 < sum(values) / len(values) < 0.55
    picks = [one.pick({"a": 0.8, "b": 0.2}, n, "pick") for n in range(2000)]
    assert 0.75 < picks.count("a") / len(picks) < 0.85


def test_a_persona_budget_is_one_the_budget_page_accepts_with_its_disposable_income():
    persona = Persona("lost_job", 0.5, Decimal("9000.00"), Decimal("8123.45"), Decimal("100"), "sms")
    budget = Budget(**{name: Decimal(value) for name, value in persona.budget_figures().items()})
    assert budget.disposable == persona.disposable == Decimal("876.55")
    poor = replace(persona, costs=Decimal("9500.00"))
    assert poor.capacity(BehaviourModel()) == BehaviourModel().capacity_floor
