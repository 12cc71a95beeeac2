"""`portal experiments analyse FILE --json`: the issue's contract, and exit 2 on bad input."""

from __future__ import annotations

import json

import pytest
from statsmodels.stats.proportion import proportions_ztest


def analyse(app, tmp_path, data, *options: str):
    path = tmp_path / "counts.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return app.test_cli_runner().invoke(args=["portal", "experiments", "analyse", str(path), *options])


COUNTS = {
    "alpha": 0.05,
    "arms": [
        {"name": "champion", "share": 0.5, "assigned": 80, "n": 80, "successes": 48},
        {"name": "lower-fee", "share": 0.5, "assigned": 70, "n": 70, "successes": 56},
    ],
}


def test_the_json_output_follows_the_contract_with_numbers_as_json_numbers(app, tmp_path):
    result = analyse(app, tmp_path, COUNTS, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"arms", "srm_p", "comparisons", "decision"}
    [comparison] = data["comparisons"]
    assert set(comparison) == {"arm", "diff", "ci_low", "ci_high", "p_value", "p_holm", "prob_better"}
    assert comparison["arm"] == "lower-fee"
    for key in ("diff", "ci_low", "ci_high", "p_value", "p_holm", "prob_better"):
        assert type(comparison[key]) is float
    assert type(data["srm_p"]) is float
    assert comparison["p_value"] == pytest.approx(float(proportions_ztest([56, 48], [70, 80])[1]))
    assert (round(comparison["ci_low"], 4), round(comparison["ci_high"], 4)) == (0.0524, 0.3339)
    assert data["decision"] == "challenger_better"


def test_without_json_it_prints_a_readable_summary(app, tmp_path):
    result = analyse(app, tmp_path, COUNTS)
    assert result.exit_code == 0 and "decision: challenger_better" in result.output


def test_before_the_planned_sample_the_decision_is_not_yet(app, tmp_path):
    result = analyse(app, tmp_path, {**COUNTS, "planned_n": 1000}, "--json")
    assert result.exit_code == 0 and json.loads(result.output)["decision"] == "not_yet"


def test_several_challengers_name_the_winner(app, tmp_path):
    arms = [
        {"name": "champion", "share": 0.5, "assigned": 2000, "n": 2000, "successes": 400},
        {"name": "b", "share": 0.25, "assigned": 1000, "n": 1000, "successes": 205},
        {"name": "c", "share": 0.25, "assigned": 1000, "n": 1000, "successes": 270},
    ]
    result = analyse(app, tmp_path, {"alpha": 0.05, "arms": arms}, "--json")
    assert json.loads(result.output)["decision"] == "challenger_better:c"


def _with(change):
    data = json.loads(json.dumps(COUNTS))
    change(data)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(lambda d: d["arms"][0].update(share=0.9)), "the shares must sum to 1"),
        (_with(lambda d: d["arms"][1].update(successes=71)), "successes (71) above n (70)"),
        (_with(lambda d: d["arms"][0].update(assigned=-3)), "must not be negative"),
        (_with(lambda d: d["arms"].pop()), "at least two arms"),
        ("{not json", "is not JSON"),
        ("[" * 100_000 + "]" * 100_000, "nests deeper"),
    ],
)
def test_bad_input_exits_2_with_a_message(app, tmp_path, data, message):
    result = analyse(app, tmp_path, data, "--json")
    assert result.exit_code == 2
    assert message in result.output and result.output.startswith("error: ")
