"""What is shown is what is signed: the key terms on the signing pages, the agreement
preview and the agreement PDF come from one source (portal/agreements/key_terms.py)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.agreements.key_terms import payment_lines
from portal.agreements.models import Agreement
from portal.domain.missed_payment import DEFAULT_MISSED_PAYMENT_RULES, to_terms
from portal.extensions import db
from portal.plans.models import Plan
from tests.conftest import csrf_token, make_account, need
from tests.plan_factories import card_number, make_plan

D = Decimal


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()


def term_list(page: str) -> list[str]:
    """The texts of the term list (what you / we agree to, if a payment is missed)."""
    items = []
    for kind in ("you", "we", "missed"):
        block = re.search(rf'<ul class="terms-{kind}">(.*?)</ul>', page, re.S)
        assert block, kind
        items += [
            html.unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", block[1], re.S)
        ]
    return items


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def first_direct_offer(client) -> str:
    offers = client.get("/plan/offers?all=1").get_data(as_text=True)
    for fingerprint in dict.fromkeys(re.findall(r"/plan/offers/([0-9a-f]{64})", offers)):
        if client.get(f"/plan/offers/{fingerprint}/accept").status_code == 200:
            return fingerprint
    raise AssertionError("no offer can be accepted directly")


def test_the_signing_page_and_the_signed_pdf_state_the_same_terms(app, client, auth, policy, tmp_path):
    need(shutil.which("pdftotext") is not None, "pdftotext (apt-get install poppler-utils)")
    make_account(app, dpd=35)
    auth.sign_in()
    fingerprint = first_direct_offer(client)
    page = client.get(f"/plan/offers/{fingerprint}/accept")
    shown = term_list(page.get_data(as_text=True))
    # The terms the page used to leave out or word differently are there, once.
    assert "Do not apply for any new credit card until this plan is fully repaid." in shown
    assert any("more than 30 days late" in term for term in shown)
    assert any("10 days of grace" in term for term in shown)

    signed = client.post(
        f"/plan/offers/{fingerprint}/accept",
        data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"},
    )
    assert signed.status_code == 302
    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        assert plan.terms["missed_payment"] == to_terms(DEFAULT_MISSED_PAYMENT_RULES)["missed_payment"]  # frozen
        pdf = db.session.execute(select(Agreement.pdf).where(Agreement.plan_id == plan.id)).scalar_one()
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    in_pdf = flat(text)
    missing = [term for term in shown if flat(term) not in in_pdf]
    assert missing == []


def test_the_preview_is_the_agreement_text_before_signing(app, client, auth, policy):
    make_account(app, dpd=35)
    auth.sign_in()
    fingerprint = first_direct_offer(client)
    accept = client.get(f"/plan/offers/{fingerprint}/accept").get_data(as_text=True)
    assert f"/plan/offers/{fingerprint}/agreement" in accept
    preview = client.get(f"/plan/offers/{fingerprint}/agreement")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "Repayment agreement" in text and "8. If a payment is missed" in text and "Payment schedule" in text
    previewed = term_list(text)  # the PDF's text adds the legal source of the new-card undertaking
    assert len(previewed) == len(term_list(accept))
    assert all(p.startswith(a) for p, a in zip(previewed, term_list(accept), strict=True))
    with app.app_context():
        assert db.session.execute(select(Plan)).scalars().all() == []  # a preview makes no plan


def test_a_plan_page_and_its_pdf_render_the_rules_frozen_into_the_plan(app, client, auth):
    account_id = make_account(app)
    plan_id = make_plan(app, account_id, "installment", "en")
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        plan.terms = {
            **plan.terms,
            "missed_payment": {"grace_days": 14, "break_missed_in_a_row": 3, "break_days_late": 45},
        }
        db.session.commit()
    auth.sign_in()
    text = client.get(f"/plan/{plan_id}/agreement-preview").get_data(as_text=True)
    assert "14 days of grace" in text and "3 installments in a row" in text and "more than 45 days late" in text
    from portal.agreements.render import document_context

    with app.test_request_context(), force_locale("en"):
        key = document_context(db.session.get(Plan, plan_id), "PA-TEST")["key"]
        assert any("14 days of grace" in term for term in key.terms.missed)


def test_another_cardholders_plan_preview_is_not_found(app, client, auth):
    other = make_account(app, card=card_number(9))
    plan_id = make_plan(app, other, "installment", "en")
    make_account(app)
    auth.sign_in()
    assert client.get(f"/plan/{plan_id}/agreement-preview").status_code == 404


def lines(totals: list[str]) -> list[tuple[str, str]]:
    return payment_lines([D(t) for t in totals], "CNY")


@pytest.fixture
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


def test_a_single_payment_never_says_each_month(english):
    assert lines(["7000.00"]) == [("One payment", "CN¥7,000.00")]


def test_a_different_last_payment_is_named(english):
    assert lines(["100.00"] * 11 + ["100.04"]) == [("Each month", "CN¥100.00"), ("Last payment", "CN¥100.04")]


def test_a_different_first_payment_is_named(english):
    assert lines(["150.00", "100.00", "100.00"]) == [("First payment", "CN¥150.00"), ("Each month", "CN¥100.00")]


def test_a_pause_at_the_start_is_named_and_not_a_payment(english):
    assert lines(["0.00", "0.00", "0.00", "90.00", "90.00"]) == [
        ("Payment pause", "3 months with nothing to pay"),
        ("Each month", "CN¥90.00"),
    ]


def test_stretches_of_different_payments_say_which_payments_they_cover(english):
    assert lines(["50.00"] * 6 + ["120.00"] * 17 + ["120.07"]) == [
        ("Payments 1 to 6", "CN¥50.00 each month"),
        ("Payments 7 to 23", "CN¥120.00 each month"),
        ("Last payment", "CN¥120.07"),
    ]


def test_equal_payments_are_each_month(english):
    assert lines(["2480.10"] * 3) == [("Each month", "CN¥2,480.10")]


def test_chinese_has_no_stray_spaces_around_amounts(app):
    with app.test_request_context(), force_locale("zh_Hans"):
        assert payment_lines([D("50.00")] * 2 + [D("60.00")] * 2, "CNY")[0][1] == "每月¥50.00"


def approve_rules(app, tier: str, **rules: int) -> None:
    """Change a tier's missed-payment rules through the maker-checker workflow."""
    from dataclasses import replace

    from portal.audit.service import Actor
    from portal.policies import workflow
    from portal.policies.cache import load_policy

    maker, checker = Actor("staff", "1"), Actor("staff", "2")
    with app.app_context():
        draft = workflow.create_draft(maker, "CNY")
        policy = load_policy(draft)
        tiers = tuple(
            replace(t, missed_payment=replace(t.missed_payment, **rules)) if t.name == tier else t for t in policy.tiers
        )
        workflow.save_draft(draft.number, replace(policy, tiers=tiers), maker)
        version = workflow.submit(draft.number, maker, "missed-payment rules")
        workflow.approve(version.number, checker, workflow.review_digest(version))
        db.session.commit()


