"""The /admin policy pages over HTTP: roles, maker-checker, the generated editor, diff, impact."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.policies.models import PolicyVersion
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import CardholderAuth, csrf_token, make_account
from tests.staff_helpers import StaffAuth, make_staff, signed_in_staff


class FormReader(HTMLParser):
    """The fields a browser would post from the page's forms: name → value."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = action, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value") or "y"
            else:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def page_form(client, url: str, action: str | None = None) -> dict[str, Any]:
    reader = FormReader(action or url)
    reader.feed(client.get(url).get_data(as_text=True))
    assert reader.values, f"no form posting to {action or url}"
    return reader.values


@pytest.fixture
def policies(app):
    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()


def admin_client(app, name: str) -> Any:
    client = app.test_client()
    _id, email, password, secret = make_staff(app, Role.POLICY_ADMIN, name=name)
    StaffAuth(client).sign_in(email, password, secret)
    return client


@pytest.fixture
def maker(app, policies):
    return admin_client(app, "Maker")


@pytest.fixture
def checker(app, policies):
    return admin_client(app, "Checker")


def new_draft(client) -> int:
    fields = page_form(client, "/admin/policies/", "/admin/policies/new")
    response = client.post("/admin/policies/new", data=fields)
    assert response.status_code == 302
    return int(response.headers["Location"].split("/")[-2])


def submitted(client) -> int:
    number = new_draft(client)
    url = f"/admin/policies/{number}/submit"
    fields = page_form(client, f"/admin/policies/{number}", url)
    fields["comment"] = "Longer M3 tenors"
    assert client.post(url, data=fields).status_code == 302
    return number


def state_of(query, number: int) -> str:
    return query.one(select(PolicyVersion.state).where(PolicyVersion.number == number))


def event_count(query) -> int:
    return query.one(select(func.count()).select_from(AuditEvent))


# --- maker-checker ----------------------------------------------------------------------


def test_a_crafted_approval_by_the_author_is_refused_and_changes_nothing(app, maker, checker, query):
    number = submitted(maker)
    # The page offers the author no approval form; a crafted POST must still fail.
    review = maker.get(f"/admin/policies/{number}/review").get_data(as_text=True)
    assert f'action="/admin/policies/{number}/approve"' not in review
    fields = page_form(checker, f"/admin/policies/{number}/review", f"/admin/policies/{number}/approve")
    own = page_form(maker, "/admin/policies/", "/admin/policies/new")  # the author's own CSRF token
    before = event_count(query)
    response = maker.post(f"/admin/policies/{number}/approve", data={**fields, "csrf_token": own["csrf_token"]})
    assert response.status_code == 403
    assert "another policy admin must approve" in response.get_data(as_text=True)
    assert state_of(query, number) == "pending" and state_of(query, 1) == "active"
    assert event_count(query) == before
    # The other admin may.
    response = checker.post(f"/admin/policies/{number}/approve", data=fields)
    assert response.status_code == 302
    assert state_of(query, number) == "active" and state_of(query, 1) == "retired"


def test_an_approval_posted_from_a_page_whose_version_changed_since_is_refused(app, maker, checker, query):
    number = submitted(maker)
    url = f"/admin/policies/{number}/approve"
    seen = page_form(checker, f"/admin/policies/{number}/review", url)  # the checker opens the review page
    assert len(seen["reviewed"]) == 64
    # Meanwhile the maker withdraws, raises every tier's settlement discount to 90 % and resubmits.
    withdraw = f"/admin/policies/{number}/withdraw"
    assert maker.post(withdraw, data=page_form(maker, f"/admin/policies/{number}", withdraw)).status_code == 302
    tiers = len(query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))["tiers"])
    assert edit(maker, number, **{f"tiers-{i}-settlement-max_discount": "0.9" for i in range(tiers)}).status_code == 302
    submit = f"/admin/policies/{number}/submit"
    assert maker.post(submit, data=page_form(maker, f"/admin/policies/{number}", submit)).status_code == 302
    before = event_count(query)
    response = checker.post(url, data=seen)  # the approve button of the page opened earlier
    assert response.status_code == 409
    refusal = response.get_data(as_text=True)
    assert "changed after you opened it for review" in refusal
    assert f'href="/admin/policies/{number}/review">Review what this version holds now' in refusal
    assert state_of(query, number) == "pending" and state_of(query, 1) == "active"
    assert event_count(query) == before
    # Having seen the new content, the checker may approve it.
    assert checker.post(url, data=page_form(checker, f"/admin/policies/{number}/review", url)).status_code == 302
    assert state_of(query, number) == "active"


