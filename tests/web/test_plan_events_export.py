"""`portal plans export`: one UTC day of plan events, in the documented layout, the same
bytes every time."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from portal.extensions import db
from portal.integrations.core_banking.export import COLUMNS
from portal.integrations.core_banking.models import PlanEventKind
from portal.integrations.core_banking.plan_events import NewPlanEvent, emit_plan_events
from tests.conftest import ROOT, make_account, unit
from tests.plan_factories import card_number, make_plan


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["portal", "plans", "export", *args])


def some_events(app) -> list[int]:
    plans = [make_plan(app, make_account(app, card=card_number(n)), "installment", "en", months=3) for n in range(3)]
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=UTC)  # noqa: E731
    with unit(app):
        emit_plan_events(
            [
                # 07:59 in Shanghai on the 2nd is 23:59 UTC on the 1st: the day is a UTC day.
                NewPlanEvent(plans[2], PlanEventKind.COMPLETED, at=at(23, 59).astimezone(ZoneInfo("Asia/Shanghai"))),
                NewPlanEvent(plans[0], PlanEventKind.INSTALLMENT_PAID, {"amount": "120.5"}, at(8), installment=1),
                NewPlanEvent(plans[1], PlanEventKind.BROKEN, {"reason": "missed_in_a_row"}, at(8)),
                # The days around it are not part of it (UTC days).
                NewPlanEvent(plans[0], PlanEventKind.ACCEPTED, at=datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)),
                NewPlanEvent(plans[1], PlanEventKind.ACCEPTED, at=datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),
            ]
        )
    return plans


def test_the_csv_has_the_documented_columns_one_line_per_event_in_time_order(app):
    plans = some_events(app)
    result = run(app, "--date", "2026-12-01")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]
    # Same time: the earlier recorded first (by id); then later times.
    assert [(r["event"], int(r["plan_id"])) for r in body] == [
        ("installment_paid", plans[0]),
        ("broken", plans[1]),
        ("completed", plans[2]),
    ]
    paid = body[0]
    assert paid["occurred_at"] == "2026-12-01T08:00:00Z" and paid["installment_number"] == "1"
    assert paid["amount"] == "120.5" and paid["currency"] == "CNY" and paid["event_id"].startswith("evt_")
    assert json.loads(paid["data"])["account_reference"] == paid["account_reference"]
    assert body[1]["installment_number"] == "" and json.loads(body[1]["data"])["reason"] == "missed_in_a_row"
    # Every column named in the documentation, in its order.
    doc = (ROOT / "docs" / "plan-events-export.md").read_text().split("## CSV", 1)[1].split("\n## ", 1)[0]
    documented = [line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")]
    assert tuple(documented) == COLUMNS


def test_the_same_day_gives_the_same_bytes_and_jsonl_lines_are_the_webhook_bodies(app, tmp_path):
    from sqlalchemy import select

    from portal.notifications.models import OutboxMessage

    app.config["CORE_WEBHOOK_URL"] = "https://core.bank.example/hooks"
    try:
        some_events(app)
    finally:
        app.config["CORE_WEBHOOK_URL"] = ""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(app, "--date", "2026-12-01", "--out", str(first)).exit_code == 0
    assert run(app, "--date", "2026-12-01", "--out", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes() and first.read_bytes().count(b"\n") == 4
    lines = run(app, "--date", "2026-12-01", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["plan.installment_paid", "plan.broken", "plan.completed"]
    assert json.loads(lines[-1])["timestamp"] == "2026-12-01T23:59:00+00:00"
    with app.app_context():
        bodies = set(db.session.execute(select(OutboxMessage.body)).scalars())
    assert set(lines) <= bodies
    assert run(app, "--date", "2026-12-03").stdout == ",".join(COLUMNS) + "\n"  # a quiet day: the header only


def test_a_bad_date_or_format_is_refused_with_a_message(app):
    for args in (["--date", "2026-13-01"], ["--date", "yesterday"], ["--date", "2026-12-01", "--format", "xml"], []):
        result = run(app, *args)
        assert result.exit_code == 2 and "Error" in result.stderr
