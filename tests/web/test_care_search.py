"""Care search by full card number, e-mail address and the end of a phone number."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import Cardholder
from portal.audit.models import AuditEvent
from tests.conftest import unit
from tests.web.test_care import CARDS, account, agent, references


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)
        db.session.commit()


def holder_contacts(app, account_id, phone=None, email=None):
    from portal.accounts.models import CardAccount
    from portal.extensions import db

    with unit(app):
        holder = db.session.get(CardAccount, account_id).cardholder
        if phone is not None:
            holder.phone = phone
        if email is not None:
            holder.email = email
        db.session.commit()


def found(client, q, **args):
    response = client.get("/care/search", query_string={"q": q, **args})
    return response.status_code, references(response.get_data(as_text=True))


def test_a_full_card_number_finds_its_account_however_it_is_typed(app, client, policy, frozen):
    account(app, 0)
    account(app, 1)
    agent(app, client)
    assert found(client, CARDS[1]) == (200, ["REF001"])
    assert found(client, "6222 0000 0000 0025") == (200, ["REF001"])
    assert found(client, "6222-0000-0000-0025") == (200, ["REF001"])
    assert found(client, "６２２２００００００００００２５") == (200, ["REF001"])  # full-width digits
    # A number passing the Luhn check that is no card on file finds nothing.
    assert found(client, "4111 1111 1111 1111") == (200, [])


def test_an_email_address_is_found_whatever_its_case_and_spaces(app, client, policy, frozen):
    first, second = account(app, 0), account(app, 1)
    holder_contacts(app, first, email="Wang.Fang@Example.com")
    holder_contacts(app, second, email="other@example.com")
    agent(app, client)
    assert found(client, "wang.fang@example.com") == (200, ["REF000"])
    assert found(client, "  WANG.FANG@EXAMPLE.COM ") == (200, ["REF000"])
    assert found(client, "wang.fang@example") == (200, [])  # the whole address, not a part of it
    assert found(client, "%@example.com") == (200, [])  # no wildcard tricks


def test_a_phone_number_is_found_by_its_last_four_or_more_digits(app, client, policy, frozen):
    first, second, third = account(app, 0), account(app, 1), account(app, 2)
    holder_contacts(app, first, phone="+86 138 1234 5678")
    holder_contacts(app, second, phone="+86 139 8765 5678")
    holder_contacts(app, third, phone="+852 5000 1234")
    agent(app, client)
    assert found(client, "5678") == (200, ["REF000", "REF001"])  # four digits alone: phone endings
    assert found(client, "4 5678") == (200, ["REF000"])
    assert found(client, "1234-5678") == (200, ["REF000"])
    assert found(client, "138 1234 5678") == (200, ["REF000"])
    assert found(client, "+86 138-1234-5678") == (200, ["REF000"])
    # Digits from the middle of a number are not its end.
    assert found(client, "81234") == (200, [])
    assert found(client, "1234") == (200, ["REF002"])


def test_four_digits_with_a_date_of_birth_find_card_and_phone_endings(app, client, policy, frozen):
    card_match = account(app, 0, dob=date(1980, 1, 2))  # card ends 0017
    phone_match = account(app, 1, dob=date(1980, 1, 2))
    holder_contacts(app, card_match, phone="+86 138 0000 9999")
    holder_contacts(app, phone_match, phone="+86 138 0000 0017")
    account(app, 2, dob=date(1991, 3, 4))
    agent(app, client)
    assert found(client, "0017", dob="1980-01-02") == (200, ["REF000", "REF001"])
    # Without the date of birth only the phone ending is searched: a card's last four stay private.
    assert found(client, "0017") == (200, ["REF001"])


def test_a_search_is_audited_by_kind_without_the_number(app, client, policy, query, frozen):
    account(app, 0)
    agent(app, client)
    client.get("/care/search", query_string={"q": CARDS[0]})
    client.get("/care/search", query_string={"q": "li.na@example.com"})
    searches = query(select(AuditEvent).where(AuditEvent.action == "care.searched").order_by(AuditEvent.id))
    assert [e.after["kind"] for e in searches] == ["card", "email"]
    assert CARDS[0] not in str([e.after for e in searches]) and "li.na" not in str([e.after for e in searches])


def test_look_up_keys_follow_the_phone_and_email_as_they_change(app, client, policy, query, frozen):
    account_id = account(app, 0)
    holder_contacts(app, account_id, phone="+86 (138) 1111-2222", email=" Li.Na@Example.COM")
    (holder,) = query(select(Cardholder))
    assert (holder.phone_last4, holder.email_key) == ("2222", "li.na@example.com")
    holder_contacts(app, account_id, phone="12", email="")
    (holder,) = query(select(Cardholder))
    assert (holder.phone_last4, holder.email_key) == (None, None)


def test_the_search_form_posts_so_a_card_number_stays_out_of_the_address(app, client, policy, frozen):
    from tests.web.test_care import post

    account(app, 0)
    agent(app, client)
    html = client.get("/care/search").get_data(as_text=True)
    assert '<form method="post" action="/care/search"' in html and 'name="csrf_token"' in html
    response = post(client, "/care/search", q="6222 0000 0000 0017")
    assert response.status_code == 200 and references(response.get_data(as_text=True)) == ["REF000"]
    assert client.post("/care/search", data={"q": CARDS[0]}).status_code == 400  # no CSRF token


def test_search_reads_the_holders_with_their_accounts_not_one_by_one(app, client, policy, frozen):
    from tests.conftest import sql_statements

    for n in range(6):  # make_account gives every holder the same phone: six share its end
        account(app, n)
    agent(app, client)
    client.get("/care/search", query_string={"q": "0001"})  # warm: the policy and the session
    with sql_statements(app, naming="cardholders") as seen:
        response = client.get("/care/search", query_string={"q": "0000 0001"})
    assert response.status_code == 200 and len(references(response.get_data(as_text=True))) == 6
    assert len(seen) == 1, seen  # the search's one statement, holders joined in