def test_an_approval_without_the_reviewed_digest_is_refused(app, maker, checker, query):
    number = submitted(maker)
    url = f"/admin/policies/{number}/approve"
    fields = page_form(checker, f"/admin/policies/{number}/review", url)
    del fields["reviewed"]
    assert checker.post(url, data=fields).status_code == 400
    assert state_of(query, number) == "pending"
    for crafted in ("é" * 64, "A" * 64):  # not a digest: refused, never compared (non-ASCII made it a 500)
        assert checker.post(url, data={**fields, "reviewed": crafted}).status_code == 400
    assert state_of(query, number) == "pending"


def test_a_crafted_rejection_by_the_author_is_refused(app, maker, checker, query):
    number = submitted(maker)
    fields = page_form(checker, f"/admin/policies/{number}/review", f"/admin/policies/{number}/reject")
    own = page_form(maker, "/admin/policies/", "/admin/policies/new")
    response = maker.post(
        f"/admin/policies/{number}/reject", data={**fields, "csrf_token": own["csrf_token"], "reason": "mine"}
    )
    assert response.status_code == 403 and state_of(query, number) == "pending"


def test_rejection_needs_a_reason_shown_next_to_the_field(app, maker, checker, query):
    number = submitted(maker)
    url = f"/admin/policies/{number}/reject"
    fields = page_form(checker, f"/admin/policies/{number}/review", url)
    response = checker.post(url, data={**fields, "reason": "  "})
    assert response.status_code == 400
    assert 'id="reason-error">Say why you reject this version.' in response.get_data(as_text=True)
    response = checker.post(url, data={**fields, "reason": "M3 tenors too long"})
    assert response.status_code == 302 and state_of(query, number) == "rejected"
    assert "M3 tenors too long" in maker.get(f"/admin/policies/{number}").get_data(as_text=True)


def test_approval_from_a_future_date_schedules_the_version(app, maker, checker, query, frozen):
    number = submitted(maker)
    url = f"/admin/policies/{number}/approve"
    fields = page_form(checker, f"/admin/policies/{number}/review", url)
    past = checker.post(url, data={**fields, "effective_on": "2026-11-28"})  # today began in the past
    assert past.status_code == 400 and "must be in the future" in past.get_data(as_text=True)
    assert checker.post(url, data={**fields, "effective_on": "2026-12-01"}).status_code == 302
    assert state_of(query, number) == "scheduled"
    version = query.one(select(PolicyVersion).where(PolicyVersion.number == number))
    assert version.effective_from.isoformat() == "2026-11-30T16:00:00+00:00"  # midnight in Shanghai


def test_the_author_cannot_open_the_editor_of_someone_elses_draft(app, maker, checker):
    number = new_draft(maker)
    assert checker.get(f"/admin/policies/{number}/edit").status_code == 403
    assert maker.get(f"/admin/policies/{number}/edit").status_code == 200


# --- roles ------------------------------------------------------------------------------

ADMIN_VIEWS = ["policies.", "audit."]


def admin_endpoints(app) -> dict[str, Any]:
    return {name: view for name, view in app.view_functions.items() if name.startswith(tuple(ADMIN_VIEWS))}


def test_every_admin_view_declares_its_roles(app):
    for name, view in admin_endpoints(app).items():
        roles = getattr(view, "allowed_roles", None)
        assert roles, name
        assert Role.AGENT not in roles and Role.SUPERVISOR not in roles, name
        writes = any(rule.methods & {"POST"} for rule in app.url_map.iter_rules(endpoint=name))
        assert (Role.AUDITOR in roles) is (not writes), name  # auditors read, never write


READ_PAGES = [
    "/admin/policies/",
    "/admin/policies/1",
    "/admin/policies/1/review",
    "/admin/policies/diff?a=1&b=1",
    "/admin/audit/",
    "/admin/audit/export.csv",
]
WRITE_POSTS = [
    "/admin/policies/new",
    "/admin/policies/1/submit",
    "/admin/policies/1/withdraw",
    "/admin/policies/1/approve",
    "/admin/policies/1/reject",
    "/admin/policies/1/edit",
]


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_care_staff_are_refused(app, client, policies, role):
    signed_in_staff(app, client, role)
    for url in READ_PAGES:
        assert client.get(url).status_code == 403, url
    token = StaffAuth(client).token()
    for url in WRITE_POSTS:
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url


