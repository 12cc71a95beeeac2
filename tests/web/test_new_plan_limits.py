"""Limits on new plans after a broken one, as the cardholder meets them: the offers page
says why and from when, and acceptance re-checks them (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.plans.models import Plan
from portal.plans.service import PlanError, find_offer
from portal.policies.service import ensure_default_policy
from tests.conftest import make_account
from tests.plan_factories import make_plan

TODAY = date(2026, 11, 28)  # the frozen clock's day in Shanghai


@pytest.fixture
def account_id(app, frozen):
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    return make_account(app, dpd=35)


def past_plan(app, account_id: int, state: str, accepted: datetime, ended: datetime) -> None:
    plan_id = make_plan(app, account_id, "installment", "en", months=6)
    with app.app_context():
        db.session.execute(
            update(Plan).where(Plan.id == plan_id).values(state=state, accepted_at=accepted, ended_at=ended)
        )
        db.session.commit()


def offers_page(client, auth) -> str:
    auth.sign_in()
    response = client.get("/plan/offers")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_over_the_limit_the_offers_page_says_why_and_from_when(app, client, auth, account_id):
    past_plan(app, account_id, "broken", datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    past_plan(app, account_id, "completed", datetime(2026, 3, 10, 4, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))
    html = offers_page(client, auth)
    assert "You can choose a new plan from 10 March 2027" in html
    assert "you have had a new plan since then" in html
    # The policy's own limits (1 in 12 months, 2 in 5 years), not "a few in a year".
    assert "we can start at most 1 new plan in any 12 months, and at most 2 in any 5 years." in html
    assert "a few new plans" not in html
    assert "400 000 0000" in html
    assert not re.findall(r"/plan/offers/[0-9a-f]{64}", html)  # no plan to choose


def test_in_the_cool_down_the_page_gives_its_end(app, client, auth, account_id):
    past_plan(app, account_id, "broken", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 11, 1, 1, tzinfo=UTC))
    html = offers_page(client, auth)
    assert "You can choose a new plan from 30 January 2027" in html
    assert "We wait a little while" in html


@pytest.mark.parametrize("why", [{"flags": ["dispute"]}, {"dpd": 0}], ids=["dispute", "not_overdue"])
def test_no_date_is_given_when_something_else_also_stops_offers(app, client, auth, frozen, why):
    # In the cool-down, but a dispute (or nothing overdue) also stops offers: on the
    # cool-down's last day offers would still not come, so the page gives no such date.
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    account_id = make_account(app, **{"dpd": 35, **why})
    past_plan(app, account_id, "broken", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 11, 1, 1, tzinfo=UTC))
    html = offers_page(client, auth)
    assert "You can choose a new plan from" not in html
    assert "We cannot show plans online for your account right now." in html


def test_the_first_plan_after_a_break_is_offered_after_the_cool_down(app, client, auth, account_id):
    past_plan(app, account_id, "broken", datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    html = offers_page(client, auth)
    assert "You can choose a new plan from" not in html
    assert re.findall(r"/plan/offers/[0-9a-f]{64}", html)


def test_acceptance_re_checks_the_limit(app, account_id):
    past_plan(app, account_id, "broken", datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    with app.app_context():
        account = db.session.get(CardAccount, account_id)
        assert account is not None
        from portal.offers.adapter import offers_for_account

        _, offers = offers_for_account(account, TODAY)
        fingerprint = offers[0].fingerprint
        assert find_offer(account, fingerprint, TODAY)
    # Meanwhile another plan was made after the broken one (say, through care).
    past_plan(app, account_id, "cancelled", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC))
    with app.app_context():
        account = db.session.get(CardAccount, account_id)
        with pytest.raises(PlanError, match="offer_changed"):
            find_offer(account, fingerprint, TODAY)
