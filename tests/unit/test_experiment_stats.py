"""The champion/challenger statistics (portal.experiments.stats and .analysis) against
textbook figures, hand-worked examples and independent computations."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import beta, binom, norm
from statsmodels.stats.proportion import proportions_ztest

from portal.experiments import stats
from portal.experiments.analysis import AnalysisInputError, analyse

PACKAGE = Path(__file__).resolve().parents[2] / "portal" / "experiments"


@pytest.mark.parametrize("module", ["stats.py", "analysis.py"])
def test_the_statistics_import_neither_flask_nor_the_database(module):
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    for name in names:
        assert name.split(".")[0] not in {"flask", "sqlalchemy", "flask_sqlalchemy"}, name
        if name.startswith("portal"):
            assert name in {"portal.experiments", "portal.experiments.stats"}, name


def test_the_difference_interval_is_newcombes_method_10_on_his_own_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (a): 56/70 - 48/80.
    low, high = stats.diff_confint(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_the_interval_stays_inside_minus_one_to_one_when_no_one_succeeds():
    low, high = stats.diff_confint(0, 30, 0, 40)
    assert -1 < low < 0 < high < 1


def test_the_two_proportion_p_value_is_the_pooled_z_test_worked_by_hand():
    pooled = (56 + 48) / 150
    z = (56 / 70 - 48 / 80) / math.sqrt(pooled * (1 - pooled) * (1 / 70 + 1 / 80))
    by_hand = math.erfc(abs(z) / math.sqrt(2))
    assert stats.two_proportion_p_value(56, 70, 48, 80) == pytest.approx(by_hand, rel=1e-12)
    assert stats.two_proportion_p_value(56, 70, 48, 80) == pytest.approx(proportions_ztest([56, 48], [70, 80])[1])
    assert round(by_hand, 4) == 0.0080


def test_the_p_value_is_one_when_both_arms_all_succeed_or_all_fail():
    assert stats.two_proportion_p_value(0, 50, 0, 60) == 1.0
    assert stats.two_proportion_p_value(50, 50, 60, 60) == 1.0


def test_holm_adjusts_a_hand_checked_example():
    # Sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03; 2 x 0.03 = 0.06; 1 x 0.04 = 0.04, raised
    # to 0.06 to stay monotone. Returned in the input order.
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.2]) == [0.2]
    assert stats.holm([0.6, 0.7]) == [1.0, 1.0]


def test_the_sample_ratio_check_is_pearsons_chi_square_worked_by_hand():
    # 821 and 779 against 50/50: chi2 = 2 x 21^2 / 800 = 1.1025 on 1 degree of freedom.
    by_hand = math.erfc(math.sqrt(1.1025 / 2))
    assert stats.srm_p_value([821, 779], [0.5, 0.5]) == pytest.approx(by_hand, rel=1e-12)
    assert stats.srm_p_value([0, 0], [0.9, 0.1]) == 1.0
    assert stats.srm_p_value([9000, 1300], [0.9, 0.1]) < 0.001


def _prob_better_by_integration(s_c, n_c, s_0, n_0):
    challenger, champion = beta(1 + s_c, 1 + n_c - s_c), beta(1 + s_0, 1 + n_0 - s_0)
    value, _error = integrate.quad(lambda x: champion.pdf(x) * challenger.sf(x), 0, 1, limit=200, epsabs=1e-12)
    return value


@pytest.mark.parametrize(
    "counts", [(56, 70, 48, 80), (48, 80, 56, 70), (3, 40, 9, 41), (120, 400, 100, 380), (0, 10, 0, 12), (10, 10, 1, 9)]
)
def test_prob_better_is_exact_and_agrees_with_numeric_integration(counts):
    assert stats.prob_better(*counts) == pytest.approx(_prob_better_by_integration(*counts), abs=1e-9)


def test_prob_better_is_a_half_for_identical_arms_and_complements_when_swapped():
    assert stats.prob_better(30, 100, 30, 100) == pytest.approx(0.5, abs=1e-12)
    assert stats.prob_better(40, 100, 30, 90) + stats.prob_better(30, 90, 40, 100) == pytest.approx(1, abs=1e-12)


def test_prob_better_handles_large_arms():
    value = stats.prob_better(21_000, 100_000, 20_000, 100_000)
    assert value > 0.9999 and stats.prob_better(20_000, 100_000, 20_100, 100_000) < 0.5


def test_the_sample_size_matches_the_normal_formula_on_cohens_h():
    # Equal split: n per arm = 2 ((z_{1-a/2} + z_{power}) / h)^2 (the arcsine of a rate has
    # variance 1/(4n), so the difference of two has 2/n on Cohen's scale; statsmodels adds
    # the far tail, which changes nothing here), h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)).
    h = 2 * math.asin(math.sqrt(0.25)) - 2 * math.asin(math.sqrt(0.20))
    per_arm = 2 * ((norm.isf(0.025) + norm.isf(0.2)) / h) ** 2
    size = stats.required_sample_size(0.20, 0.05, 0.05, 0.8, [0.5, 0.5])
    assert size.per_arm == (math.ceil(per_arm), math.ceil(per_arm)) and size.total == 2 * math.ceil(per_arm)
    # The textbook formula on the rates themselves (Fleiss) gives 1,094 for 20 % vs 25 %.
    assert abs(size.per_arm[0] - 1094) <= 5


def test_an_uneven_split_and_more_challengers_need_more_accounts():
    even = stats.required_sample_size(0.2, 0.02, 0.05, 0.8, [0.5, 0.5]).total
    ninety_ten = stats.required_sample_size(0.2, 0.02, 0.05, 0.8, [0.9, 0.1])
    three_arms = stats.required_sample_size(0.2, 0.02, 0.05, 0.8, [0.34, 0.33, 0.33]).total
    assert ninety_ten.total > 2 * even and three_arms > even
    # The challenger's 10 % still gets its planned count.
    assert ninety_ten.per_arm[1] >= ninety_ten.per_arm[0] / 9 - 1
    with pytest.raises(ValueError):
        stats.required_sample_size(0.99, 0.05, 0.05, 0.8, [0.5, 0.5])


def test_obrien_fleming_spends_almost_nothing_early_and_all_alpha_at_the_end():
    # Lan-DeMets O'Brien-Fleming at half the information: 2 - 2 Phi(1.96 / sqrt(0.5)) = 0.0056.
    assert round(stats.obrien_fleming_spent(0.05, 0.5), 4) == 0.0056
    assert stats.obrien_fleming_spent(0.05, 1.0) == pytest.approx(0.05)
    assert stats.obrien_fleming_spent(0.05, 0.0) == 0.0
    assert stats.harm_boundary(0.05, 0.25) > stats.harm_boundary(0.05, 0.5) > stats.harm_boundary(0.05, 1.0)
    assert stats.harm_boundary(0.05, 1.0) == pytest.approx(norm.isf(0.05))


def test_the_harm_alarm_rings_only_past_the_boundary():
    # 60/1000 complaints vs 30/1000: z ~ 3.2; past the boundary at half the information
    # (2.54 one-sided), not at a tenth (about 5.3 or more).
    check = stats.harm_check(60, 1000, 30, 1000, 0.05, 0.5)
    assert check is not None and check.alarm and check.z > check.boundary
    early = stats.harm_check(60, 1000, 30, 1000, 0.05, 0.1)
    assert early is not None and not early.alarm
    fewer = stats.harm_check(20, 1000, 30, 1000, 0.05, 1.0)
    assert fewer is not None and not fewer.alarm and fewer.z < 0
    assert stats.harm_check(1, 0, 0, 10, 0.05, 1.0) is None


# --- the analysis and its decision -----------------------------------------------------


def arms(*counts, shares=None):
    shares = shares or [1 / len(counts)] * len(counts)
    names = ["champion", *[f"c{i}" for i in range(1, len(counts))]]
    return [
        {"name": name, "share": share, "assigned": n, "n": n, "successes": s}
        for name, share, (s, n) in zip(names, shares, counts, strict=True)
    ]


def test_the_analysis_has_the_contracts_keys_and_figures():
    result = analyse({"alpha": 0.05, "arms": arms((48, 80), (56, 70), shares=[0.5, 0.5])})
    assert list(result) == ["arms", "srm_p", "comparisons", "decision"]
    assert list(result["comparisons"][0]) == ["arm", "diff", "ci_low", "ci_high", "p_value", "p_holm", "prob_better"]
    comparison = result["comparisons"][0]
    assert comparison["diff"] == pytest.approx(0.2) and round(comparison["ci_low"], 4) == 0.0524
    assert comparison["p_value"] == pytest.approx(proportions_ztest([56, 48], [70, 80])[1])
    assert comparison["p_holm"] == comparison["p_value"]
    assert result["arms"][1]["rate"] == pytest.approx(0.8)
    assert result["decision"] == "challenger_better"


def test_several_challengers_are_holm_adjusted_and_the_winner_is_named():
    result = analyse({"alpha": 0.05, "arms": arms((200, 1000), (205, 1000), (260, 1000), (250, 1000))})
    raw = [c["p_value"] for c in result["comparisons"]]
    assert [c["p_holm"] for c in result["comparisons"]] == pytest.approx(stats.holm(raw))
    assert result["decision"] == "challenger_better:c2"


def test_holm_can_turn_a_nominal_win_into_no_difference():
    # c1 alone has p ~ 0.03; with three challengers its Holm p exceeds 0.05.
    counts = [(300, 1000), (345, 1000), (300, 1000), (301, 1000)]
    result = analyse({"alpha": 0.05, "arms": arms(*counts)})
    assert result["comparisons"][0]["p_value"] < 0.05 < result["comparisons"][0]["p_holm"]
    assert result["decision"] == "no_difference"


def test_a_worse_challenger_makes_the_champion_better():
    assert analyse({"alpha": 0.05, "arms": arms((300, 1000), (220, 1000))})["decision"] == "champion_better"


def test_before_the_planned_sample_results_are_not_yet_shown():
    data = {"alpha": 0.05, "planned_n": 5000, "arms": arms((48, 80), (56, 70), shares=[0.5, 0.5])}
    result = analyse(data)
    assert result["decision"] == "not_yet" and result["comparisons"] == []
    assert analyse({**data, "planned_n": 150})["decision"] == "challenger_better"


def test_an_arm_with_nobody_analysed_is_not_yet():
    result = analyse({"alpha": 0.05, "arms": arms((0, 0), (3, 10), shares=[0.5, 0.5])})
    assert result["decision"] == "not_yet" and result["arms"][0]["rate"] is None


def test_a_broken_split_withholds_the_results():
    data = arms((1800, 9000), (400, 1300), shares=[0.9, 0.1])
    result = analyse({"alpha": 0.05, "arms": data})
    assert result["srm_p"] < 0.001 and result["decision"] == "srm_withheld" and result["comparisons"] == []


def test_the_guardrail_alarm_speaks_before_the_planned_sample():
    data = arms((200, 1000), (210, 1000), shares=[0.5, 0.5])
    data[0]["guardrails"], data[1]["guardrails"] = {"complaints": 30}, {"complaints": 60}
    result = analyse({"alpha": 0.05, "planned_n": 4000, "arms": data})
    assert result["decision"] == "not_yet"
    [alarm] = result["guardrail_alarms"]
    assert alarm["arm"] == "c1" and alarm["guardrail"] == "complaints" and alarm["alarm"] is True
    data[1]["guardrails"] = {"complaints": 33}
    assert analyse({"alpha": 0.05, "planned_n": 4000, "arms": data})["guardrail_alarms"][0]["alarm"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["arms"][0].update(share=0.6), "sum to 1"),
        (lambda d: d["arms"][1].update(successes=71), "above n"),
        (lambda d: d["arms"][1].update(n=-1), "negative"),
        (lambda d: d["arms"][1].update(assigned=10), "above assigned"),
        (lambda d: d["arms"].pop(), "at least two arms"),
        (lambda d: d["arms"][0].update(assigned=2.5), "whole number"),
        (lambda d: d.update(alpha=1.5), "alpha"),
        (lambda d: d["arms"][1].update(name="champion"), "differ"),
        (lambda d: d["arms"][1].update(n=1e300, successes=1), "at most"),
        (lambda d: d["arms"][1].update(share=float("nan")), "share"),
    ],
)
def test_bad_input_is_refused_with_a_message(change, message):
    data = {"alpha": 0.05, "arms": arms((48, 80), (56, 70), shares=[0.5, 0.5])}
    change(data)
    with pytest.raises(AnalysisInputError, match=message):
        analyse(data)


def test_an_aa_test_is_significant_about_alpha_of_the_time():
    # 400 seeded A/A repetitions (identical 30 % arms, 2,000 accounts each): the count of
    # p < 0.05 must lie within the binomial 99.9 % range of 400 x 0.05.
    rng = np.random.default_rng(20261201)
    repetitions, n, alpha = 400, 2000, 0.05
    significant = 0
    for _ in range(repetitions):
        a, b = (int(x) for x in rng.binomial(n, 0.3, size=2))
        result = analyse({"alpha": alpha, "arms": arms((a, n), (b, n), shares=[0.5, 0.5])})
        significant += result["decision"] != "no_difference"
    low, high = binom.interval(0.999, repetitions, alpha)
    assert low <= significant <= high, significant


# --- design rules (portal.experiments.design) ------------------------------------------


def test_the_keyed_hash_splits_accounts_as_planned_and_always_the_same_way():
    from decimal import Decimal

    from portal.experiments.design import arm_position

    shares = [Decimal("0.9"), Decimal("0.1")]
    arms = [arm_position(b"key", 7, account_id, shares) for account_id in range(20_000)]
    counts = [arms.count(0), arms.count(1)]
    assert stats.srm_p_value(counts, [0.9, 0.1]) > 0.001
    assert arms == [arm_position(b"key", 7, account_id, shares) for account_id in range(20_000)]
    # Another key or another experiment gives another split.
    assert arms != [arm_position(b"other", 7, account_id, shares) for account_id in range(20_000)]
    assert arms != [arm_position(b"key", 8, account_id, shares) for account_id in range(20_000)]


def test_the_expected_date_follows_the_assignment_rate():
    from datetime import date

    from portal.experiments.design import expected_date

    started, today = date(2026, 11, 1), date(2026, 11, 10)  # 10 days, 100 a day
    assert expected_date(3000, 1000, started, today) == date(2026, 11, 30)
    assert expected_date(3000, 3000, started, today) == today
    assert expected_date(3000, 0, started, today) is None


def test_a_sample_too_slow_to_reach_has_no_expected_date():
    """One account in a month towards 200,000 is some 500 years away: no date (it was an
    OverflowError, a 500 on the experiment page)."""
    from datetime import date

    from portal.experiments.design import expected_date

    assert expected_date(200_000, 1, date(2026, 11, 1), date(2026, 11, 30)) is None
    assert expected_date(2**31 - 1, 1, date(1990, 1, 1), date(2026, 11, 30)) is None
    assert expected_date(3651, 1, date(2026, 11, 30), date(2026, 11, 30)) == date(2036, 11, 27)


def test_a_challenger_changing_hardship_limits_or_tiers_is_caught():
    from dataclasses import replace

    from portal.domain.default_policy import default_policy
    from portal.experiments.design import changes_hardship

    champion = default_policy()
    cheaper = replace(champion, cooldown_days=30)
    assert not changes_hardship(champion, cheaper)
    tiers = list(champion.tiers)
    tiers[0] = replace(tiers[0], personalised=replace(tiers[0].personalised, max_tenor=12))
    assert changes_hardship(champion, replace(champion, tiers=tuple(tiers)))
    tiers = list(champion.tiers)
    tiers[0] = replace(tiers[0], max_dpd=(tiers[0].max_dpd or 0) + 5)
    assert changes_hardship(champion, replace(champion, tiers=tuple(tiers)))


def test_a_real_difference_is_found_with_about_the_power_the_design_promised():
    # 20 % vs 25 % at the planned 1,092 per arm (power 0.8): over 300 seeded repetitions
    # the count of challenger_better lies within the binomial 99.9 % range of 300 x 0.8.
    size = stats.required_sample_size(0.20, 0.05, 0.05, 0.8, [0.5, 0.5])
    n = size.per_arm[0]
    rng = np.random.default_rng(20261202)
    repetitions, found = 300, 0
    for _ in range(repetitions):
        champion, challenger = int(rng.binomial(n, 0.20)), int(rng.binomial(n, 0.25))
        result = analyse({"alpha": 0.05, "planned_n": size.total, "arms": arms((champion, n), (challenger, n))})
        found += result["decision"] == "challenger_better"
    low, high = binom.interval(0.999, repetitions, 0.8)
    assert low <= found <= high, found