def test_cardholders_are_refused(app, client, policies):
    make_account(app)
    CardholderAuth(client).sign_in()
    for url in READ_PAGES:
        assert client.get(url).status_code == 403, url
    token = csrf_token(client.get("/account").data)
    for url in WRITE_POSTS:
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url


def test_auditors_read_but_never_write(app, client, policies, query):
    signed_in_staff(app, client, Role.AUDITOR)
    for url in READ_PAGES:
        assert client.get(url).status_code == 200, url
    index = client.get("/admin/policies/").get_data(as_text=True)
    assert "/admin/policies/new" not in index
    before = event_count(query)
    token = StaffAuth(client).token()
    for url in WRITE_POSTS:
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert event_count(query) == before


def test_policy_admins_read_every_page(app, maker):
    for url in READ_PAGES:
        assert maker.get(url).status_code == 200, url


# --- the editor -------------------------------------------------------------------------


def edit(client, number: int, **changes: str) -> Any:
    url = f"/admin/policies/{number}/edit"
    fields = page_form(client, url)
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return client.post(url, data=fields)


def field_error(html: str, name: str) -> str:
    start = html.index(f'id="{name}-error">') + len(f'id="{name}-error">')
    return html[start : html.index("</p>", start)]


def test_the_editor_has_an_input_for_every_limit(app, maker):
    from portal.domain.policy import InstallmentLimits, PersonalisedLimits, ReliefLimits, SettlementLimits

    number = new_draft(maker)
    fields = page_form(maker, f"/admin/policies/{number}/edit")
    for section, cls in (
        ("installment", InstallmentLimits),
        ("relief", ReliefLimits),
        ("settlement", SettlementLimits),
        ("personalised", PersonalisedLimits),
    ):
        for name in cls.__dataclass_fields__:
            if name == "allowed":
                continue  # an unchecked box posts nothing
            assert f"tiers-0-{section}-{name}" in fields, (section, name)
    assert fields["tiers-2-installment-tenors"] == "6, 12, 24, 36"
    assert fields["tiers-4-max_dpd"] == "" and fields["cooldown_days"] == "90"
    html = maker.get(f"/admin/policies/{number}/edit").get_data(as_text=True)
    assert "Highest monthly fee rate" in html and "Agents may offer a discount up to" in html


def test_saving_a_valid_change_stores_it_and_audits_it(app, maker, query):
    number = new_draft(maker)
    response = edit(maker, number, **{"tiers-2-installment-tenors": "6, 12, 24, 36, 48", "cooldown_days": "60"})
    assert response.status_code == 302
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    assert document["tiers"][2]["installment"]["tenors"] == [6, 12, 24, 36, 48] and document["cooldown_days"] == 60
    saved = query(select(AuditEvent).where(AuditEvent.action == "policy.draft_saved"))
    assert saved[0].after == {"cooldown_days": 60, "tiers[M3].installment.tenors": [6, 12, 24, 36, 48]}


def test_the_personalised_pause_is_edited_like_any_limit(app, maker, query):
    number = new_draft(maker)
    assert page_form(maker, f"/admin/policies/{number}/edit")["tiers-3-personalised-max_pause_months"] == "3"
    assert edit(maker, number, **{"tiers-3-personalised-max_pause_months": "6"}).status_code == 302
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    assert document["tiers"][3]["personalised"]["max_pause_months"] == 6


