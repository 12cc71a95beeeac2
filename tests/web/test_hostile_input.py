"""Every cardholder form, fed random and hostile input: a form message or a 4xx, never a
500, and nothing written unless the input was acceptable."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.audit.service import SYSTEM
from portal.cases.models import CaseEvent, Promise
from portal.extensions import db
from portal.plans.models import Plan
from tests.conftest import csrf_token, make_account

HOSTILE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "-0.01",
            "1e999",
            "NaN",
            "Infinity",
            "-Infinity",
            "1" * 400,
            "0.001",
            "1,0,0",
            "12.345",
            "９９９",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\x00",
            "１２３.４５",
            "1_000",
            "99999999999999999999",
            "0x10",
            "2026-02-30",
            "2026-13-01",
            "9999-12-31",
            "0001-01-01",
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
)
FORMS = {
    "/plan/budget": ["earnings", "benefits", "housing", "food_housekeeping", "personal"],
    "/plan/promise": ["amount", "pay_by"],
    "/plan/reason": ["reason"],
}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def counts(app):
    with app.app_context():
        return tuple(
            db.session.execute(select(func.count()).select_from(model)).scalar() for model in (Plan, Promise, CaseEvent)
        )


@pytest.fixture
def signed_in(app, client, auth):
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    make_account(app, dpd=35)
    auth.sign_in()
    return client


@pytest.mark.parametrize("url", sorted(FORMS))
def test_forms_never_fail_on_hostile_input(app, signed_in, url):
    client = signed_in
    token = csrf_token(client.get("/plan/budget").data)

    @SETTINGS
    @given(st.fixed_dictionaries({name: HOSTILE for name in FORMS[url]}))
    def check(values):
        before = counts(app)
        response = client.post(url, data={"csrf_token": token, **values})
        assert response.status_code in (302, 400, 404, 422, 429), response.status_code
        if response.status_code != 302:
            assert counts(app) == before
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)

    check()


def test_accept_and_rating_never_fail_on_hostile_input(app, signed_in):
    client = signed_in
    offers = client.get("/plan/offers").get_data(as_text=True)
    fingerprint = re.findall(r"/plan/offers/([0-9a-f]{64})", offers)[0]
    token = csrf_token(client.get(f"/plan/offers/{fingerprint}/accept").data)

    @SETTINGS
    @given(
        name=HOSTILE,
        consent=st.sampled_from(["", "y", "on", "0", "<b>", "\x00"]),
        target=st.sampled_from([fingerprint, "0" * 64, "../../etc", "x" * 300, "%00"]),
    )
    def check(name, consent, target):
        before = counts(app)
        response = client.post(
            f"/plan/offers/{target}/accept", data={"csrf_token": token, "full_name": name, "consent": consent}
        )
        assert response.status_code in (302, 400, 404, 422, 429)
        if name.strip().casefold() != "li na":
            assert counts(app) == before

    check()

    @SETTINGS
    @given(rating=HOSTILE, comment=HOSTILE, plan_id=st.integers(min_value=-5, max_value=10**12))
    def check_rating(rating, comment, plan_id):
        before = counts(app)
        response = client.post(
            f"/plan/{plan_id}/rating", data={"csrf_token": token, "rating": rating, "comment": comment}
        )
        assert response.status_code in (302, 400, 404, 422, 429)
        assert counts(app) == before or response.status_code == 302

    check_rating()


# --- one input layer: control characters, numbers and dates (issue 12, item 6) ------------


def staff_client(app, role):
    from tests.staff_helpers import signed_in_staff

    client = app.test_client()
    signed_in_staff(app, client, role)
    return client


def audit_length(app):
    from portal.audit.models import AuditEvent

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()


def test_a_control_character_anywhere_is_a_translated_400_before_any_view_runs(app, client):
    from portal.staff.models import Role

    agent, auditor = staff_client(app, Role.AGENT), staff_client(app, Role.AUDITOR)
    token = csrf_token(client.get("/care/sign-in").data)
    cases = [
        (
            client,
            "POST",
            "/care/sign-in",
            {"csrf_token": token, "email": "a\x00b@bank.example", "password": "x", "code": "123456"},
        ),
        (agent, "GET", "/care/search?q=Li%00Na", None),
        (agent, "GET", "/care/search?q=Li%0bNa", None),
        (agent, "GET", "/care/?flag%00=x", None),
        (auditor, "GET", "/admin/audit/?actor=a%00b", None),
        (auditor, "GET", "/admin/audit/export.csv?object_id=%00", None),
        (client, "GET", "/language/en?next=/%0aSet-Cookie:%20x=1", None),
        (client, "GET", "/language/en?next=/%0d%0a", None),
        (client, "GET", "/language/en?next=/%09/evil.example", None),
        (client, "GET", "/agreements/AB%00CD.pdf", None),
        (client, "GET", "/l/abc%00def", None),
    ]
    before = audit_length(app)
    for who, method, url, data in cases:
        response = who.open(url, method=method, data=data)
        assert response.status_code == 400, (url, data, response.status_code)
        assert "invisible control characters" in response.get_data(as_text=True), url
    assert audit_length(app) == before


def test_a_form_text_area_keeps_its_line_breaks_and_tabs(app, frozen):
    # frozen: noon in the cardholder's zone; a call outside contact hours is refused (422).
    from portal.staff.models import Role

    account_id = make_account(app)
    agent = staff_client(app, Role.AGENT)
    token = csrf_token(agent.get(f"/care/accounts/{account_id}").data)
    response = agent.post(
        f"/care/accounts/{account_id}/notes",
        data={"csrf_token": token, "outcome": "no_answer", "channel": "phone", "text": "Called.\r\n\tNo answer."},
    )
    assert response.status_code == 302
    assert "invisible control characters" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "args",
    [
        "min_balance=sNaN",
        "min_balance=NaN",
        "max_balance=-Infinity",
        "min_balance=1e999999",
        "max_balance=1E%2B999999999",
        "page=99999999999999999999",
        "page=%C2%B2",
        "page=1e5",
    ],
)
def test_care_queue_filters_out_of_bounds_are_a_422(app, args):
    from portal.staff.models import Role

    agent = staff_client(app, Role.AGENT)
    assert agent.get(f"/care/?{args}").status_code == 422


@pytest.mark.parametrize("args", ["date_from=0001-01-01", "date_to=9999-12-31", "date_from=1899-12-31"])
def test_audit_date_filters_are_bounded(app, args):
    from portal.staff.models import Role

    auditor = staff_client(app, Role.AUDITOR)
    response = auditor.get(f"/admin/audit/?{args}")
    assert response.status_code == 400
    assert "Enter a date between 1900 and 2200." in response.get_data(as_text=True)
    before = audit_length(app)
    assert auditor.get(f"/admin/audit/export.csv?{args}").status_code == 400
    assert audit_length(app) == before  # a refused export is not recorded as taken


def test_a_care_search_birth_date_in_year_one_is_a_422(app):
    from portal.staff.models import Role

    agent = staff_client(app, Role.AGENT)
    response = agent.get("/care/search?q=0017&dob=0001-01-01")
    assert response.status_code == 422
    assert "Enter a date between 1900 and 2200." in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["1E+999999999", "sNaN", "-Infinity", "1e-999999", "9" * 80])
def test_the_policy_editor_refuses_unbounded_numbers_next_to_the_field(app, query, value):
    from portal.policies.models import PolicyVersion
    from portal.policies.service import ensure_default_policy
    from tests.web.test_policy_admin import admin_client, edit, field_error, new_draft

    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()
    maker = admin_client(app, "Maker")
    number = new_draft(maker)
    before = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    name = "tiers-0-installment-max_monthly_fee_rate"
    response = edit(maker, number, **{name: value})
    assert response.status_code == 422
    assert "Enter a number" in field_error(response.get_data(as_text=True), name)
    assert query.one(select(PolicyVersion.document).where(PolicyVersion.number == number)) == before
    assert edit(maker, number, tier_count="²").status_code == 400


def test_an_export_whose_query_fails_is_an_error_page_not_a_download_cut_off(app, monkeypatch):
    from sqlalchemy import literal_column

    from portal.audit import viewer
    from portal.audit.models import AuditEvent
    from portal.staff.models import Role

    auditor = staff_client(app, Role.AUDITOR)
    assert auditor.get("/admin/audit/export.csv").status_code == 200
    before = audit_length(app)
    # A query that only the database refuses, as PostgreSQL refused a NUL byte or year 1.
    broken = select(AuditEvent).where(AuditEvent.id == literal_column("no_such_column"))
    monkeypatch.setattr(viewer, "filtered", lambda _f: broken)
    response = auditor.get("/admin/audit/export.csv")
    assert response.status_code == 500 and response.mimetype == "text/html"  # not a 200 with a truncated body
    response.close()
    assert audit_length(app) == before


@pytest.mark.parametrize(
    "body",
    [
        {"reference": "1\u0000", "status": "delivered"},
        {"reference": "1", "status": ["nested", {"k\u0000": 1}]},
    ],
)
def test_a_control_character_in_a_json_body_is_refused(app, client, monkeypatch, body):
    # The delivery-report hook; the reply hook cleans its own text instead (a STOP is never lost).
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", "inbound-key")
    before = audit_length(app)
    response = client.post("/hooks/sms/status", json=body, headers={"X-SMS-Key": "inbound-key"})
    assert response.status_code == 400
    assert audit_length(app) == before


def test_json_nested_past_the_parser_is_a_400(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", "inbound-key")
    response = client.post(
        "/hooks/sms/inbound", data="[" * 100_000, content_type="application/json", headers={"X-SMS-Key": "inbound-key"}
    )
    assert response.status_code == 400
