"""The care workbench (issue 17): owning cases, next case, call-backs, phone promises,
call outcomes under the contact caps, note templates, and the queue's new columns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor
from portal.care.models import CallAttempt, CaseState
from portal.cases.models import CaseEvent, CaseTask, Promise, TaskKind
from portal.cases.tasks import open_task
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.plans.models import Plan
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.plan_factories import make_plan
from tests.staff_helpers import StaffAuth, make_staff

NOON_SHANGHAI = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # the frozen clock: 12:00 in Shanghai


@pytest.fixture
def policy(app: Flask) -> None:
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()


def sign_in(app: Flask, client: Any, role: Role = Role.AGENT, name: str | None = None) -> int:
    staff_id, email, password, secret = make_staff(app, role, name=name)
    StaffAuth(client).sign_in(email, password, secret)
    return staff_id


def token(client: Any) -> str:
    return StaffAuth(client).token()


def press_next(client: Any, tier: str = "") -> Any:
    return client.post("/care/next", data={"csrf_token": token(client), "tier": tier})


def drawn(response: Any) -> int | None:
    found = re.search(r"/care/accounts/(\d+)", response.headers.get("Location", ""))
    return int(found[1]) if found else None


def accounts(app: Flask, *specs: dict[str, Any]) -> list[int]:
    return [
        make_account(app, card=f"62220000000{n:04d}7", reference=f"WB{n:04d}", name=f"Holder {n}", **spec)
        for n, spec in enumerate(specs)
    ]


def my_work_of(page: str) -> str:
    start = page.index('id="my-work-title"')
    return page[start : page.index("</section>", start)]


# --- next case ----------------------------------------------------------------------------


def test_next_case_follows_the_documented_order_and_leases_each_case(app, client, frozen, policy, query):
    plain_low, plain_high, broken, asked = accounts(
        app, {"dpd": 40, "principal": "3000.00"}, {"dpd": 40, "principal": "9000.00"}, {"dpd": 5}, {"dpd": 10}
    )
    plan_id = make_plan(app, broken, "installment", "en", months=6)
    with unit(app):
        db.session.get(Plan, plan_id).state = "broken"
        open_task(asked, TaskKind.QUESTION, SYSTEM, reason="hardship", note="Asked about a longer plan")
    agent = sign_in(app, client)

    order = [drawn(press_next(client)) for _ in range(4)]
    # A question for a person first, then the broken plan, then the highest tier's highest balance.
    assert order == [asked, broken, plain_high, plain_low]
    assert drawn(press_next(client)) is None  # nothing left that nobody owns
    owned = query(select(CaseState.account_id).where(CaseState.owner_id == agent))
    assert sorted(owned) == sorted(order)  # each leased to the agent who drew it
    state = query.one(select(CaseState).where(CaseState.account_id == plain_low))
    assert state.owned_until == NOON_SHANGHAI + timedelta(minutes=30)
    assert query(select(AuditEvent.action).where(AuditEvent.action == "case.assigned")) == ["case.assigned"] * 4


def test_a_drawn_case_says_what_keeping_it_means(app, client, frozen, policy):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    assert drawn(press_next(client)) == account_id
    work = client.get(f"/care/accounts/{account_id}").text
    work = work[work.index('id="work-title"') : work.index("</section>", work.index('id="work-title"'))]
    assert "held until" in work and "Keep it past the time limit" in work  # not a bare "Keep it"


def test_two_agents_never_draw_the_same_case_and_a_lease_runs_out(app, client, frozen, policy):
    first_case, second_case = accounts(app, {"dpd": 70}, {"dpd": 40})
    sign_in(app, client)
    other = app.test_client()
    sign_in(app, other)
    assert drawn(press_next(client)) == first_case
    assert drawn(press_next(other)) == second_case
    frozen.set(NOON_SHANGHAI + timedelta(minutes=31))  # the first agent's lease ran out
    third = app.test_client()
    sign_in(app, third)
    assert drawn(press_next(third)) == first_case


def test_two_agents_never_draw_two_accounts_of_the_same_person(app, client, frozen, policy, query):
    card_one, other_person = accounts(app, {"dpd": 70}, {"dpd": 20})
    from portal.accounts.models import CardAccount

    with unit(app):  # the same cardholder's second card, as overdue
        first = db.session.get(CardAccount, card_one)
        values = {c.key: getattr(first, c.key) for c in CardAccount.__table__.columns if c.key != "id"}
        values.update(reference="WB9999", card_hash="f" * 64, card_last4="9999", days_past_due=60)
        second = CardAccount(**values)
        db.session.add(second)
        db.session.commit()
        card_two = second.id
    sign_in(app, client)
    other = app.test_client()
    sign_in(app, other)
    assert drawn(press_next(client)) == card_one
    assert drawn(press_next(other)) == other_person  # not the card_two: the first agent is calling that person
    assert drawn(press_next(client)) == card_two  # the same agent may work their other card
    owner = {n: query.one(select(CaseState.owner_id).where(CaseState.account_id == n)) for n in (card_one, card_two)}
    assert owner[card_one] == owner[card_two]


def test_next_case_leaves_out_cases_it_may_not_call_or_just_called(app, client, frozen, policy):
    _disputed, on_plan, called, owned, free = accounts(
        app, {"dpd": 90, "flags": ["dispute"]}, {"dpd": 90}, {"dpd": 90}, {"dpd": 90}, {"dpd": 3}
    )
    make_plan(app, on_plan, "installment", "en", months=6)
    supervisor = sign_in(app, client, Role.SUPERVISOR)
    with unit(app):
        db.session.add(CallAttempt(account_id=called, outcome="no_answer", answered=False, called_by="staff:1"))
    from portal.care.workbench import take_case

    with unit(app):
        take_case(owned, Actor.staff(supervisor))
    agent = app.test_client()
    sign_in(app, agent)
    assert drawn(press_next(agent)) == free


def test_next_case_in_a_tier_tab_draws_only_from_that_tier(app, client, frozen, policy):
    m1, m3 = accounts(app, {"dpd": 10}, {"dpd": 70})
    sign_in(app, client)
    assert drawn(press_next(client, "M1")) == m1
    assert drawn(press_next(client, "M1")) is None
    assert "No case is waiting in this queue right now." in client.get("/care/?tier=M1").text
    assert drawn(press_next(client, "all")) == m3


# --- owning a case ------------------------------------------------------------------------


def test_an_agent_takes_and_releases_a_case_but_cannot_assign_or_take_anothers(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    agent = sign_in(app, client, name="Agent One")
    url = f"/care/accounts/{account_id}/owner"
    assert client.post(url, data={"csrf_token": token(client), "action": "take"}).status_code == 302
    assert "You own this case" in client.get(f"/care/accounts/{account_id}").text
    other = app.test_client()
    other_id = sign_in(app, other)
    refused = other.post(url, data={"csrf_token": token(other), "action": "take"})
    assert refused.status_code == 403 and "Another member of staff owns this case." in refused.text
    assigned = other.post(url, data={"csrf_token": token(other), "action": "assign", "staff": str(other_id)})
    assert assigned.status_code == 403 and "Only a supervisor can assign" in assigned.text
    assert query.one(select(CaseState.owner_id).where(CaseState.account_id == account_id)) == agent
    assert client.post(url, data={"csrf_token": token(client), "action": "release"}).status_code == 302
    assert query.one(select(CaseState.owner_id).where(CaseState.account_id == account_id)) is None
    kinds = query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id).order_by(CaseEvent.id))
    assert kinds == ["case_assigned", "case_released"]


def test_a_supervisor_assigns_a_case_and_the_agent_sees_it_in_my_work(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    agent_client = app.test_client()
    agent = sign_in(app, agent_client, name="Agent Two")
    sign_in(app, client, Role.SUPERVISOR)
    url = f"/care/accounts/{account_id}/owner"
    response = client.post(url, data={"csrf_token": token(client), "action": "assign", "staff": str(agent)})
    assert response.status_code == 302
    assert "Owned by Agent Two" in client.get(f"/care/accounts/{account_id}").text
    my_work = my_work_of(agent_client.get("/care/").text)
    assert "WB0000" in my_work and "Yours" in my_work
    after = query.one(select(AuditEvent.after).where(AuditEvent.action == "case.assigned"))
    assert after == {"owner": agent, "owner_name": "Agent Two", "until": None, "how": "assigned"}


def test_a_disabled_agents_cases_and_call_backs_go_back_to_the_desk(app, client, frozen, policy, query):
    owned, called_back = accounts(app, {"dpd": 40}, {"dpd": 50})
    from portal.care.workbench import take_case
    from portal.staff import management
    from tests.staff_helpers import make_staff

    leaver, leaver_email, *_ = make_staff(app, Role.AGENT, name="Leaves Soon")
    with unit(app):
        take_case(owned, Actor.staff(leaver))  # owned without end: no lease to run out
        due = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
        open_task(called_back, TaskKind.CALLBACK, Actor.staff(leaver), due_at=due, owner_id=leaver)
    with unit(app):
        management.set_active(leaver_email, False, SYSTEM)
    assert query(select(CaseState.owner_id).where(CaseState.account_id == owned)) == [None]
    assert query(select(CaseTask.owner_id)) == [None]  # anyone's now
    released = query(select(AuditEvent.after).where(AuditEvent.action == "case.released").order_by(AuditEvent.id))
    assert [r["how"] for r in released] == ["left_the_desk", "left_the_desk"]
    sign_in(app, client)  # a colleague sees both and may draw them
    assert "WB0001" in my_work_of(client.get("/care/").text)
    frozen.set(datetime(2026, 11, 28, 5, 1, tzinfo=UTC))
    sign_in(app, client)
    assert drawn(press_next(client)) == called_back
    assert drawn(press_next(client)) == owned


def test_assigning_to_an_id_past_any_integer_is_a_bad_request_not_an_error(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client, Role.SUPERVISOR)
    form = {"csrf_token": token(client), "action": "assign", "staff": "99999999999999999999"}
    assert client.post(f"/care/accounts/{account_id}/owner", data=form).status_code == 400
    assert query(select(CaseState.owner_id)) == []


# --- call-backs and follow-ups --------------------------------------------------------------


def test_a_call_back_outside_contact_hours_is_refused_in_words(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    form = {"csrf_token": token(client), "kind": "callback", "day": "2026-11-29", "at": "22:30", "note": ""}
    response = client.post(f"/care/accounts/{account_id}/tasks", data=form)
    assert response.status_code == 422
    assert "Choose a time inside contact hours: 08:00 to 21:00 in the cardholder&#39;s time zone" in response.text
    assert query(select(CaseTask.id)) == []


def test_a_call_back_comes_due_in_the_owners_work_list(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    agent = sign_in(app, client)
    form = {"csrf_token": token(client), "kind": "callback", "day": "2026-11-28", "at": "12:20", "note": "After lunch"}
    assert client.post(f"/care/accounts/{account_id}/tasks", data=form).status_code == 302
    task = query.one(select(CaseTask))
    assert (task.kind, task.owner_id, task.due_at) == ("callback", agent, datetime(2026, 11, 28, 4, 20, tzinfo=UTC))
    assert query.one(select(CaseState.next_action_at)) == task.due_at  # the queue's next action
    timeline = client.get(f"/care/accounts/{account_id}").text
    timeline = timeline[timeline.index('id="timeline"') :]
    assert "Call back · due 28 Nov 2026, 12:20" in timeline  # when, in words, on the case file
    assert "Due now" not in my_work_of(client.get("/care/").text)
    frozen.set(datetime(2026, 11, 28, 4, 21, tzinfo=UTC))  # 12:21 in Shanghai: the call-back is due
    my_work = my_work_of(client.get("/care/").text)
    assert "Call back" in my_work and "Due now" in my_work
    done = client.post(f"/care/accounts/{account_id}/tasks/{task.id}/done", data={"csrf_token": token(client)})
    assert done.status_code == 302
    assert query.one(select(CaseState.next_action_at)) is None


# --- a promise taken by phone ----------------------------------------------------------------


def test_a_phone_promise_keeps_the_cardholders_own_limits(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    url = f"/care/accounts/{account_id}/promise"
    too_little = client.post(url, data={"csrf_token": token(client), "amount": "1", "pay_by": "2026-12-05"})
    assert too_little.status_code == 422 and "The amount must be at least" in too_little.text
    too_late = client.post(url, data={"csrf_token": token(client), "amount": "500", "pay_by": "2027-06-01"})
    assert too_late.status_code == 422 and "Choose a date no later than" in too_late.text
    assert query(select(Promise.id)) == []
    made = client.post(url, data={"csrf_token": token(client), "amount": "500", "pay_by": "2026-12-05"})
    assert made.status_code == 302
    promise = query.one(select(Promise))
    assert (promise.amount, str(promise.pay_by)) == (Decimal("500.0000"), "2026-12-05")
    assert query.one(select(OutboxMessage.kind)) == "promise_recorded"  # the cardholder's confirmation
    event = query.one(select(CaseEvent).where(CaseEvent.kind == "promise"))
    assert event.actor_type == "staff"


# --- call outcomes and the contact caps ------------------------------------------------------


def call(client: Any, account_id: int, outcome: str = "no_answer") -> Any:
    form = {"csrf_token": token(client), "outcome": outcome, "channel": "phone", "text": "Rang the number on file."}
    return client.post(f"/care/accounts/{account_id}/notes", data=form)


def test_a_seventh_unanswered_call_in_a_day_is_refused(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    with app.app_context():
        app.config["CONTACT_WEEKLY_CAP"] = 50  # the daily call cap alone, here
    try:
        for minute in range(6):
            frozen.set(NOON_SHANGHAI + timedelta(minutes=minute))
            assert call(client, account_id).status_code == 302
        frozen.set(NOON_SHANGHAI + timedelta(minutes=10))
        refused = call(client, account_id)
    finally:
        app.config["CONTACT_WEEKLY_CAP"] = 7
    assert refused.status_code == 422
    assert "Do not call now: Daily limit of unanswered calls reached. The call was not recorded." in refused.text
    assert len(query(select(CallAttempt.id))) == 6
    state = query.one(select(CaseState))
    assert (state.last_outcome, state.last_channel) == ("no_answer", "phone")


def test_calls_count_toward_the_message_caps(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    for minute in range(3):  # the daily contact cap is 3
        frozen.set(NOON_SHANGHAI + timedelta(minutes=minute))
        assert call(client, account_id, "reached").status_code == 302
    from portal.links.service import LinkError, issue_plan_link

    with app.app_context(), pytest.raises(LinkError) as refused:
        issue_plan_link(account_id, "sms", SYSTEM)
    assert refused.value.detail == "daily_cap"  # the text obeys the cap the calls filled


def test_a_call_outside_contact_hours_is_refused(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    frozen.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    sign_in(app, client)
    refused = call(client, account_id)
    assert refused.status_code == 422 and "Do not call now: Outside contact hours" in refused.text
    assert query(select(CallAttempt.id)) == []


def test_a_call_back_the_cardholder_asked_for_may_go_despite_an_active_plan(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    make_plan(app, account_id, "installment", "en", months=6)
    sign_in(app, client)
    assert "Do not call now: An active plan" in client.get(f"/care/accounts/{account_id}").text
    with unit(app):
        open_task(account_id, TaskKind.QUESTION, SYSTEM, reason="hardship")
    assert "You may call now." in client.get(f"/care/accounts/{account_id}").text
    assert call(client, account_id, "reached").status_code == 302
    assert query.one(select(CallAttempt.requested)) is True


def test_a_call_back_set_for_later_does_not_lift_todays_call_cap(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    with app.app_context():
        app.config["CONTACT_WEEKLY_CAP"] = 50  # the daily call cap alone, here
    try:
        for minute in range(6):
            frozen.set(NOON_SHANGHAI + timedelta(minutes=minute))
            assert call(client, account_id).status_code == 302
        frozen.set(NOON_SHANGHAI + timedelta(minutes=10))
        later = {"csrf_token": token(client), "kind": "callback", "day": "2026-11-29", "at": "10:00", "note": ""}
        assert client.post(f"/care/accounts/{account_id}/tasks", data=later).status_code == 302
        assert "Do not call now: Daily limit" in client.get(f"/care/accounts/{account_id}").text
        refused = call(client, account_id)
        assert refused.status_code == 422 and "Daily limit of unanswered calls reached" in refused.text
        frozen.set(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai the next day: it is due
        sign_in(app, client)  # a new day, a new session
        assert "The cardholder asked for a call." in client.get(f"/care/accounts/{account_id}").text
        assert call(client, account_id, "reached").status_code == 302
        frozen.set(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # left open: a day later it asks for nothing
        sign_in(app, client)
        assert "The cardholder asked for a call." not in client.get(f"/care/accounts/{account_id}").text
    finally:
        app.config["CONTACT_WEEKLY_CAP"] = 7
    assert query(select(CallAttempt.requested).order_by(CallAttempt.id))[-1] is True


# --- note templates and the queue --------------------------------------------------------------


def test_the_note_is_a_phone_call_by_default_only_while_a_call_is_allowed(app, client, frozen, policy, query):
    (account_id,) = accounts(app, {"dpd": 40})

    def how(page: str) -> str | None:
        note = page[page.index('id="note-title"') : page.index('id="reason-title"')]
        found = re.search(r'<option selected value="([a-z_]+)">', note[note.index('name="channel"') :])
        return found[1] if found else None

    sign_in(app, client)
    assert how(client.get(f"/care/accounts/{account_id}").text) == "phone"  # noon: "You may call now."
    frozen.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    sign_in(app, client, name="Late Agent")  # the noon session idled out
    late = client.get(f"/care/accounts/{account_id}").text
    assert "Do not call now: Outside contact hours" in late
    assert how(late) == "none"  # "No contact (note only)": a note after hours is not a refused call
    form = {"csrf_token": token(client), "outcome": "other", "channel": how(late), "text": "Letter prepared."}
    assert client.post(f"/care/accounts/{account_id}/notes", data=form).status_code == 302
    assert query(select(CallAttempt.id)) == []
    frozen.set(NOON_SHANGHAI + timedelta(days=1))
    sign_in(app, client, name="Next Agent")
    assert how(client.get(f"/care/accounts/{account_id}").text) == "phone"  # the kept fields follow the hours


def test_a_note_template_pre_fills_the_note_without_javascript(app, client, frozen, policy):
    (account_id,) = accounts(app, {"dpd": 40})
    sign_in(app, client)
    page = client.get(f"/care/accounts/{account_id}?note_template=hardship_call").text
    note = page[page.index('id="note-title"') : page.index('id="reason-title"')]
    assert "Spoke with the cardholder. What happened:" in note
    assert '<option selected value="hardship_disclosed">' in note
    plain = client.get(f"/care/accounts/{account_id}?note_template=nonsense").text
    assert "Spoke with the cardholder." not in plain


def test_the_queue_shows_and_filters_state_owner_last_contact_and_next_action(app, client, frozen, policy):
    _disputed, promised, called = accounts(app, {"dpd": 40, "flags": ["dispute"]}, {"dpd": 41}, {"dpd": 42})
    with unit(app):
        from portal.cases.service import record_promise

        record_promise(promised, Decimal("300.00"), "CNY", datetime(2026, 12, 10).date(), Actor.cardholder(promised))
    sign_in(app, client, name="Agent Q")
    assert call(client, called, "no_answer").status_code == 302
    client.post(f"/care/accounts/{called}/owner", data={"csrf_token": token(client), "action": "take"})

    page = client.get("/care/?tier=M2").text
    table = page[page.index('class="queue-table"') :]
    row = table[table.index(">WB0002</a>") :].split("</tr>")[0]
    assert "No answer" in row and "Agent Q" in row
    assert "Disputed" in page and "Promise pending" in page

    def refs(**args: str) -> list[str]:
        page = client.get("/care/", query_string={"tier": "M2", **args}).text
        return re.findall(r">(WB\d+)</a>", page[page.index('class="queue-table"') :])

    assert refs(state="disputed") == ["WB0000"]
    assert refs(state="promise_pending") == ["WB0001"]
    assert refs(owner="mine") == ["WB0002"]
    assert refs(owner="unowned") == ["WB0001", "WB0000"]
    assert refs(outcome="no_answer") == ["WB0002"]
    assert refs(next_action="none") == ["WB0002", "WB0001", "WB0000"]
    assert client.get("/care/?tier=M2&state=bogus").status_code == 422