BAD_LIMITS = [
    # (form field, value, message next to it, problem kind)
    ("tiers-1-min_dpd", "31", "Days past due 30 to 30 are not covered by any tier.", "gap"),
    ("tiers-2-min_dpd", "55", "Day 55 is already covered by M2: tiers must not overlap.", "overlap"),
    (
        "tiers-2-personalised-max_tenor",
        "72",
        "At most 60 months: plans are capped at 5 years (you entered 72).",
        "tenor over 60",
    ),
    (
        "tiers-2-installment-tenors",
        "6, 12, 84",
        "At most 60 months: plans are capped at 5 years (you entered 84).",
        "tenor over 60 in a list",
    ),
    (
        "tiers-3-settlement-max_discount",
        "1.2",
        "Enter a fraction from 0 up to but not including 1 (under 100%), not 1.2.",
        "percent out of range",
    ),
    ("affordability_share", "150", "Enter a fraction from 0 to 1 (0% to 100%), not 150.", "percent out of range"),
    ("tiers-0-installment-min_installment", "-5", "Must not be negative (you entered -5).", "negative"),
    ("tiers-0-installment-max_balance", "100", "The upper end (100) is below the lower end (600).", "min above max"),
    ("tiers-0-max_dpd", "0", "The upper end (0) is below the lower end (1).", "min above max"),
    (
        "tiers-0-installment-max_monthly_fee_rate",
        "0.6",
        "Enter a rate from 0 to 0.05 (5.00%), not 0.6.",
        "rate out of range",
    ),
    (
        "tiers-2-settlement-agent_max_discount",
        "0.25",
        "Must not be more than “Largest discount” (0.2).",
        "agent authority above the limit",
    ),
    (
        "tiers-0-installment-min_installment",
        "100.555",
        "Use at most 2 decimal places (you entered 100.555).",
        "too many decimals",
    ),
    ("tiers-2-relief-max_months", "0", "Must be from 1 to 60 (you entered 0).", "out of range"),
    (
        "tiers-3-personalised-max_pause_months",
        "60",
        "Must be from 0 to 59 (you entered 60).",
        "pause as long as the plan",
    ),
    ("tiers-1-missed_payment-grace_days", "61", "Must be from 0 to 60 (you entered 61).", "grace too long"),
    ("tiers-1-missed_payment-grace_days", "-1", "Must not be negative (you entered -1).", "grace negative"),
    (
        "tiers-2-missed_payment-break_missed_in_a_row",
        "0",
        "Must be from 1 to 12 (you entered 0).",
        "plan broken before any miss",
    ),
    ("tiers-0-missed_payment-break_days_late", "400", "Must be from 1 to 365 (you entered 400).", "days late too long"),
    (
        "tiers-0-missed_payment-grace_days",
        "31",
        "Must not be more than “Plan ends when one installment is more than this many days late” (30).",
        "grace beyond the days late that end a plan",
    ),
    ("tiers-1-name", "M1", "M1 appears more than once.", "duplicate"),
    ("cooldown_days", "ninety", "Enter a whole number, e.g. 12.", "not a number"),
    ("tiers-0-installment-max_monthly_fee_rate", "abc", "Enter a number, e.g. 0.05 or 100.00.", "not a number"),
]


