"""On a phone: a cardholder over the limits on new plans after a broken one is told,
in plain words, from which date a plan can be chosen, and how to talk to us."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.accounts.models import CardAccount, Cardholder
from portal.demo import DEMO_CARDHOLDERS
from portal.extensions import db
from portal.plans.models import Plan
from tests.browser.conftest import _LIVE_APPS, axe_violations, screenshot
from tests.browser.test_journey_phone import sign_in
from tests.plan_factories import make_plan

pytestmark = pytest.mark.browser


def test_the_offers_page_says_when_a_new_plan_can_be_chosen(phone):
    demo = DEMO_CARDHOLDERS[9]  # 林怡君, HKD, read in English here; no other browser test uses her
    app = _LIVE_APPS[0]
    with app.app_context():
        account_id = db.session.execute(
            select(CardAccount.id).join(Cardholder).where(Cardholder.full_name == demo.name)
        ).scalar_one()
    now = datetime.now(UTC)
    for state, accepted, ended in (
        ("broken", now - timedelta(days=500), now - timedelta(days=400)),
        ("completed", now - timedelta(days=100), now - timedelta(days=20)),
    ):
        plan_id = make_plan(app, account_id, "installment", "en", months=6)
        with app.app_context():
            db.session.execute(
                update(Plan).where(Plan.id == plan_id).values(state=state, accepted_at=accepted, ended_at=ended)
            )
            db.session.commit()
    page = phone
    sign_in(page, demo, "en")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto("/plan/offers")
    text = page.locator("main").inner_text()
    assert "You can choose a new plan from" in text
    assert "+852 3000 0000" in text
    assert page.locator("a[href*='/plan/offers/']").count() == 0
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "offers-new-plan-limit")