def test_a_plan_keeps_the_rules_of_its_policy_after_the_policy_changes(app, client, auth, policy, tmp_path):
    need(shutil.which("pdftotext") is not None, "pdftotext (apt-get install poppler-utils)")
    make_account(app, dpd=35)  # tier M2
    approve_rules(app, "M2", grace_days=12, break_missed_in_a_row=3, break_days_late=40)
    auth.sign_in()
    fingerprint = first_direct_offer(client)
    page = client.get(f"/plan/offers/{fingerprint}/accept")
    shown = term_list(page.get_data(as_text=True))
    assert any("12 days of grace" in term for term in shown)  # the policy's rules, not the old constants
    assert any("3 installments in a row" in term and "more than 40 days late" in term for term in shown)
    signed = client.post(
        f"/plan/offers/{fingerprint}/accept",
        data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"},
    )
    assert signed.status_code == 302
    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        assert plan.terms["missed_payment"] == {"grace_days": 12, "break_missed_in_a_row": 3, "break_days_late": 40}
        plan_id = plan.id

    approve_rules(app, "M2", grace_days=5, break_missed_in_a_row=1, break_days_late=20)

    preview = client.get(f"/plan/{plan_id}/agreement-preview").get_data(as_text=True)
    assert "12 days of grace" in preview and "more than 40 days late" in preview
    assert "5 days of grace" not in preview
    with app.app_context():
        pdf = db.session.execute(select(Agreement.pdf).where(Agreement.plan_id == plan_id)).scalar_one()
        plan = db.session.get(Plan, plan_id)
        assert plan.terms["missed_payment"]["grace_days"] == 12
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert flat("12 days of grace") in flat(text) and flat("5 days of grace") not in flat(text)


def test_an_offer_states_the_rules_of_the_policy_in_force(app, client, auth, policy):
    make_account(app, dpd=35)
    approve_rules(app, "M2", grace_days=1, break_missed_in_a_row=1, break_days_late=20)
    auth.sign_in()
    shown = term_list(client.get(f"/plan/offers/{first_direct_offer(client)}/accept").get_data(as_text=True))
    assert any("you have 1 day of grace" in term for term in shown)
    assert any(
        term == "The plan ends if an installment is not paid, or if one installment is more than 20 days late."
        for term in shown
    )


@pytest.mark.parametrize("dpd", [35, 95, 200])
def test_an_offers_key_terms_read_without_a_plan_row_are_those_of_the_plan_it_makes(app, policy, dpd):
    # The offer and signing pages build the key terms from plans.offered_plan, not from
    # an ORM plan (build_plan, which the agreement preview renders and acceptance saves):
    # the same fields, so the same words and figures, in every language.
    from flask_babel import refresh

    from portal.accounts.models import CardAccount
    from portal.agreements.key_terms import key_terms
    from portal.db_types import utcnow
    from portal.offers.adapter import offers_for_account
    from portal.plans.models import PlanState
    from portal.plans.service import build_plan, offered_plan

    account_id = make_account(app, dpd=dpd, fees=D("300.00"), late_fees=D("120.00"), interest=D("800.00"))
    with app.test_request_context():
        account = db.session.get(CardAccount, account_id)
        _version, offers = offers_for_account(account, utcnow().date(), by_staff=True)
        assert len(offers) >= 3
        for locale in ("en", "zh_Hans", "zh_Hant"):
            with force_locale(locale):
                refresh()
                for offer in offers:
                    built = build_plan(account, None, offer, PlanState.PENDING_SIGNATURE, locale, "self_service")
                    assert key_terms(offered_plan(account, offer), "400 800 1234") == key_terms(built, "400 800 1234")