@pytest.mark.parametrize("name, value, message, kind", BAD_LIMITS, ids=[row[3] for row in BAD_LIMITS])
def test_each_bad_limit_is_explained_next_to_its_field(app, maker, query, name, value, message, kind):
    number = new_draft(maker)
    before = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    response = edit(maker, number, **{name: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, name)
    assert f'aria-describedby="{name}-hint {name}-error"' in html or f'aria-describedby="{name}-error"' in html
    assert f'href="#{name}"' in html  # and in the summary at the top, linking to it
    assert query.one(select(PolicyVersion.document).where(PolicyVersion.number == number)) == before


def test_a_bad_missed_payment_rule_is_explained_in_the_admins_language(app, maker):
    number = new_draft(maker)
    url = f"/admin/policies/{number}/edit"
    fields = {**page_form(maker, url), "tiers-1-missed_payment-grace_days": "61"}
    response = maker.post(url, data=fields, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert "必须在 0 到 60 之间（您输入的是 61）。" in field_error(
        response.get_data(as_text=True), "tiers-1-missed_payment-grace_days"
    )


def test_missed_payment_rules_are_edited_saved_and_shown_like_any_limit(app, maker, query):
    number = new_draft(maker)
    fields = page_form(maker, f"/admin/policies/{number}/edit")
    for tier in range(5):  # today's rules are every tier's default
        assert fields[f"tiers-{tier}-missed_payment-grace_days"] == "10"
        assert fields[f"tiers-{tier}-missed_payment-break_missed_in_a_row"] == "2"
        assert fields[f"tiers-{tier}-missed_payment-break_days_late"] == "30"
    changes = {"tiers-1-missed_payment-grace_days": "14", "tiers-1-missed_payment-break_missed_in_a_row": "3"}
    assert edit(maker, number, **changes).status_code == 302
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    assert document["tiers"][1]["missed_payment"] == {
        "grace_days": 14,
        "break_missed_in_a_row": 3,
        "break_days_late": 30,
    }
    assert document["tiers"][0]["missed_payment"]["grace_days"] == 10
    saved = query(select(AuditEvent).where(AuditEvent.action == "policy.draft_saved"))
    assert saved[0].after == {
        "tiers[M2].missed_payment.grace_days": 14,
        "tiers[M2].missed_payment.break_missed_in_a_row": 3,
    }
    # The form reads back what was saved.
    again = page_form(maker, f"/admin/policies/{number}/edit")
    assert again["tiers-1-missed_payment-grace_days"] == "14"
    assert again["tiers-1-missed_payment-break_missed_in_a_row"] == "3"
    html = maker.get(f"/admin/policies/diff?a=1&b={number}&changes=1").get_data(as_text=True)
    rows = re.findall(r'<tr class="changed">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    assert "Days of grace after a due date" in rows[0] and ">10</td>" in rows[0] and ">14</td>" in rows[0]
    assert "If a payment is missed" in rows[0]


def test_a_version_stored_before_the_missed_payment_rules_reads_todays_defaults(app, maker, query):
    def strip(session: Any) -> None:  # as version 1 was stored before the rules were policy
        version = session.execute(select(PolicyVersion).where(PolicyVersion.number == 1)).scalar_one()
        version.document = {
            **version.document,
            "tiers": [{k: v for k, v in t.items() if k != "missed_payment"} for t in version.document["tiers"]],
        }

    query.run(strip)
    with app.app_context():
        from portal.policies.cache import load_policy

        version = db.session.execute(select(PolicyVersion).where(PolicyVersion.number == 1)).scalar_one()
        assert "missed_payment" not in version.document["tiers"][0]
        assert all(t.missed_payment.grace_days == 10 for t in load_policy(version).tiers)
    number = new_draft(maker)  # based on version 1
    assert page_form(maker, f"/admin/policies/{number}/edit")["tiers-0-missed_payment-break_days_late"] == "30"
    # The old version and its copy do not differ: a missing rule is the default, not a change.
    html = maker.get(f"/admin/policies/diff?a=1&b={number}").get_data(as_text=True)
    assert "0 limits differ between version 1 and version 2" in html
    assert maker.get("/admin/policies/1").status_code == 200


def test_a_gap_after_the_last_tier_is_shown_on_its_upper_end(app, maker):
    number = new_draft(maker)
    html = edit(maker, number, **{"tiers-4-max_dpd": "400"}).get_data(as_text=True)
    assert "Days past due from 401 on are not covered by any tier." in field_error(html, "tiers-4-max_dpd")


def test_an_empty_tenor_list_of_an_offered_plan_is_refused(app, maker):
    number = new_draft(maker)
    html = edit(maker, number, **{"tiers-0-installment-tenors": ""}).get_data(as_text=True)
    assert "Enter at least one tenor" in field_error(html, "tiers-0-installment-tenors")


def test_tiers_can_be_added_and_removed(app, maker, query):
    number = new_draft(maker)
    url = f"/admin/policies/{number}/edit"
    fields = page_form(maker, url)
    html = maker.post(url, data={**fields, "action": "add_tier"}).get_data(as_text=True)
    assert 'name="tiers-5-name"' in html and 'name="tier_count" type="hidden" value="6"' in html
    # Split W/O (180+) into 180-364 and 365+.
    fields = FormReader(url)
    fields.feed(html)
    values = {
        **fields.values,
        "tiers-4-max_dpd": "364",
        "tiers-5-name": "W/O 1y",
        "tiers-5-min_dpd": "365",
        "tiers-5-max_dpd": "",
        "tiers-5-settlement-allowed": "y",
        "tiers-5-settlement-max_discount": "0.6",
        "tiers-5-settlement-deadline_days": "60",
        "tiers-5-settlement-max_payments": "1",
        "tiers-5-settlement-agent_max_discount": "0.3",
        "action": "save",
    }
    response = maker.post(url, data=values)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    assert [t["name"] for t in document["tiers"]] == ["M1", "M2", "M3", "M4", "W/O", "W/O 1y"]
    # Remove M4 and stretch M3 over its days.
    values = {**page_form(maker, url), "tiers-3-remove": "y", "tiers-2-max_dpd": "179"}
    assert maker.post(url, data=values).status_code == 302
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    assert [t["name"] for t in document["tiers"]] == ["M1", "M2", "M3", "W/O", "W/O 1y"]


def test_problems_after_a_removed_tier_land_on_the_right_inputs(app, maker):
    number = new_draft(maker)
    html = edit(maker, number, **{"tiers-1-remove": "y"}).get_data(as_text=True)
    # Without M2 (30-59), M3 starts after a gap: reported on the M3 inputs (form tier 2).
    assert "Days past due 30 to 59 are not covered by any tier." in field_error(html, "tiers-2-min_dpd")


def test_only_drafts_are_editable(app, maker, query):
    number = submitted(maker)
    response = maker.get(f"/admin/policies/{number}/edit")
    assert response.status_code == 409


# --- reading: list, diff, impact --------------------------------------------------------------


def test_the_list_shows_states_authors_and_dates(app, maker, checker):
    number = submitted(maker)
    html = checker.get("/admin/policies/").get_data(as_text=True)
    assert "Pending approval" in html and "Maker" in html and "Active" in html and "System" in html
    assert f"/admin/policies/{number}" in html


def test_the_diff_highlights_changed_rows(app, maker):
    number = new_draft(maker)
    edit(maker, number, **{"tiers-2-installment-tenors": "6, 12, 24, 36, 48", "cooldown_days": "60"})
    html = maker.get(f"/admin/policies/diff?a=1&b={number}").get_data(as_text=True)
    assert "2 limits differ between version 1 and version 2" in html
    assert html.count('<tr class="changed">') == 2
    rows = re.findall(r'<tr class="changed">(.*?)</tr>', html, re.S)
    assert "Tenors offered" in rows[0] and "6, 12, 24, 36</td>" in rows[0] and "6, 12, 24, 36, 48</td>" in rows[0]
    assert "Cool-down after a broken plan (days)" in rows[1] and ">90</td>" in rows[1] and ">60</td>" in rows[1]
    only = maker.get(f"/admin/policies/diff?a=1&b={number}&changes=1").get_data(as_text=True)
    assert only.count("<tr") - only.count('<tr class="changed">') == 1  # just the header row


def impact_rows(html: str) -> dict[tuple[str, str], list[str]]:
    """The impact table as {(tier, offer): [cells]}."""
    body = re.sub(r"\s+", " ", html[html.index('<table class="impact-table">') :])
    body = body[: body.index("</table>")]
    rows, tier = {}, ""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        if cells and cells[0] and len(cells) > 2:
            tier = cells[0].split(" ")[0] if cells[1] == "Eligible in this tier" else cells[0]
            rows[(tier, cells[1])] = cells[2:]
    return rows


def test_the_review_page_shows_the_impact_of_both_versions(app, maker, checker):
    make_account(app, dpd=35, principal="10000.00")  # M2, balance 10,629.00
    make_account(app, card="6222000000000025", reference="SECOND", dpd=70, principal="500.00", flags=["fraud"])
    number = new_draft(maker)
    edit(maker, number, **{"tiers-1-relief-allowed": None})  # stop relief in M2
    submit_url = f"/admin/policies/{number}/submit"
    maker.post(submit_url, data=page_form(maker, f"/admin/policies/{number}", submit_url))
    html = checker.get(f"/admin/policies/{number}/review").get_data(as_text=True)
    assert "Active version 1" in html and "What these numbers count" in html
    rows = impact_rows(html)
    assert rows[("M2", "Eligible in this tier")] == ["1", "CN¥10,629.00", "1", "CN¥10,629.00", "0"]
    assert rows[("M2", "Installment plan")] == ["1", "CN¥10,629.00", "1", "CN¥10,629.00", "0"]
    assert rows[("M2", "Interest relief")] == ["1", "CN¥10,629.00", "0", "CN¥0.00", "-1"]
    assert "No offer at all" in html
    assert "1 limits differ from the active version 1" in html


def test_the_list_shows_a_due_scheduled_version_as_active(app, maker, checker, query, frozen):
    from datetime import timedelta

    number = submitted(maker)
    url = f"/admin/policies/{number}/approve"
    checker.post(
        url, data={**page_form(checker, f"/admin/policies/{number}/review", url), "effective_on": "2026-11-29"}
    )
    assert "Scheduled" in checker.get("/admin/policies/").get_data(as_text=True)
    from portal.clock import now

    frozen.set(now() + timedelta(days=2))
    later = admin_client(app, "Later")  # two days on, the others' sessions have timed out
    html = later.get("/admin/policies/").get_data(as_text=True)
    assert "Scheduled" not in html and "Retired" in html
    assert state_of(query, number) == "active"  # every request commits due activations first


def test_reminder_cadence_and_new_plan_limits_are_edited_saved_and_checked(app, maker, query):
    number = new_draft(maker)
    fields = page_form(maker, f"/admin/policies/{number}/edit")
    assert fields["tiers-2-reminders-days_before"] == "3"
    assert fields["tiers-2-reminders-days_after"] == "3"
    assert fields["max_new_plans_12_months"] == "1" and fields["max_new_plans_5_years"] == "2"
    html = maker.get(f"/admin/policies/{number}/edit").get_data(as_text=True)
    assert "Payment reminders" in html and "Reminder on the due date" in html
    assert "New plans after a broken one: most in any 12 months" in html
    changes = {
        "tiers-2-reminders-days_before": "5",
        "tiers-2-reminders-on_due_date": None,  # an unticked box is not posted
        "max_new_plans_5_years": "3",
    }
    assert edit(maker, number, **changes).status_code == 302
    document = query.one(select(PolicyVersion.document).where(PolicyVersion.number == number))
    assert document["tiers"][2]["reminders"] == {"days_before": 5, "on_due_date": False, "days_after": 3}
    assert document["max_new_plans_5_years"] == 3
    response = edit(maker, number, **{"tiers-2-reminders-days_after": "15", "max_new_plans_12_months": "4"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Must be from 0 to 14 (you entered 15)." in field_error(page, "tiers-2-reminders-days_after")
    assert "Must not be more than" in field_error(page, "max_new_plans_12_months")


def expected_rows(html: str) -> dict[str, list[str]]:
    """The expected-results table as {tier: [cells after the tier]}."""
    body = re.sub(r"\s+", " ", html[html.index('<table class="expected-table">') :])
    body = body[: body.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        if len(cells) > 3:
            rows[cells[0]] = cells[1:]
    return rows


def test_the_review_page_shows_what_a_fee_cut_would_bring_at_the_observed_rates(app, maker, checker):
    from datetime import timedelta
    from decimal import Decimal

    from portal.clock import now
    from portal.reporting.models import ReportDaily
    from tests.plan_factories import card_number

    for serial in range(2):  # two M2 accounts, 10,629.00 each
        make_account(app, card=card_number(40 + serial), dpd=35, principal="10000.00")
    with app.app_context():
        day = now().date() - timedelta(days=10)
        for metric, count in (("book", 10), ("accepted", 4), ("kept_cycle_3", 2)):
            db.session.add(
                ReportDaily(day=day, metric=metric, tier="M2", channel="", policy_version_id=1, agent="",
                            language="en", currency="CNY", count=count, amount=Decimal(0))
            )  # fmt: skip
        db.session.commit()
    number = new_draft(maker)
    fee = page_form(maker, f"/admin/policies/{number}/edit")["tiers-1-installment-max_monthly_fee_rate"]
    assert (
        edit(maker, number, **{"tiers-1-installment-max_monthly_fee_rate": str(Decimal(fee) * 5 / 6)}).status_code
        == 302
    )
    html = checker.get(f"/admin/policies/{number}/review").get_data(as_text=True)
    rates, *figures = expected_rows(html)["M2"]
    assert rates == "40.0% took a plan (4 plans, 10 accounts); 50.0% kept to the third installment"
    active_payment, active_fees, active_recovery, draft_payment, draft_fees, draft_recovery = figures
    # 10,629.00 over 24 months at 0.6 % a month: 442.88 + 63.77; two accounts × 40 % × 50 % keep it.
    assert (active_payment, draft_payment) == ("CN¥506.65 over 24 months", "CN¥496.03 over 24 months")
    assert active_fees == "CN¥612.23" and draft_fees == "CN¥510.19"  # 0.4 plans kept × 1,530.58 and 1,275.48
    assert active_recovery == draft_recovery == "CN¥4,251.60"
    assert "Not enough results yet" in expected_rows(html)["M1"][0]
