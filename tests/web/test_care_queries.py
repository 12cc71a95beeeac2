"""The care pages ask the database a fixed number of times, however many accounts, holders
and case events there are: no query per row."""

from __future__ import annotations

import pytest

from portal.audit.service import SYSTEM
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import make_account, sql_statements, unit
from tests.staff_helpers import signed_in_staff


def luhn_card(n: int) -> str:
    body = f"622200{n:09d}"
    total = 0
    for i, digit in enumerate(reversed(body)):
        d = int(digit) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


@pytest.fixture
def accounts(app):
    with unit(app):
        ensure_default_policy(SYSTEM)

    def make(count: int, start: int = 0) -> list[int]:
        # Spread over the tiers (M1 to M4) and both currencies.
        return [
            make_account(
                app,
                card=luhn_card(start + n),
                reference=f"Q{start + n:05d}",
                name=f"Holder {start + n}",
                dpd=(5, 35, 65, 95)[n % 4],
                currency=("CNY", "HKD")[n % 2],
            )
            for n in range(count)
        ]

    return make


def queue_statements(app, client) -> int:
    with sql_statements(app) as seen:
        assert client.get("/care/?tier=all").status_code == 200
    return len(seen)


def test_the_work_queue_asks_the_same_few_questions_for_two_accounts_or_thirty(app, client, accounts):
    signed_in_staff(app, client, Role.AGENT)
    accounts(2)
    client.get("/care/?tier=all")
    few = queue_statements(app, client)
    accounts(28, start=2)
    many = queue_statements(app, client)
    page = client.get("/care/?tier=all").text
    assert page.count('href="/care/accounts/') == 25  # a full page of rows, each with its holder
    assert few == many <= 8  # issue 17 added "My work": the open tasks and the cases owned


def test_the_case_file_asks_the_same_questions_however_long_its_timeline(app, client, accounts, monkeypatch):
    # A case file's read event is sealed when this process has not sealed for a second:
    # on a loaded machine that fell on one of the two requests and not the other.
    monkeypatch.setattr("portal.audit.sealing.READ_SEAL_SECONDS", float("inf"))
    signed_in_staff(app, client, Role.AGENT)
    account_id = accounts(1)[0]
    client.get(f"/care/accounts/{account_id}")
    with sql_statements(app) as short:
        assert client.get(f"/care/accounts/{account_id}").status_code == 200
    with unit(app):
        for n in range(20):
            add_event(account_id, CaseEventKind.NOTE, SYSTEM, {"outcome": "no_answer", "text": f"note {n}"})
    with sql_statements(app) as long:
        page = client.get(f"/care/accounts/{account_id}").text
    assert "note 19" in page
    assert len(long) == len(short)
    assert not [s for s in short if "FROM cardholders" in s and "JOIN" not in s]  # the holder comes with the account


def test_the_case_file_reads_its_lists_in_one_statement(app, client, accounts):
    signed_in_staff(app, client, Role.AGENT)
    account_id = accounts(1)[0]
    with unit(app):
        add_event(account_id, CaseEventKind.NOTE, SYSTEM, {"outcome": "no_answer", "text": "rang twice"})
    client.get(f"/care/accounts/{account_id}")
    with sql_statements(app) as seen:
        page = client.get(f"/care/accounts/{account_id}").text
    assert "rang twice" in page and "Nobody owns this case." in page
    lists = ("FROM case_events", "FROM payments", "FROM plans", "FROM promises", "FROM plan_links")
    reading = [s for s in seen if any(table in s for table in ("case_events", "promises", "plan_links"))]
    assert len(reading) == 1, reading
    assert all(part in reading[0] for part in lists), reading[0]
