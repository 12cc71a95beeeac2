"""Which plans the offer engine weighs: a rule with no imports beyond the plans' model, so
that the account's read-only rows (``portal.accounts.overview``) can be mapped with it
while the models are first imported."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from portal.db_types import one_of
from portal.plans.models import OPEN_STATES, Plan, PlanState


def counts_for_offers(plan: type[Plan] = Plan) -> ColumnElement[bool]:
    """The plans the offer engine weighs: open ones, broken ones and every plan accepted."""
    return or_(plan.state == PlanState.BROKEN, plan.accepted_at.is_not(None), one_of(plan.state, OPEN_STATES))
