"""One unit of work per request: exactly one COMMIT for a write, none for a read.

Commits are counted with SQLAlchemy's ``after_commit`` session event (the ``commits``
fixture), around one request at a time; the requests that fetch a form's CSRF token
are made outside the count. The few GETs that write evidence are named as such.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.service import SYSTEM, Actor
from portal.extensions import db
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import csrf_token, last_code, make_account
from tests.staff_helpers import StaffAuth, current_totp, make_staff, signed_in_staff
from tests.web.test_policy_admin import page_form

# (step, commits). A write: 1. A read: 0. An evidence-writing GET: 1, named "evidence".
EXPECTED: list[tuple[str, int]] = [
    ("GET /sign-in", 0),
    ("POST /sign-in (card and date of birth)", 1),
    ("GET /sign-in/code", 0),
    ("POST /sign-in/code, wrong code (refused, the attempt is kept)", 1),
    ("POST /sign-in/code", 1),
    ("GET /account", 0),
    ("GET /plan", 0),
    ("POST /plan/reason", 1),
    ("GET /plan/offers", 0),
    ("GET /plan/offers/<fp>", 0),
    ("GET /plan/offers/<fp>/accept", 0),
    ("POST /plan/offers/<fp>/accept (+1: the agreement PDF, after commit)", 2),
    ("GET /plan/<id>/done", 0),
    ("POST /care/sign-in, wrong code (refused, the failure is counted)", 1),
    ("POST /care/sign-in", 1),
    ("GET /care/", 0),
    ("GET /care/accounts/<id> (evidence: who viewed a case file)", 1),
    ("POST /care/accounts/<id>/notes", 1),
    ("GET /care/accounts/<id>/link", 0),
    ("POST /care/accounts/<id>/link (send)", 1),
    ("GET /care/approvals", 0),
    ("POST /care/approvals/<id>", 1),
    ("GET /admin/policies/", 0),
    ("POST /admin/policies/new", 1),
    ("GET /admin/policies/<n>", 0),
    ("GET /admin/policies/<n>/edit", 0),
]


def fingerprints(html: str) -> list[str]:
    return re.findall(r"/plan/offers/([0-9a-f]{64})", html)


def _pending_personalised(app: Any, account_id: int) -> int:
    from portal.accounts.models import CardAccount
    from portal.cases.service import record_budget
    from portal.offers.adapter import offers_for_account
    from portal.plans.requests import request_plan
    from portal.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        account = db.session.get(CardAccount, account_id)
        _, offers = offers_for_account(account, date(2026, 11, 28))
        offer = next(o for o in offers if o.plan.value == "personalised" and o.needs_approval)
        actor = Actor("cardholder", str(account_id))
        record_budget(account_id, {"earnings": "6000", "housing": "2500"}, __import__("decimal").Decimal("3500"), actor)
        plan, _ = request_plan(account_id, offer.fingerprint, "illness", actor, date(2026, 11, 28), "en", None)
        return plan.id


@pytest.fixture
def policy(app: Any) -> None:
    from portal.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        ensure_default_policy(SYSTEM)


def test_commits_per_request(app, commits, policy, frozen):
    table: list[tuple[str, int]] = []

    def count(step: str, action: Any, status: int | tuple[int, ...] = (200, 302)) -> Any:
        response, n = commits.during(action)
        allowed = (status,) if isinstance(status, int) else status
        assert response.status_code in allowed, f"{step}: {response.status_code}"
        table.append((step, n))
        return response

    # --- a cardholder signs in and accepts an offer ---------------------------------
    make_account(app, dpd=35)
    client = app.test_client()
    token = csrf_token(count("GET /sign-in", lambda: client.get("/sign-in")).data)
    count(
        "POST /sign-in (card and date of birth)",
        lambda: client.post(
            "/sign-in", data={"csrf_token": token, "card_number": "6222000000000017", "date_of_birth": "1988-04-12"}
        ),
    )
    page = count("GET /sign-in/code", lambda: client.get("/sign-in/code"))
    token = csrf_token(page.data)
    count(
        "POST /sign-in/code, wrong code (refused, the attempt is kept)",
        lambda: client.post("/sign-in/code", data={"csrf_token": token, "code": "000000"}),
        422,
    )
    code = last_code(app)
    count("POST /sign-in/code", lambda: client.post("/sign-in/code", data={"csrf_token": token, "code": code}))
    count("GET /account", lambda: client.get("/account"))
    start = count("GET /plan", lambda: client.get("/plan"))
    token = csrf_token(start.data)
    count("POST /plan/reason", lambda: client.post("/plan/reason", data={"csrf_token": token, "reason": "illness"}))
    offers = count("GET /plan/offers", lambda: client.get("/plan/offers"))
    fp = fingerprints(offers.get_data(as_text=True))[0]
    count("GET /plan/offers/<fp>", lambda: client.get(f"/plan/offers/{fp}"))
    accept = count("GET /plan/offers/<fp>/accept", lambda: client.get(f"/plan/offers/{fp}/accept"))
    token = csrf_token(accept.data)
    signed = count(
        "POST /plan/offers/<fp>/accept (+1: the agreement PDF, after commit)",
        lambda: client.post(
            f"/plan/offers/{fp}/accept", data={"csrf_token": token, "full_name": "Li Na", "consent": "y"}
        ),
        302,
    )
    count("GET /plan/<id>/done", lambda: client.get(signed.headers["Location"]))

    # --- care: the case file, a note, a link; a supervisor decides -------------------
    other = make_account(app, card="6222000000000025", reference="REF001", name="Holder One", dpd=70)
    staff = app.test_client()
    _id, email, password, secret = make_staff(app, Role.AGENT)
    staff_auth = StaffAuth(staff)
    count(
        "POST /care/sign-in, wrong code (refused, the failure is counted)",
        lambda: staff_auth.post(email, password, "000000"),
        (200, 422),
    )
    count("POST /care/sign-in", lambda: staff_auth.post(email, password, current_totp(app, email, secret)), 302)
    count("GET /care/", lambda: staff.get("/care/"))
    case = count(
        "GET /care/accounts/<id> (evidence: who viewed a case file)", lambda: staff.get(f"/care/accounts/{other}")
    )
    token = csrf_token(case.data)
    count(
        "POST /care/accounts/<id>/notes",
        lambda: staff.post(
            f"/care/accounts/{other}/notes",
            data={"csrf_token": token, "outcome": "other", "channel": "phone", "text": "Called."},
        ),
        302,
    )
    link_page = count("GET /care/accounts/<id>/link", lambda: staff.get(f"/care/accounts/{other}/link"))
    count(
        "POST /care/accounts/<id>/link (send)",
        lambda: staff.post(
            f"/care/accounts/{other}/link",
            data={"csrf_token": csrf_token(link_page.data), "channel": "sms", "offer": "", "action": "send"},
        ),
        302,
    )
    third = make_account(app, card="6222000000000033", reference="REF002", name="Holder Two", dpd=70)
    plan_id = _pending_personalised(app, third)
    supervisor = app.test_client()
    signed_in_staff(app, supervisor, Role.SUPERVISOR)
    approvals = count("GET /care/approvals", lambda: supervisor.get("/care/approvals"))
    shown = re.search(
        rf'name="p{plan_id}-shown" type="hidden" value="([0-9a-f]{{64}})"', approvals.get_data(as_text=True)
    )
    assert shown
    count(
        "POST /care/approvals/<id>",
        lambda: supervisor.post(
            f"/care/approvals/{plan_id}",
            data={
                "csrf_token": csrf_token(approvals.data),
                f"p{plan_id}-shown": shown.group(1),
                f"p{plan_id}-decision": "approve",
            },
        ),
        302,
    )

    # --- policy admin -------------------------------------------------------------------
    admin = app.test_client()
    signed_in_staff(app, admin, Role.POLICY_ADMIN)
    count("GET /admin/policies/", lambda: admin.get("/admin/policies/"))
    fields = page_form(admin, "/admin/policies/", "/admin/policies/new")
    created = count("POST /admin/policies/new", lambda: admin.post("/admin/policies/new", data=fields), 302)
    number = int(created.headers["Location"].split("/")[-2])
    count("GET /admin/policies/<n>", lambda: admin.get(f"/admin/policies/{number}"))
    count("GET /admin/policies/<n>/edit", lambda: admin.get(f"/admin/policies/{number}/edit"))

    width = max(len(step) for step, _ in table)
    print("\ncommits per request:\n" + "\n".join(f"  {step:<{width}}  {n}" for step, n in table))
    assert table == EXPECTED
    with app.app_context():
        from portal.agreements.models import Agreement

        assert db.session.execute(select(Agreement.state)).scalar_one() == "signed"
