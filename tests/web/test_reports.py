"""Results (issue 16): the servicing run folds the day's events into the report tables, a
re-run replaces its rows, and the staff pages show (and export) what those tables hold."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM
from portal.cases.models import CaseEvent
from portal.extensions import db
from portal.links.models import PlanLink
from portal.plans.models import Plan, PlanInstallment
from portal.policies.service import ensure_default_policy
from portal.reporting.models import ReportComment, ReportDaily, ReportPastDue, ReportPlanMilestone, ReportRoll
from portal.staff.models import Role
from tests.conftest import make_account
from tests.plan_factories import card_number, make_plan
from tests.servicing_helpers import pay, run
from tests.staff_helpers import signed_in_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 28)  # the day the test plans are signed (plan_factories.SIGNED_AT)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI).astimezone(UTC)


def link_through(app, account: int, plan: int | None, day: date, *, steps: int, channel: str = "sms") -> None:
    """A link sent by staff:7 on ``day`` whose cardholder went ``steps`` funnel steps."""
    stamps = ["sent_at", "delivered_at", "opened_at", "verified_at", "offer_viewed_at"][:steps]
    with app.app_context():
        link = PlanLink(
            account_id=account,
            token_hash=f"{account:04d}{day:%Y%m%d}".ljust(64, "0"),
            channel=channel,
            created_by="staff:7",
            created_at=at(day, 9),
            expires_at=at(day + timedelta(days=3), 9),
            plan_id=plan,
            **{stamp: at(day, 10 + n) for n, stamp in enumerate(stamps)},
        )
        db.session.add(link)
        db.session.commit()


def rate(app, account: int, plan: int, rating: int, comment: str, day: date) -> None:
    with app.app_context():
        db.session.add(
            CaseEvent(
                account_id=account,
                kind="rating",
                data={"plan": plan, "rating": rating, "comment": comment},
                actor_type="cardholder",
                actor_id=str(account),
                created_at=at(day, 15),
            )
        )
        db.session.commit()


def daily(app, day: date, metric: str) -> list[tuple]:
    with app.app_context():
        query = select(
            ReportDaily.tier,
            ReportDaily.channel,
            ReportDaily.agent,
            ReportDaily.language,
            ReportDaily.count,
            ReportDaily.amount,
        ).where(ReportDaily.day == day, ReportDaily.metric == metric)
        return sorted(tuple(r) for r in db.session.execute(query))


def a_book(app) -> dict[str, int]:
    """Two cardholders: one through an SMS link to an accepted plan, one whose link went
    no further than opened; a rating with a card number in its comment."""
    first = make_account(app, card=card_number(1), locale="zh_Hans")
    second = make_account(app, card=card_number(2))
    plan = make_plan(app, first, "installment", "zh_Hans")
    link_through(app, first, plan, DAY, steps=5)
    link_through(app, second, None, DAY, steps=3, channel="email")
    rate(app, first, plan, 4, "Easy.\nMy card is 6222 0212 3456 7890 and phone 138-0013-8000", DAY)
    return {"first": first, "second": second, "plan": plan}


def test_the_run_folds_each_funnel_step_of_the_day_by_channel_agent_tier_and_language(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))  # folds the day before too: the run may act early in its day
    assert daily(app, DAY, "link_sent") == [
        ("M2", "email", "staff:7", "en", 1, Decimal(0)),
        ("M2", "sms", "staff:7", "zh_Hans", 1, Decimal(0)),
    ]
    assert [r[1] for r in daily(app, DAY, "opened")] == ["email", "sms"]
    assert daily(app, DAY, "verified") == [("M2", "sms", "staff:7", "zh_Hans", 1, Decimal(0))]
    assert daily(app, DAY, "offers_viewed") == [("M2", "sms", "staff:7", "zh_Hans", 1, Decimal(0))]
    # The plan carries its own tier and language, and the channel and sender of its link.
    assert daily(app, DAY, "accepted") == [("M2", "sms", "staff:7", "zh_Hans", 1, Decimal(0))]
    assert daily(app, DAY, "rating") == [("M2", "sms", "staff:7", "zh_Hans", 1, Decimal(4))]
    with app.app_context():
        versions = set(db.session.execute(select(ReportDaily.policy_version_id)).scalars())
        plan_version = db.session.execute(select(Plan.policy_version_id)).scalar_one()
    assert versions == {plan_version}  # every row can be split by policy version


def test_a_comment_reaches_staff_on_one_line_without_card_or_phone_numbers(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))
    with app.app_context():
        (comment,) = db.session.execute(select(ReportComment)).scalars()
        assert comment.comment == "Easy. My card is ••• and phone •••"
        assert (comment.rating, comment.step, comment.channel, comment.language) == (4, "accepted", "sms", "zh_Hans")


def test_running_a_day_again_replaces_its_rows_with_the_same_figures(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))
    with app.app_context():
        before = sorted(
            tuple(r)
            for r in db.session.execute(
                select(ReportDaily.day, ReportDaily.metric, ReportDaily.channel, ReportDaily.count)
            )
        )
    run(app, DAY + timedelta(days=1))
    run(app, DAY + timedelta(days=1))
    with app.app_context():
        after = sorted(
            tuple(r)
            for r in db.session.execute(
                select(ReportDaily.day, ReportDaily.metric, ReportDaily.channel, ReportDaily.count)
            )
        )
        comments = db.session.execute(select(func.count()).select_from(ReportComment)).scalar_one()
    assert before and after == before
    assert comments == 1


def test_first_payment_and_the_third_installment_kept_count_on_the_run_that_first_sees_them(app):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en", months=6)
    with app.app_context():
        dues = db.session.execute(
            select(PlanInstallment.total, PlanInstallment.due_date)
            .where(PlanInstallment.plan_id == plan)
            .order_by(PlanInstallment.number)
        ).all()
    first_day = dues[0][1]
    pay(app, account, str(dues[0][0]), first_day, plan)
    run(app, first_day)
    for total, due in dues[1:3]:
        pay(app, account, str(total), due, plan)
    third_day = dues[2][1]
    run(app, third_day)
    run(app, third_day + timedelta(days=1))  # seen already: not counted again
    with app.app_context():
        milestone = db.session.get(ReportPlanMilestone, plan)
        assert (milestone.first_payment_on, milestone.kept_cycle_3_on) == (first_day, third_day)
    assert [r[4] for r in daily(app, first_day, "first_payment")] == [1]
    assert [r[4] for r in daily(app, third_day, "kept_cycle_3")] == [1]
    assert daily(app, third_day + timedelta(days=1), "kept_cycle_3") == []
    assert [r[5] for r in daily(app, third_day, "recovered")] == [dues[1][0] + dues[2][0]] or dues[1][1] != dues[2][1]


def test_a_cure_and_a_roll_between_tiers_come_from_the_runs_that_saw_them(app):
    account = make_account(app, dpd=35)  # M2 under the default policy
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    run(app, date(2026, 11, 1))  # opens a spell; first snapshot of November
    with app.app_context():
        db.session.execute(update(CardAccount).values(days_past_due=0, days_past_due_as_of=date(2026, 11, 20)))
        db.session.commit()
    run(app, date(2026, 11, 20))  # current again: cured after 19 days
    run(app, date(2026, 12, 1))  # December's snapshot: M2 → current
    with app.app_context():
        (spell,) = db.session.execute(select(ReportPastDue).where(ReportPastDue.account_id == account)).scalars()
        assert (spell.started_on, spell.cured_on, spell.tier) == (date(2026, 11, 1), date(2026, 11, 20), "M2")
        rolls = db.session.execute(select(ReportRoll.from_tier, ReportRoll.to_tier, ReportRoll.accounts)).all()
    assert [tuple(r) for r in rolls] == [("M2", "current", 1)]


def test_a_spell_whose_cure_window_has_not_passed_is_left_out_of_the_cure_rate(app):
    """Two spells from 1 November (one cured on the 5th) and one from the 25th, seen on
    the 28th with a 7-day window: the young one cannot have failed yet, so the rate is
    1 of 2, not 1 of 3 (which every recent range would understate)."""
    from portal.reporting import queries

    accounts = [make_account(app, card=card_number(n)) for n in (1, 2, 3)]
    with app.app_context():
        for account, started, cured in (
            (accounts[0], date(2026, 11, 1), date(2026, 11, 5)),
            (accounts[1], date(2026, 11, 1), None),
            (accounts[2], date(2026, 11, 25), None),
        ):
            db.session.add(
                ReportPastDue(account_id=account, currency="CNY", tier="M1", started_on=started, cured_on=cured)
            )
        db.session.flush()
        (cure,) = queries.cures(date(2026, 11, 1), date(2026, 11, 28), 7, date(2026, 11, 28))
    assert (cure.started, cure.waiting, cure.cured, cure.rate) == (3, 1, 1, Decimal("0.5"))


# --- the pages ----------------------------------------------------------------------------------


def staff(app, role):
    client = app.test_client()
    signed_in_staff(app, client, role)
    return client


RANGE = {"date_from": DAY.isoformat(), "date_to": DAY.isoformat()}


def chart_svgs(html: str) -> list[str]:
    return [base64.b64decode(m).decode() for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


def test_the_funnel_page_shows_counts_rates_and_drop_off_beside_a_server_drawn_chart(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))
    client = staff(app, Role.POLICY_ADMIN)
    response = client.get("/admin/results/", query_string={**RANGE, "split": "channel"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">(\d+)</td>\s*<td class="num">([^<]+)</td>', html)
    sms = rows[9:18]  # email first (by channel name), then SMS
    assert sms[:6] == [
        ("Link sent", "1", "—"),
        ("Delivered", "1", "100.0%"),
        ("Opened", "1", "100.0%"),
        ("Identity verified", "1", "100.0%"),
        ("Offers viewed", "1", "100.0%"),
        ("Plan accepted or request sent", "1", "100.0%"),
    ]
    assert rows[3] == ("Identity verified", "0", "0.0%")  # the e-mail link stopped at opened
    (svg,) = chart_svgs(html)
    assert svg.startswith("<svg") and "<script" not in svg and "Link sent" in svg
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_funnel_exports_as_csv_with_the_same_figures(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))
    client = staff(app, Role.AUDITOR)
    response = client.get("/admin/results/funnel.csv", query_string=RANGE)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_step = {r["step"]: r for r in rows}
    assert by_step["link_sent"]["count"] == "2" and by_step["opened"]["count"] == "2"
    assert by_step["verified"]["count"] == "1" and by_step["verified"]["rate_of_previous_pct"] == "50.0"
    assert by_step["verified"]["dropped"] == "1"


def test_the_outcomes_page_and_its_csv_show_plans_ratings_and_scrubbed_comments(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))
    client = staff(app, Role.SUPERVISOR)
    response = client.get("/admin/results/outcomes", query_string={**RANGE, "split": "language"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Easy. My card is ••• and phone •••" in html and "6222" not in html
    assert len(chart_svgs(html)) == 2
    exported = client.get("/admin/results/outcomes.csv", query_string=RANGE).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {"counts", "rates", "ratings", "comments"} <= {r["section"] for r in rows}
    (accepted,) = [r for r in rows if r["section"] == "counts" and r["figure"] == "accepted"]
    assert accepted["count"] == "1"
    assert "6222" not in exported


def test_a_bad_date_range_is_a_translated_400_and_agents_may_not_read_results(app):
    client = staff(app, Role.POLICY_ADMIN)
    backwards = client.get("/admin/results/", query_string={"date_from": "2026-12-02", "date_to": "2026-12-01"})
    assert backwards.status_code == 400
    assert "The end date must not be before the start date." in backwards.get_data(as_text=True)
    assert client.get("/admin/results/outcomes", query_string={"cure_days": "0"}).status_code == 400
    assert client.get("/admin/results/", query_string={"split": "nonsense"}).status_code == 400
    assert client.get("/admin/results/funnel.csv", query_string={"date_from": "not a date"}).status_code == 400
    zh = client.get(
        "/admin/results/", query_string={"date_from": "2026-12-02", "date_to": "2026-12-01", "lang": "zh_Hans"}
    )
    assert zh.status_code == 400
    assert staff(app, Role.AGENT).get("/admin/results/").status_code == 403


def test_the_results_tile_on_the_admin_home_links_to_the_results(app):
    for role in (Role.POLICY_ADMIN, Role.AUDITOR):
        html = staff(app, role).get("/admin/").get_data(as_text=True)
        assert '<a href="/admin/results/">Results</a>' in html


def test_rebuild_folds_past_days_again_and_refuses_a_backwards_range(app):
    a_book(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "reports", "rebuild", "--from", DAY.isoformat(), "--to", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Folded 1 day(s)" in result.output
    assert [r[4] for r in daily(app, DAY, "link_sent")] == [1, 1]
    backwards = runner.invoke(args=["portal", "reports", "rebuild", "--from", "2026-12-02", "--to", "2026-12-01"])
    assert backwards.exit_code == 2 and "at most" in backwards.output


def test_rebuild_refuses_days_outside_the_years_the_portal_reads(app):
    runner = app.test_cli_runner()
    for first in ("9999-12-31", "0001-01-01"):
        result = runner.invoke(args=["portal", "reports", "rebuild", "--from", first])
        assert result.exit_code == 2 and "in the years 1900 to 2200" in result.output, result.output


def test_supervisors_find_the_results_in_the_staff_menu(app):
    html = staff(app, Role.SUPERVISOR).get("/care/").get_data(as_text=True)
    assert '<a href="/admin/results/">Results' in html
    assert '<a href="/admin/results/">' not in staff(app, Role.AGENT).get("/care/").get_data(as_text=True)


def test_a_comment_that_reads_as_a_formula_is_exported_as_text(app):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en")
    rate(app, account, plan, 1, '=HYPERLINK("http://x.example","click")', DAY)
    run(app, DAY + timedelta(days=1))
    exported = staff(app, Role.AUDITOR).get("/admin/results/outcomes.csv", query_string=RANGE).get_data(as_text=True)
    (comment,) = [r for r in csv.DictReader(io.StringIO(exported)) if r["section"] == "comments"]
    assert comment["value"] == '\'=HYPERLINK("http://x.example","click")'


def test_figures_split_by_week_policy_version_and_agent_name_their_groups(app):
    a_book(app)
    run(app, DAY + timedelta(days=1))
    client = staff(app, Role.POLICY_ADMIN)
    week = client.get("/admin/results/", query_string={**RANGE, "split": "week"}).get_data(as_text=True)
    assert "Week of 2026-11-23" in week  # 28 November 2026 is a Saturday
    version = client.get("/admin/results/", query_string={**RANGE, "split": "policy_version"}).get_data(as_text=True)
    assert "Version 1" in version
    agent = client.get("/admin/results/funnel.csv", query_string={**RANGE, "split": "agent"}).get_data(as_text=True)
    assert {r["group"] for r in csv.DictReader(io.StringIO(agent))} == {"Staff member 7"}  # no such staff row
