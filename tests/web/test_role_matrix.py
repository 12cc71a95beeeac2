"""Every route × every identity: nobody reaches what their role does not allow.

Each endpoint must be declared: a staff view carries ``view.allowed_roles`` (set by
``@staff_required``); a cardholder view carries ``view.cardholder_only`` (set by
``@cardholder_required``) or is listed in CARDHOLDER below; a public page is listed in
PUBLIC. A new route that is none of these fails the test until someone decides.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from portal.staff.models import Role
from tests.conftest import CardholderAuth, csrf_token, make_account
from tests.staff_helpers import StaffAuth, make_staff

PUBLIC = {
    "static",
    "auth.home",
    "auth.sign_in",
    "auth.sign_in_form",
    "auth.enter_code",
    "auth.sign_out",
    "auth.set_language",
    "education.index",
    "education.topic",
    # Questions answered from the help guides, signed in or not; it never shows account data.
    "answers.ask",
    "dev.outbox",
    "staff.sign_in",
    "staff.sign_out",
    "staff.enrol",
    "agreements.verify",
    # Public URL, but the view itself answers 404 to anyone who may not have the object.
    "agreements.download",
    # A plan link opens to identity checks; opt-out links and provider webhooks carry their own proof.
    "links.open_plan_link",
    "optout.unsubscribe",
    "optout.sms_inbound",
    "optout.sms_status",
    # The core banking system's API: no session; each call carries its Standard Webhooks
    # signature (without a configured secret, 503), and its description holds no data.
    "api.openapi",
    "api.put_account",
    "api.post_payment",
}

# POSTs that need no CSRF token, each for a reason: the RFC 8058 one-click unsubscribe is
# proved by the signed token in its address (its confirmation form checks CSRF itself), so
# a bare POST to a made-up address is a 404. The core banking API is signed, not a form:
# unconfigured (as here) it answers 503 to everyone.
CSRF_EXEMPT_BARE_POST = {"optout.unsubscribe": 404, "api.post_payment": 503}

# POSTs that need a CSRF token only from someone signed in: an anonymous question changes
# nothing but the kept question (answers.views), so a bare one is read, and refused as
# empty (422); signed in, it can open a task, and a bare one is refused as forged (400).
CSRF_WHEN_SIGNED_IN_ANONYMOUS_BARE_POST = {"answers.ask": 422}

# Cardholder views whose decorator does not mark them (they should use cardholder_required).
CARDHOLDER: set[str] = set()

STAFF_ROLES = tuple(Role)
IDENTITIES = ("anonymous", "cardholder", *(r.value for r in STAFF_ROLES))
STAFF_SIGN_IN = "/care/sign-in"
CARDHOLDER_SIGN_IN = "/sign-in"


def classify(app: Flask) -> tuple[dict[str, frozenset[Role]], set[str], set[str], list[str]]:
    staff: dict[str, frozenset[Role]] = {}
    cardholder: set[str] = set()
    public: set[str] = set()
    problems = []
    for endpoint, view in app.view_functions.items():
        roles = getattr(view, "allowed_roles", None)
        marked = getattr(view, "cardholder_only", False) or endpoint in CARDHOLDER
        kinds = [bool(roles), bool(marked), endpoint in PUBLIC]
        if sum(kinds) != 1:
            problems.append(f"{endpoint}: declare it exactly once (staff roles, cardholder, or PUBLIC) — {kinds}")
            continue
        if roles:
            assert all(isinstance(r, Role) for r in roles), endpoint
            staff[endpoint] = frozenset(roles)
        elif marked:
            cardholder.add(endpoint)
        else:
            public.add(endpoint)
    return staff, cardholder, public, problems


def test_every_route_is_declared(app):
    _staff, _cardholder, _public, problems = classify(app)
    assert problems == []
    stale = (PUBLIC | CARDHOLDER) - set(app.view_functions)
    assert not stale, f"declared but no longer routed: {sorted(stale)}"


def test_staff_areas_are_staff_only(app):
    staff, _cardholder, _public, _ = classify(app)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/care", "/admin")) and rule.endpoint not in {
            "staff.sign_in",
            "staff.sign_out",
            "staff.enrol",
        }:
            assert rule.endpoint in staff, f"{rule.rule} is under a staff prefix but has no @staff_required"


class Identity:
    """A client whose session cookie is put back before each request, so no page can change who it is."""

    def __init__(self, name: str, client: FlaskClient, landing: str) -> None:
        self.name = name
        self.client = client
        page = client.get(landing, follow_redirects=True)
        self.token = csrf_token(page.data)
        cookie = client.get_cookie("portal_session")
        self.cookie = cookie.value if cookie else None

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.cookie is None:
            self.client.delete_cookie("portal_session")
        else:
            self.client.set_cookie("portal_session", self.cookie)
        response = self.client.open(url, method=method, **kwargs)
        # Read and close: a streamed response (CSV export) keeps its context pushed until
        # closed, and the next request would then share ``g`` and its cached user.
        response.get_data()
        response.close()
        return response


def build_url(app: Flask, rule: Any, account_id: int) -> str:
    values = {}
    for argument in rule.arguments:
        converter = rule._converters[argument]
        values[argument] = account_id if isinstance(converter, IntegerConverter) else "sample"
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, values, method=sorted(rule.methods - {"HEAD", "OPTIONS"})[0])


@pytest.fixture
def identities(app, frozen) -> dict[str, Identity]:
    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    make_account(app, dpd=70)
    found = {"anonymous": Identity("anonymous", app.test_client(), CARDHOLDER_SIGN_IN)}
    holder = app.test_client()
    CardholderAuth(holder).sign_in()
    found["cardholder"] = Identity("cardholder", holder, "/account")
    for role in STAFF_ROLES:
        client = app.test_client()
        _id, email, password, secret = make_staff(app, role)
        StaffAuth(client).sign_in(email, password, secret)
        found[role.value] = Identity(role.value, client, STAFF_SIGN_IN)
    return found


def location(response: Any) -> str:
    return response.headers.get("Location", "")


def expect_denied(kind: str, who: str, response: Any, where: str) -> None:
    """Denied: anonymous goes to the right sign-in page; anyone signed in gets 403 (or sign-in)."""
    code = response.status_code
    sign_in = STAFF_SIGN_IN if kind == "staff" else CARDHOLDER_SIGN_IN
    if who == "anonymous":
        assert code == 302 and location(response).startswith(sign_in), f"{where}: {code} {location(response)}"
    else:
        assert code == 403 or (code == 302 and location(response).startswith(sign_in)), f"{where}: {code}"


def expect_allowed(response: Any, where: str) -> None:
    code = response.status_code
    assert code < 500, f"{where}: {code}"
    assert code not in (401, 403), f"{where}: {code}"
    assert not (code == 302 and location(response).startswith((STAFF_SIGN_IN, CARDHOLDER_SIGN_IN))), where


def test_role_matrix(app, identities):
    staff, cardholder, _public, problems = classify(app)
    assert problems == []
    account_id = 1
    from portal.accounts.models import CardAccount
    from portal.extensions import db

    with app.app_context():
        account_id = db.session.query(CardAccount.id).scalar()
    checked = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        endpoint = rule.endpoint
        if endpoint == "static":
            continue
        url = build_url(app, rule, account_id)
        methods = rule.methods - {"HEAD", "OPTIONS"}
        kind = "staff" if endpoint in staff else "cardholder" if endpoint in cardholder else "public"
        for who, identity in identities.items():
            where = f"{who} {sorted(methods)} {url} ({endpoint})"
            if kind == "staff":
                allowed = who in {r.value for r in staff[endpoint]}
            elif kind == "cardholder":
                allowed = who == "cardholder"
            else:
                allowed = True
            if "GET" in methods:
                response = identity.request("GET", url)
                if kind == "public":
                    assert response.status_code < 500, f"{where}: {response.status_code}"
                elif allowed:
                    expect_allowed(response, where)
                else:
                    expect_denied(kind, who, response, where)
            if "POST" in methods:
                bare = identity.request("POST", url)
                refused = (CSRF_EXEMPT_BARE_POST[endpoint],) if endpoint in CSRF_EXEMPT_BARE_POST else (400, 403, 302)
                if who == "anonymous" and endpoint in CSRF_WHEN_SIGNED_IN_ANONYMOUS_BARE_POST:
                    refused = (CSRF_WHEN_SIGNED_IN_ANONYMOUS_BARE_POST[endpoint],)
                assert bare.status_code in refused, f"{where} POST without CSRF: {bare.status_code}"
                if not allowed:
                    # With a valid token the decorator itself must refuse, before the view acts.
                    response = identity.request("POST", url, data={"csrf_token": identity.token})
                    expect_denied(kind, who, response, f"{where} POST with CSRF")
            checked += 1
    assert checked >= len(IDENTITIES) * (len(staff) + len(cardholder))


def test_a_cardholder_session_never_passes_staff_pages_and_vice_versa(app, identities):
    holder = identities["cardholder"]
    assert holder.request("GET", "/care/").status_code == 403
    assert b"This page is for bank staff" in holder.request("GET", "/admin/").data
    agent = identities["agent"]
    assert agent.request("GET", "/account").status_code == 403
    assert agent.request("GET", "/accounts/1").status_code == 403
    assert b"Your role does not include this page" in agent.request("GET", "/admin/").data
