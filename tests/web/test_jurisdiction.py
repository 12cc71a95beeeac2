"""Rules, regulator, phones and debt advice follow the account's jurisdiction, not its language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.agreements import render
from portal.agreements.models import Agreement
from portal.extensions import db
from tests.conftest import make_account
from tests.plan_factories import make_pending_agreement, make_plan


def hk_account(app, locale: str = "en") -> int:
    return make_account(app, currency="HKD", jurisdiction="HK", time_zone="Asia/Hong_Kong", locale=locale)


def agreement_html(app, account_id: int, locale: str) -> str:
    agreement_id = make_pending_agreement(app, make_plan(app, account_id, "installment", locale))
    with app.app_context():
        return render.render_html(db.session.get(Agreement, agreement_id))


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "zh_Hant"])
def test_a_hong_kong_agreement_cites_hong_kong_rules_in_every_language(app, locale):
    html = agreement_html(app, hk_account(app, locale), locale)
    assert {"en": "Code of Banking Practice", "zh_Hans": "银行营运守则", "zh_Hant": "銀行營運守則"}[locale] in html
    assert {"en": "Hong Kong Monetary Authority", "zh_Hans": "香港金融管理局", "zh_Hant": "香港金融管理局"}[
        locale
    ] in html
    assert "+852 3000 0000" in html and "18288" in html and "3199 5199" in html
    for mainland in ("CBRC", "400 000 0000", "12378", "信用卡业务监督管理办法", "信用卡業務監督管理辦法"):
        assert mainland not in html


def test_a_mainland_agreement_names_the_current_regulator_and_its_hotline(app):
    html = agreement_html(app, make_account(app), "zh_Hans")
    assert "2011年《商业银行信用卡业务监督管理办法》第七十条" in html
    assert "国家金融监督管理总局" in html and "12378" in html and "400 000 0000" in html
    assert "CBRC" not in html and "银监会" not in html and "+852" not in html


def test_pages_give_a_hong_kong_cardholder_the_hong_kong_care_number(app, client, auth):
    hk_account(app, "zh_Hans")  # language does not decide the number
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert '<span class="nowrap">+852 3000 0000</span>' in html and "400 000 0000" not in html  # never wrapped


def test_before_sign_in_every_jurisdiction_s_care_number_is_shown(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert "400 000 0000" in html and "+852 3000 0000" in html and "Hong Kong" in html


def test_the_debt_advice_guide_names_the_services_where_the_cardholder_lives(app, client, auth):
    hk_account(app)
    auth.sign_in()
    html = client.get("/learn/cannot-pay").get_data(as_text=True)
    assert "Caritas Family Crisis Support Centre" in html and "18288" in html and "12378" not in html


def test_the_debt_advice_guide_lists_every_jurisdiction_before_sign_in(client):
    html = client.get("/learn/cannot-pay").get_data(as_text=True)
    assert "18288" in html and "12378" in html and "Mainland China" in html


def test_the_contact_guide_gives_the_care_number_and_complaint_service_where_the_cardholder_lives(app, client, auth):
    hk_account(app, "zh_Hant")
    auth.sign_in()
    client.get("/language/zh_Hant")
    main = client.get("/learn/contact-us").get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]
    assert '<strong class="nowrap">+852 3000 0000</strong>' in main and "金融糾紛調解中心" in main
    assert "400 000 0000" not in main and "12378" not in main


def test_the_contact_guide_lists_every_jurisdiction_s_numbers_before_sign_in(client):
    main = client.get("/learn/contact-us").get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]
    for number in ("400 000 0000", "+852 3000 0000", "12378", "3199 5199"):
        assert number in main
    assert "Mainland China" in main and "Hong Kong" in main and "Financial Dispute Resolution Centre" in main


def test_the_scam_guide_names_the_bank_s_web_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_WEB_ADDRESS", "https://cards.example-bank.com")
    html = client.get("/learn/scams").get_data(as_text=True)
    assert "<strong>https://cards.example-bank.com</strong>" in html
    assert "card number and date of birth only on pages at this address" in html


def test_english_dates_of_a_hong_kong_account_read_day_month(app, client, auth):
    hk_account(app, "en")
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert "15 December 2026" in html and "December 15" not in html


def test_a_jurisdiction_must_be_a_two_letter_upper_case_code(app):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        make_account(app, jurisdiction="hk")


def test_a_minimum_due_above_the_balance_is_refused(app):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        make_account(
            app, principal="100.00", interest=Decimal("0"), late_fees=Decimal("0"), minimum_due=Decimal("100.01")
        )


def test_demo_text_names_the_configured_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "http://127.0.0.1:5055")
    output = app.test_cli_runner().invoke(args=["portal", "demo"]).output
    assert "http://127.0.0.1:5055/care/sign-in" in output and ":5000" not in output


@pytest.mark.parametrize(
    ("jurisdiction", "currency", "word", "other"),
    [("HK", "HKD", "10,000港元", "10,000元"), ("CN", "CNY", "10,000元", "港元")],
)
def test_worked_examples_use_the_currency_where_the_cardholder_lives(
    app, client, auth, jurisdiction, currency, word, other
):
    make_account(app, currency=currency, jurisdiction=jurisdiction, locale="zh_Hans")
    auth.sign_in()
    client.get("/language/zh_Hans")
    html = client.get("/learn/annualised-rate").get_data(as_text=True)
    assert word in html and other not in html and "[[currency]]" not in html


def test_an_english_link_message_gives_its_expiry_day_month_with_the_month_named(app, frozen):
    from portal.links.service import preview_link_message

    account_id = hk_account(app, "en")
    with app.app_context():
        _subject, body = preview_link_message(account_id, "sms", None)
    # Issued 28 Nov 2026 04:00 UTC, valid 72 hours: 1 Dec 2026, 12:00 in Hong Kong.
    assert "works until 1 Dec 2026, 12:00" in body
