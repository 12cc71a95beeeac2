"""Tiers by balance band over HTTP: edited in the policy editor, refused when bands leave a
gap or overlap, previewed as accounts changing tier, and read by the care desk's queues,
search and case file through the same tier choice."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.policies.models import PolicyVersion
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.staff_helpers import signed_in_staff
from tests.web.test_policy_admin import FormReader, admin_client, field_error, new_draft, page_form


@pytest.fixture
def maker(app):
    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()
    return admin_client(app, "Maker")


def split_m1(client, number, *, small_below="2000", large_from="2000", headers=None):
    """Post the editor with M1 cut at a balance band: M1 below ``small_below``, a new
    "M1 large" tier (1-29 days) from ``large_from``."""
    url = f"/admin/policies/{number}/edit"
    html = client.post(url, data={**page_form(client, url), "action": "add_tier"}).get_data(as_text=True)
    fields = FormReader(url)
    fields.feed(html)
    values = {
        **fields.values,
        "tiers-0-balance_below": small_below,
        "tiers-5-name": "M1 large",
        "tiers-5-min_dpd": "1",
        "tiers-5-max_dpd": "29",
        "tiers-5-balance_from": large_from,
        "action": "save",
    }
    return client.post(url, data=values, headers=headers or {})


def test_the_editor_has_band_inputs_that_mean_any_balance_by_default(app, maker):
    number = new_draft(maker)
    fields = page_form(maker, f"/admin/policies/{number}/edit")
    assert fields["tiers-0-balance_from"] == "0" and fields["tiers-0-balance_below"] == ""
    html = maker.get(f"/admin/policies/{number}/edit").get_data(as_text=True)
    assert "Balance band: from (0: any balance)" in html and "Balance band: below (empty: no upper end)" in html


def test_a_tier_split_by_balance_band_is_saved(app, maker, query):
    number = new_draft(maker)
    response = split_m1(maker, number)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    firsts = [(t["name"], t["min_dpd"], t["balance_from"], t["balance_below"]) for t in document["tiers"][:2]]
    assert firsts == [("M1", 1, "0", "2000"), ("M1 large", 1, "2000", None)]


def test_overlapping_bands_are_refused_next_to_the_band(app, maker, query):
    number = new_draft(maker)
    before = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    response = split_m1(maker, number, large_from="1500")
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), "tiers-5-balance_from")
    assert "Balances from 1,500 at days past due 1 to 29 are already in M1" in message
    assert query.one(select(PolicyVersion.document).where(PolicyVersion.number == number)) == before


def test_a_gap_between_bands_is_refused_next_to_the_band(app, maker):
    number = new_draft(maker)
    response = split_m1(maker, number, large_from="2500")
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), "tiers-5-balance_from")
    assert "Balances from 2,000 to below 2,500 at days past due 1 to 29 are in no tier" in message


def test_a_tier_name_longer_than_plans_and_reports_keep_is_refused(app, maker, query):
    from portal.domain.policy_validation import MAX_TIER_NAME
    from portal.plans.models import Plan

    assert Plan.__table__.c.tier.type.length == MAX_TIER_NAME  # where the name goes at acceptance
    number = new_draft(maker)
    before = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    url = f"/admin/policies/{number}/edit"
    long_name = "M1 small balances: automated reminders"  # 38 characters
    response = maker.post(url, data={**page_form(maker, url), "tiers-0-name": long_name, "action": "save"})
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), "tiers-0-name")
    assert "Keep the name to 32 characters or fewer." in message
    assert query.one(select(PolicyVersion.document).where(PolicyVersion.number == number)) == before


def test_a_band_message_is_in_the_admins_language(app, maker):
    number = new_draft(maker)
    response = split_m1(maker, number, large_from="2500", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), "tiers-5-balance_from")
    assert "逾期 1 至 29 天、欠款从 2,000 到低于 2,500 的账户不属于任何逾期阶段" in message


def test_the_review_shows_how_many_accounts_change_tier(app, maker, query):
    for n, principal in enumerate(["500.00", "800.00", "9000.00"]):  # balances 1,129 / 1,429 / 9,629
        make_account(app, card=f"62220000000{n:04d}0", dpd=10, principal=principal, reference=f"B{n}")
    make_account(app, card="6222000000009990", dpd=45, principal="500.00", reference="B9")  # M2: stays
    number = new_draft(maker)
    assert split_m1(maker, number).status_code == 302
    checker = admin_client(app, "Checker")
    html = checker.get(f"/admin/policies/{number}/review").get_data(as_text=True)
    section = html[html.index("Accounts that change tier") :]
    rows = re.findall(r"<tr class=\"changed\"><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">(\d+)</td>", section)
    assert rows == [("M1", "M1 large", "1")]
    assert "balance below 2,000" in html and "balance 2,000 and over" in html


def test_the_review_says_when_no_account_changes_tier(app, maker):
    make_account(app, dpd=10)
    number = new_draft(maker)
    url = f"/admin/policies/{number}/edit"
    assert maker.post(url, data={**page_form(maker, url), "cooldown_days": "60"}).status_code == 302
    html = admin_client(app, "Checker").get(f"/admin/policies/{number}/review").get_data(as_text=True)
    assert "No account changes tier" in html


# --- the care desk reads the same tier choice --------------------------------------------


@pytest.fixture
def banded(app):
    from portal.domain.default_policy import demo_policy

    with unit(app):
        ensure_default_policy(SYSTEM, ("CNY",), build=demo_policy)
        db.session.commit()


def test_queues_search_and_case_file_put_small_early_balances_in_their_own_tier(app, client, banded, frozen):
    small = make_account(app, card="6222000000000017", dpd=10, principal="500.00", reference="REF001")
    large = make_account(app, card="6222000000000025", dpd=10, principal="9000.00", reference="REF002")
    make_account(app, card="6222000000000033", dpd=40, principal="500.00", reference="REF003")
    signed_in_staff(app, client, Role.AGENT)
    queue = client.get("/care/").get_data(as_text=True)
    tabs = queue[queue.index('class="tabs"') : queue.index("</ul>", queue.index('class="tabs"'))]
    assert re.search(r"M1 small\s*<span class=\"small\">1–29 days, balance below 2,000</span>", tabs)
    assert re.search(r"M1\s*<span class=\"small\">1–29 days, balance 2,000 and over</span>", tabs)
    counts = dict(re.findall(r"\n\s*(M1 small|M1|M2) <span.*?<span class=\"count\">(\d+)</span>", tabs, re.S))
    assert counts == {"M1 small": "1", "M1": "1", "M2": "1"}
    small_tab = client.get("/care/", query_string={"tier": "M1 small"}).get_data(as_text=True)
    assert "REF001" in small_tab and "REF002" not in small_tab
    assert "Tier M1 small" in client.get(f"/care/accounts/{small}").get_data(as_text=True)
    assert "Tier M1<" in client.get(f"/care/accounts/{large}").get_data(as_text=True)
