"""One analysis of a champion/challenger test: arm counts in, figures and a decision out.

The same function serves ``flask --app wsgi portal experiments analyse FILE --json`` and
the experiment pages, so the statistics can be checked on their own. Pure: no Flask, no
database.

Input (the first arm is the champion; ``share`` is the planned allocation)::

    {"alpha": 0.05, "planned_n": 20000,
     "arms": [{"name": "champion", "share": 0.9, "assigned": N, "n": N, "successes": N,
               "guardrails": {"complaints": N}}, ...]}

``planned_n`` (optional) is the number of accounts analysed, all arms together, that the
design requires; ``guardrails`` (optional, per arm) counts the arm's assigned accounts
that met a harm (all assigned accounts, not only the ``n`` the primary metric judges, so
that a harm rings early; its alpha-spending information is assigned / ``planned_n``).

Decisions, in this order:

- ``srm_withheld``: the assigned counts do not fit the planned shares (χ² p < 0.001);
  the comparisons are withheld (an empty list), because a broken split biases them.
- ``not_yet``: ``planned_n`` is given and the arms' ``n`` add up to less, or an arm has
  nobody analysed; the comparisons are withheld (looking early and stopping on a good
  p-value inflates α). Only the guardrail alarm may speak before then.
- otherwise a fixed-sample decision on the Holm-adjusted p-values at ``alpha``:
  ``challenger_better`` (``challenger_better:<name>`` with several challengers, naming the
  significant challenger with the largest difference), else ``champion_better`` when a
  challenger is significantly worse, else ``no_difference``.

Without ``planned_n`` the counts are taken to be the final, planned sample: the decision
is the fixed-sample one. The pages always pass the design's ``planned_n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from portal.experiments import stats

SRM_THRESHOLD = 0.001
SHARE_TOLERANCE = 1e-6
# Far above any book (the exact posterior sums one term per success of the smaller arm).
MAX_COUNT = 10_000_000


class AnalysisInputError(ValueError):
    """The counts cannot be analysed; the message says why, in English (CLI output)."""


@dataclass(frozen=True)
class Arm:
    name: str
    share: float
    assigned: int
    n: int
    successes: int
    guardrails: dict[str, int]


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise AnalysisInputError(f"{what} must be a whole number, not {value!r}")
    if value < 0:
        raise AnalysisInputError(f"{what} must not be negative, not {value!r}")
    if value > MAX_COUNT:
        raise AnalysisInputError(f"{what} must be at most {MAX_COUNT:,}, not {value!r}")
    return int(value)


def _probability(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise AnalysisInputError(f"{what} must be a number between 0 and 1, not {value!r}")
    return float(value)


def _arm(index: int, raw: Any) -> Arm:
    if not isinstance(raw, dict):
        raise AnalysisInputError(f"arm {index + 1} must be an object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AnalysisInputError(f"arm {index + 1} needs a name")
    share = raw.get("share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise AnalysisInputError(f"arm {name!r}: share must be a number above 0 and at most 1, not {share!r}")
    counts = {key: _count(raw.get(key), f"arm {name!r}: {key}") for key in ("assigned", "n", "successes")}
    if counts["successes"] > counts["n"]:
        raise AnalysisInputError(f"arm {name!r}: successes ({counts['successes']}) above n ({counts['n']})")
    if counts["n"] > counts["assigned"]:
        # Accounts analysed are among those assigned; more would make the sample-ratio check
        # (on the assigned counts) vouch for a split it never saw.
        raise AnalysisInputError(f"arm {name!r}: n ({counts['n']}) above assigned ({counts['assigned']})")
    guardrails_raw = raw.get("guardrails", {})
    if not isinstance(guardrails_raw, dict):
        raise AnalysisInputError(f"arm {name!r}: guardrails must be an object of counts")
    guardrails = {str(k): _count(v, f"arm {name!r}: guardrail {k!r}") for k, v in guardrails_raw.items()}
    for key, events in guardrails.items():
        # A harm is counted among every assigned account (it should ring early, before a
        # slow primary metric such as kept to cycle 3 can judge them).
        if events > counts["assigned"]:
            raise AnalysisInputError(
                f"arm {name!r}: guardrail {key!r} ({events}) above assigned ({counts['assigned']})"
            )
    return Arm(name=name, share=float(share), guardrails=guardrails, **counts)


def parse(data: Any) -> tuple[float, list[Arm], int | None]:
    """Check the input document; raise AnalysisInputError saying what is wrong."""
    if not isinstance(data, dict):
        raise AnalysisInputError("the input must be a JSON object with 'alpha' and 'arms'")
    alpha = _probability(data.get("alpha", 0.05), "alpha")
    raw_arms = data.get("arms")
    if not isinstance(raw_arms, list) or len(raw_arms) < 2:
        raise AnalysisInputError("there must be at least two arms (the champion first, then challengers)")
    arms = [_arm(i, raw) for i, raw in enumerate(raw_arms)]
    if len({arm.name for arm in arms}) != len(arms):
        raise AnalysisInputError("arm names must differ")
    total_share = math.fsum(arm.share for arm in arms)
    if abs(total_share - 1) > SHARE_TOLERANCE:
        raise AnalysisInputError(f"the shares must sum to 1, not {total_share:g}")
    planned = data.get("planned_n")
    planned_n = None if planned is None else _count(planned, "planned_n")
    if planned_n == 0:
        raise AnalysisInputError("planned_n must be above 0")
    return alpha, arms, planned_n


def _guardrail_alarms(alpha: float, arms: list[Arm], information: float) -> list[dict[str, Any]]:
    champion, alarms = arms[0], []
    for arm in arms[1:]:
        for key in sorted(set(arm.guardrails) & set(champion.guardrails)):
            events_c, events_0 = arm.guardrails[key], champion.guardrails[key]
            check = stats.harm_check(events_c, arm.assigned, events_0, champion.assigned, alpha, information)
            if check is None:
                continue
            alarms.append(
                {
                    "arm": arm.name,
                    "guardrail": key,
                    "diff": check.diff,
                    "z": check.z,
                    "boundary_z": check.boundary if math.isfinite(check.boundary) else None,
                    "alarm": check.alarm,
                }
            )
    return alarms


def analyse(data: Any) -> dict[str, Any]:
    """The figures and the decision for one input document (see the module docstring).

    Raises AnalysisInputError on bad input. Every number in the result is finite.
    """
    alpha, arms, planned_n = parse(data)
    analysed = sum(arm.n for arm in arms)
    result: dict[str, Any] = {
        "arms": [
            {
                "name": arm.name,
                "share": arm.share,
                "assigned": arm.assigned,
                "n": arm.n,
                "successes": arm.successes,
                "rate": stats.rate(arm.successes, arm.n),
            }
            for arm in arms
        ],
        "srm_p": stats.srm_p_value([arm.assigned for arm in arms], [arm.share for arm in arms]),
        "comparisons": [],
    }
    if any(arm.guardrails for arm in arms):
        assigned = sum(arm.assigned for arm in arms)
        information = 1.0 if planned_n is None else min(1.0, assigned / planned_n)
        result["guardrail_alarms"] = _guardrail_alarms(alpha, arms, information)
    if result["srm_p"] < SRM_THRESHOLD:
        result["decision"] = "srm_withheld"
        return result
    if (planned_n is not None and analysed < planned_n) or any(arm.n == 0 for arm in arms):
        result["decision"] = "not_yet"
        return result
    result["comparisons"] = _comparisons(arms)
    result["decision"] = _decision(result["comparisons"], alpha, several=len(arms) > 2)
    return result


def _comparisons(arms: list[Arm]) -> list[dict[str, Any]]:
    champion = arms[0]
    rows: list[dict[str, Any]] = []
    for arm in arms[1:]:
        low, high = stats.diff_confint(arm.successes, arm.n, champion.successes, champion.n)
        rows.append(
            {
                "arm": arm.name,
                "diff": arm.successes / arm.n - champion.successes / champion.n,
                "ci_low": low,
                "ci_high": high,
                "p_value": stats.two_proportion_p_value(arm.successes, arm.n, champion.successes, champion.n),
                "prob_better": stats.prob_better(arm.successes, arm.n, champion.successes, champion.n),
            }
        )
    for row, adjusted in zip(rows, stats.holm([row["p_value"] for row in rows]), strict=True):
        row["p_holm"] = adjusted
    # The contract's key order: arm, diff, ci_low, ci_high, p_value, p_holm, prob_better.
    order = ("arm", "diff", "ci_low", "ci_high", "p_value", "p_holm", "prob_better")
    return [{key: row[key] for key in order} for row in rows]


def _decision(comparisons: list[dict[str, Any]], alpha: float, *, several: bool) -> str:
    significant = [c for c in comparisons if c["p_holm"] < alpha]
    better = [c for c in significant if c["diff"] > 0]
    if better:
        winner = max(better, key=lambda c: c["diff"])
        return f"challenger_better:{winner['arm']}" if several else "challenger_better"
    if any(c["diff"] < 0 for c in significant):
        return "champion_better"
    return "no_difference"
