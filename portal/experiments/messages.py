"""Translated words of the experiment pages: refusals, states, decisions."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

ERRORS: dict[str, Any] = {
    "not_found": _l("There is no such experiment."),
    "unknown_currency": _l("That currency is not known."),
    "no_champion": _l("This currency has no active policy version to be the champion."),
    "bad_design": _l(
        "Check the design: the rates must lie between 0 and 1, and the champion's rate plus the difference below 1."
    ),
    "bad_shares": _l("Each arm needs a share above 0, the challengers together less than 1, and each challenger once."),
    "bad_metric": _l("Choose a metric from the list."),
    "not_challenger_version": _l("A challenger must be a policy version submitted for approval and not yet decided."),
    "currency_mismatch": _l("A challenger must be a version of the experiment's currency."),
    "changes_hardship": _l(
        "A challenger may not change the tiers or their hardship (personalised) limits: "
        "hardship offers are never part of an experiment."
    ),
    "invalid": _l("A challenger version has problems; fix it in the policy editor first."),
    "already_running": _l("Another experiment already runs in this currency."),
    "not_pending": _l("This experiment is not waiting to start."),
    "not_running": _l("This experiment is not running."),
    "proposal_open": _l("A proposal is already waiting for approval."),
    "no_proposal": _l("Nothing is waiting for approval."),
    "own_proposal": _l("You made this proposal, so another policy admin must approve or reject it."),
    "own_version": _l("You wrote or submitted a challenger version, so another policy admin must approve it."),
    "comment_required": _l("Say why you reject it."),
    "changed_since_review": _l("The experiment changed since you opened the page. Review it again."),
    "champion_changed": _l("The active policy version changed since the experiment was proposed. Propose it again."),
    "version_scheduled": _l(
        "A policy version is scheduled to become active in this currency. Start the experiment after it is active."
    ),
    "bad_arm": _l("Choose one of the challengers."),
}

STATES: dict[str, Any] = {
    "pending": _l("Waiting to start"),
    "running": _l("Running"),
    "stopped": _l("Stopped"),
    "rejected": _l("Rejected"),
}

PROPOSALS: dict[str, Any] = {
    "start": _l("Start"),
    "stop": _l("Stop"),
    "promote": _l("Promote a challenger"),
}

DECISIONS: dict[str, Any] = {
    "challenger_better": _l("The challenger does better."),
    "champion_better": _l("The champion does better."),
    "no_difference": _l("No difference was found."),
    "not_yet": _l("Not yet: the planned sample has not been reached."),
    "srm_withheld": _l(
        "Results withheld: the accounts are not split as planned (sample ratio check p < 0.001). "
        "Look for a fault in the assignment."
    ),
}


def error_message(code: str) -> str:
    return str(ERRORS.get(code, ERRORS["not_found"]))


def decision_text(decision: str) -> str:
    """A decision string of ``analysis.analyse`` in words; ``challenger_better:<arm>`` too."""
    return str(DECISIONS["challenger_better" if decision.startswith("challenger_better") else decision])
