"""How many SQL statements one signed-in GET of a care page sends (issue 15): at most 14
for a full case file (15 on SQLite) when it seals its viewing, 11 when the worker sealed
within the last second (the viewing waits for the next seal: portal.audit.sealing), and
5 for the care queue, session check and staff loading included.

Counted as ``tests/web/test_query_counts.py`` counts the cardholder pages. The case
file's eleven: the session with the member of staff (with the navigation's count of
payments waiting for review; portal.staff.loader.session_with_staff), the account with
its holder, the audit event of the viewing, the case events, the payments (the panel's
and the timeline's in one), the plans with their installments and policy versions (as
rows), the promises, the links with their messages (as rows), the names of the staff on
the timeline, and the workbench panel's two (issue 17: the case's owner and last contact
with its open tasks, joined; the outbox's messages and the calls the contact caps count,
for "may I call now", in one). Then, when the viewing seals, the sealer's three (its
lock; where the chain ends and what waits; the links and the head, which SQLite writes
in two statements).
The queue's five: the session with the member of staff, the currencies on file, the counts
of the tabs, the page's rows (with their case's owner, last contact and next action), and
"My work" (the agent's open tasks and the cases they own, in one statement).

Each test also checks that the page shows what those statements read, so that a count
kept low by not loading something fails too."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.audit import sealing
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor
from portal.care.workbench import take_case
from portal.cases.models import TaskKind
from portal.cases.service import record_promise
from portal.cases.tasks import open_task
from portal.extensions import db
from portal.links.service import issue_plan_link
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import counted_get, make_account, unit
from tests.plan_factories import add_payment, make_plan
from tests.staff_helpers import StaffAuth, make_staff

CASE_FILE = {"postgresql": 14, "sqlite": 15}
QUEUE = 5


@pytest.fixture
def policy(app: Flask) -> None:
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()


def sign_in_agent(app: Flask, client: Any) -> int:
    staff_id, email, password, secret = make_staff(app, Role.AGENT, name="Chen Jie")
    StaffAuth(client).sign_in(email, password, secret)
    return staff_id


def post_note(client: Any, account_id: int, text: str) -> None:
    token = StaffAuth(client).token()
    form = {"csrf_token": token, "outcome": "hardship_disclosed", "channel": "phone_in", "text": text}
    assert client.post(f"/care/accounts/{account_id}/notes", data=form).status_code == 302


def test_a_full_case_file_sends_at_most_fourteen(app, client, frozen, policy):
    account_id = make_account(app, reference="CASE0001", dpd=40)
    with unit(app):  # sent before the plan: an active plan stops collection messages
        issue_plan_link(account_id, "sms", SYSTEM)
    make_plan(app, account_id, "installment", "en", months=12)
    # Twelve payments, one of them sent back by the bank: the panel lists the newest ten
    # shown (the reversed one struck through), the timeline every one that counts.
    for n in range(12):  # on the 3rd of each month, December 2025 to November 2026
        add_payment(app, account_id, f"{101 + n}.00", date(2025 + (11 + n) // 12, (11 + n) % 12 + 1, 3))
    add_payment(app, account_id, "999.00", date(2026, 11, 20), status="reversed")
    add_payment(app, None, "50.00", date(2026, 11, 21), status="unmatched")  # waits for review
    with unit(app):
        record_promise(account_id, Decimal("300.00"), "CNY", date(2026, 12, 10), Actor.cardholder(account_id))
    with unit(app):  # two open tasks, read with the case's owner in one statement
        open_task(account_id, TaskKind.FOLLOW_UP, SYSTEM, note="Check the payslip")
        open_task(account_id, TaskKind.CALLBACK, SYSTEM, due_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    sign_in_agent(app, client)
    post_note(client, account_id, "Lost her job in October; asked for time.")

    sealing.sealed_now(float("-inf"))  # the worker has not sealed for a second: the viewing seals
    html, seen = counted_get(app, client, f"/care/accounts/{account_id}")
    with app.app_context():
        dialect = db.engine.dialect.name
    assert len(seen) <= CASE_FILE[dialect], "\n".join(seen)
    assert "Li Na" in html and "CASE0001" in html
    assert "Lost her job in October; asked for time." in html and "Chen Jie (Agent)" in html  # staff named
    assert "<s>CN¥999.00</s>" in html  # the panel shows the reversal as such...
    payments_panel = html[html.index('id="payments-title"') : html.index('id="promises-title"')]
    assert len(re.findall(r"CN¥\d+\.00", payments_panel)) == 10  # ...among the newest ten shown
    timeline = html[html.index('id="timeline-title"') : html.index('id="note-title"')]
    assert "CN¥999.00" not in timeline  # money sent back never counted
    assert all(f"CN¥{101 + n}.00" in timeline for n in range(12))  # every payment that counts
    assert "12 payments" in html and "CNY policy version 1" in html  # the plan, its installments and version
    assert "CN¥300.00 by 10 Dec 2026" in html  # the promise
    assert "Text message" in html and "Revoke this link" in html  # the link
    work = html[html.index('id="work-title"') : html.index('id="callback"')]
    assert work.index("Call back") < work.index("Follow up") and "Check the payslip" in work  # due time first
    assert "Nobody owns this case." in work
    assert re.search(r'class="count">1<span class="visually-hidden"> waiting', html)  # the navigation's count
    with app.app_context():  # the viewing is on the audit trail, sealed in the same request
        viewed = db.session.execute(
            select(AuditEvent.position).where(
                AuditEvent.action == "case.viewed", AuditEvent.object_id == str(account_id)
            )
        ).scalar_one()
    assert viewed is not None


def test_a_case_file_viewed_within_a_second_of_a_seal_leaves_the_sealer_out(app, client, frozen, policy, monkeypatch):
    account_id = make_account(app, reference="CASE0002", dpd=40)
    sign_in_agent(app, client)
    monkeypatch.setattr(sealing, "READ_SEAL_SECONDS", 3600.0)  # however slow the machine
    sealing.sealed_now()
    html, seen = counted_get(app, client, f"/care/accounts/{account_id}")
    with app.app_context():
        dialect = db.engine.dialect.name
    sealer = {"postgresql": 3, "sqlite": 4}[dialect]
    assert len(seen) <= CASE_FILE[dialect] - sealer, "\n".join(seen)
    assert not any("audit_head" in statement for statement in seen)
    assert "CASE0002" in html
    viewed = select(AuditEvent.position).where(AuditEvent.action == "case.viewed")
    with app.app_context():
        assert db.session.execute(viewed).scalar_one() is None  # recorded, waiting for the next seal
    post_note(client, account_id, "Called back.")  # a write seals at once, the viewing with it
    with app.app_context():
        assert db.session.execute(viewed).scalar_one() is not None


def test_the_care_queue_sends_at_most_five(app, client, frozen, policy):
    ids = [
        make_account(app, card=f"62220000000000{n}9", reference=f"QUEUE{n}", name=f"Holder {n}", dpd=dpd)
        for n, dpd in enumerate((5, 40, 45, 70))
    ]
    add_payment(app, None, "50.00", date(2026, 11, 21), status="unmatched")
    add_payment(app, None, "60.00", date(2026, 11, 22), status="unmatched")
    staff_id = sign_in_agent(app, client)
    with unit(app):  # "My work": a task for the agent, and a case they own (without a task)
        due = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # due an hour before the frozen clock
        open_task(ids[0], TaskKind.CALLBACK, SYSTEM, owner_id=staff_id, due_at=due)
        take_case(ids[3], Actor.staff(staff_id))

    html, seen = counted_get(app, client, "/care/?tier=M2")
    assert len(seen) <= QUEUE, "\n".join(seen)
    rows = html[html.index('class="queue-table"') :]  # not "My work", which names accounts too
    assert re.findall(r">(QUEUE\d)</a>", rows) == ["QUEUE2", "QUEUE1"]  # most days past due first
    assert "Holder 2" in html and "Holder 1" in html  # their holders, joined
    tabs = dict(re.findall(r'(M\d) <span class="small">[^<]*</span>\s*<span class="count">(\d+)</span>', html))
    assert (tabs["M1"], tabs["M2"], tabs["M3"]) == ("1", "2", "1"), tabs  # every tab counted in one pass
    assert re.search(r'class="count">2<span class="visually-hidden"> waiting', html)  # the navigation's count
    work = html[html.index('id="my-work-title"') : html.index("</section>", html.index('id="my-work-title"'))]
    assert work.index("QUEUE0") < work.index("QUEUE3") and "Call back" in work and "Yours" in work  # tasks first
