"""How many SQL statements one signed-in GET of a cardholder page sends (issue 15): at most
3 for the account page, 4 for the offers page, 3 for an offer's detail page, session
check and user loading included, on SQLite and PostgreSQL.

Counted with SQLAlchemy's ``before_cursor_execute``: every statement a cursor sends. The
savepoints the rolled-back test transaction adds stand for the request's own BEGIN and
ROLLBACK, which the driver sends outside any cursor, and are not counted. The clock is
frozen, so the session is not due its every-30-seconds touch (an UPDATE) in these
requests. Each test also checks that the page shows what the eagerly loaded rows hold,
so that a count kept low by not loading them fails too."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import update

from portal.audit.service import SYSTEM, Actor
from portal.cases.service import record_promise
from portal.extensions import db
from portal.plans.models import Plan
from portal.policies.service import ensure_default_policy
from tests.conftest import counted_get, csrf_token, make_account, unit
from tests.plan_factories import add_payment, make_plan

ACCOUNT_PAGE = 3
OFFERS_PAGE = 4
OFFER_PAGE = 3


@pytest.fixture
def policy(app: Flask) -> None:
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()


def test_the_account_page_without_a_plan_sends_three(app, client, auth, frozen, policy):
    account_id = make_account(app, reference="DEMO0001")
    for n, amount in enumerate(("101.00", "102.00", "103.00", "104.00", "105.00", "106.00")):
        add_payment(app, account_id, amount, date(2026, 5 + n, 3), "reversed" if n == 4 else "posted")
    with unit(app):
        record_promise(account_id, Decimal("200.00"), "CNY", date(2026, 12, 5), Actor.cardholder(account_id))
        record_promise(account_id, Decimal("300.00"), "CNY", date(2026, 12, 10), Actor.cardholder(account_id))
    auth.sign_in()
    html, seen = counted_get(app, client, "/account")
    assert len(seen) <= ACCOUNT_PAGE, seen
    assert "Hello, Li Na" in html
    assert "To pay by 10 December 2026." in html and "CN¥300.00" in html  # the latest open promise
    assert "To pay by 5 December" not in html and "CN¥200.00" not in html
    shown = re.findall(r"CN¥(10\d)\.00", html)
    assert shown == ["106", "105", "104", "103", "102"], shown  # the latest five, newest first
    assert "<s>CN¥105.00</s>" in html  # sent back by the bank, and shown as such


def test_the_account_page_with_a_plan_sends_three(app, client, auth, frozen, policy):
    account_id = make_account(app, reference="DEMO0001")
    make_plan(app, account_id, "installment", "en", months=60)
    add_payment(app, account_id, "250.00", date(2026, 11, 20))
    auth.sign_in()
    html, seen = counted_get(app, client, "/account")
    assert len(seen) <= ACCOUNT_PAGE, seen
    assert "Your plan" in html and "Your next payment" in html
    assert "CN¥250.00" in html


def test_the_offers_page_sends_at_most_four(app, client, auth, frozen, policy):
    make_account(app, dpd=35)
    auth.sign_in()
    html, seen = counted_get(app, client, "/plan/offers")
    assert len(seen) <= OFFERS_PAGE, seen
    assert re.search(r"/plan/offers/[0-9a-f]{64}", html)


def test_the_offers_page_after_a_budget_sends_at_most_four(app, client, auth, frozen, policy):
    make_account(app, dpd=35)
    auth.sign_in()
    token = csrf_token(client.get("/plan/budget").data)
    budget = {"csrf_token": token, "earnings": "9000", "housing": "3000", "food_housekeeping": "1500"}
    assert client.post("/plan/budget", data=budget).status_code == 302
    html, seen = counted_get(app, client, "/plan/offers")
    assert len(seen) <= OFFERS_PAGE, seen
    assert "a plan should ask no more than" in html


def test_the_offers_page_that_says_to_wait_sends_at_most_four(app, client, auth, frozen, policy):
    account_id = make_account(app, dpd=35)
    plan_id = make_plan(app, account_id, "installment", "en", months=6)
    with app.app_context():
        broke = {"accepted_at": datetime(2026, 6, 1, tzinfo=UTC), "ended_at": datetime(2026, 11, 1, 1, tzinfo=UTC)}
        db.session.execute(update(Plan).where(Plan.id == plan_id).values(state="broken", **broke))
        db.session.commit()
    auth.sign_in()
    html, seen = counted_get(app, client, "/plan/offers")
    assert len(seen) <= OFFERS_PAGE, seen
    assert "You can choose a new plan from 30 January 2027" in html


def test_an_offer_page_sends_three(app, client, auth, frozen, policy):
    make_account(app, dpd=35)
    auth.sign_in()
    offer = re.search(r"/plan/offers/[0-9a-f]{64}", client.get("/plan/offers").get_data(as_text=True))
    assert offer is not None
    html, seen = counted_get(app, client, offer[0])
    assert len(seen) <= OFFER_PAGE, seen
    assert "Your payments" in html


def test_the_account_page_reads_no_plan_for_an_account_without_one(app, client, auth, frozen, policy):
    # Whether there is a plan to show comes with the account (CardAccount.shown_plan):
    # only an account with a plan has its installments and agreement read. The account
    # itself comes with the session check (portal.auth.session_with_account): one statement.
    make_account(app, reference="DEMO0001")
    auth.sign_in()
    html, seen = counted_get(app, client, "/account")
    assert len(seen) == 1, seen
    assert "web_sessions" in seen[0] and "card_accounts" in seen[0], seen
    assert not any("plan_installments" in statement for statement in seen), seen
    assert "Your plan" not in html and "See your options and choose a plan" in html


def test_the_account_page_shows_a_broken_plan_read_with_the_account(app, client, auth, frozen, policy):
    account_id = make_account(app, reference="DEMO0001")
    plan_id = make_plan(app, account_id, "installment", "en", months=6)
    with app.app_context():
        broke = {"accepted_at": datetime(2026, 6, 1, tzinfo=UTC), "ended_at": datetime(2026, 11, 1, 1, tzinfo=UTC)}
        db.session.execute(update(Plan).where(Plan.id == plan_id).values(state="broken", **broke))
        db.session.commit()
    auth.sign_in()
    html, seen = counted_get(app, client, "/account")
    assert len(seen) <= ACCOUNT_PAGE, seen
    assert "Your plan has ended" in html


@pytest.mark.parametrize("page", ["offers", "offer"])
def test_the_offer_pages_read_the_plan_history_with_the_account(app, client, auth, frozen, policy, page):
    # CardAccount.offer_history comes with the account, and the account with the session
    # check: one statement, none of its own over plans, and a broken plan in it still
    # holds new offers back (the cool-down).
    account_id = make_account(app, dpd=35)
    auth.sign_in()
    path = re.search(r"/plan/offers/[0-9a-f]{64}", client.get("/plan/offers").get_data(as_text=True))
    assert path is not None
    _html, seen = counted_get(app, client, "/plan/offers" if page == "offers" else path[0])
    assert len(seen) == 1, seen
    assert not any(statement.lstrip().startswith("SELECT plans.") for statement in seen), seen
    plan_id = make_plan(app, account_id, "installment", "en", months=6)
    with app.app_context():
        broke = {"accepted_at": datetime(2026, 6, 1, tzinfo=UTC), "ended_at": datetime(2026, 11, 1, 1, tzinfo=UTC)}
        db.session.execute(update(Plan).where(Plan.id == plan_id).values(state="broken", **broke))
        db.session.commit()
    html, seen = counted_get(app, client, "/plan/offers")
    assert len(seen) == 1, seen
    assert "You can choose a new plan from 30 January 2027" in html


def test_an_offer_opened_through_a_plan_link_records_the_view_once_without_a_lock(app, client, auth, frozen, policy):
    # Through a care link, the first view stamps the link and writes its case event and
    # audit event in the page's own transaction: a conditional UPDATE and two INSERTs, no
    # lock taken (the audit chain is sealed after the commit). Later views write nothing
    # and stay within the page's three statements (the link is read by the third).
    from portal.accounts.models import CardAccount
    from portal.db_types import utcnow
    from portal.offers.adapter import offers_for_account
    from tests.web.test_links import get_link, issue

    account_id = make_account(app, dpd=35)
    with unit(app):
        account = db.session.get(CardAccount, account_id)
        offer = next(o for o in offers_for_account(account, utcnow().date())[1] if o.agent_may_offer)
    link_id, token = issue(app, account_id, fingerprint=offer.fingerprint)
    client.get(f"/l/{token}")
    client.get(auth.sign_in().headers["Location"])  # /plan/from-link: the link is verified
    path = f"/plan/offers/{offer.fingerprint}"
    html, first = counted_get(app, client, path)
    assert "Our care team suggested this plan" in html
    assert get_link(app, link_id).offer_viewed_at is not None
    writes = [
        s.split()[0] + " " + s.split()[1 if s.startswith("UPDATE") else 2] for s in first if not s.startswith("SELECT")
    ]
    assert writes[:3] == ["UPDATE plan_links", "INSERT case_events", "INSERT audit_events"], first
    page_statements = first[: first.index(next(s for s in first if s.startswith("INSERT INTO audit_events"))) + 1]
    assert not any(re.search(r"\bLOCK\b|FOR UPDATE|advisory", s, re.IGNORECASE) for s in page_statements), first
    _html, again = counted_get(app, client, path)
    assert len(again) <= OFFER_PAGE, again
    assert not any(not s.startswith("SELECT") for s in again), again
