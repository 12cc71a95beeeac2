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
    st.sampled_from(["", " ", "-1", "-0.01", "1e999", "NaN", "Infinity", "-Infinity", "1" * 400, "0.001", "1,0,0",
                     "12.345", "９９９", "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "１２３.４５", "1_000",
                     "99999999999999999999", "0x10", "2026-02-30", "2026-13-01", "9999-12-31", "0001-01-01"]),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
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
        return tuple(db.session.execute(select(func.count()).select_from(model)).scalar()
                     for model in (Plan, Promise, CaseEvent))


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
    @given(name=HOSTILE, consent=st.sampled_from(["", "y", "on", "0", "<b>", "\x00"]),
           target=st.sampled_from([fingerprint, "0" * 64, "../../etc", "x" * 300, "%00"]))
    def check(name, consent, target):
        before = counts(app)
        response = client.post(f"/plan/offers/{target}/accept",
                               data={"csrf_token": token, "full_name": name, "consent": consent})
        assert response.status_code in (302, 400, 404, 422, 429)
        if name.strip().casefold() != "li na":
            assert counts(app) == before

    check()

    @SETTINGS
    @given(rating=HOSTILE, comment=HOSTILE, plan_id=st.integers(min_value=-5, max_value=10**12))
    def check_rating(rating, comment, plan_id):
        before = counts(app)
        response = client.post(f"/plan/{plan_id}/rating", data={"csrf_token": token, "rating": rating,
                                                                 "comment": comment})
        assert response.status_code in (302, 400, 404, 422, 429)
        assert counts(app) == before or response.status_code == 302

    check_rating()
