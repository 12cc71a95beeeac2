"""From the care desk to a signed plan, through a real SMS provider: an agent signs in with
TOTP, finds an M2 account and texts it a link with a pre-selected offer; the outbox worker
hands the text to a local HTTP SMS provider; the cardholder, on a phone in Simplified
Chinese, opens the link from that text, signs in with the code the provider received and
accepts the offer; the agent then sees the plan and the used link on the case file.

This module runs its own live server (not the session ``live_server``, whose messages go
to the development channel) with the live SMS channel pointed at the recorder below.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.accounts.models import CardAccount
from portal.demo import DEMO_CARDHOLDERS
from portal.extensions import db
from portal.links.models import FUNNEL, PlanLink
from portal.notifications.stop_words import is_stop
from portal.plans.models import Plan
from tests.browser.conftest import DESKTOP, PHONE, axe_violations, open_page, screenshot, staff_signs_in
from tests.conftest import make_app, reset_schema, unit

pytestmark = pytest.mark.browser

DEMO = DEMO_CARDHOLDERS[4]  # 刘洋, Simplified Chinese, CNY, 48 days past due: tier M2
KEY = "local-sms-provider-key"


# --- a local SMS provider that records what it is asked to send ------------------------


class SmsRecorder:
    """Accepts ``POST {to, text, reference}`` like the real provider and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with recorder.lock:
                    recorder.requests.append({"key": self.headers.get("X-SMS-Key"), **payload})
                body = json.dumps({"id": f"local-{payload['reference']}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Portal:
    app: Flask
    url: str
    sms: SmsRecorder

    def deliver(self) -> str:
        """The outbox worker, exactly as ``flask portal deliver --once`` runs it."""
        result = self.app.test_cli_runner().invoke(args=["portal", "deliver", "--once"])
        assert result.exit_code == 0, result.output
        return result.output

    def report_delivered(self, reference: str) -> dict[str, Any]:
        """What the provider does later: post a delivery report to our webhook, with its key."""
        request = urllib.request.Request(
            f"{self.url}/hooks/sms/status",
            method="POST",
            data=json.dumps({"reference": reference, "id": f"local-{reference}", "status": "delivered"}).encode(),
            headers={"Content-Type": "application/json", "X-SMS-Key": KEY},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    from portal.demo import load_demo

    sms = SmsRecorder()
    database = tmp_path_factory.mktemp("care-link") / "portal.sqlite3"
    app = make_app(
        f"sqlite:///{database}",
        TESTING=False,
        # The live channels, as PORTAL_SMS_URL / PORTAL_SMS_KEY would set them; no dev outbox page,
        # so the only way to read a message is from the provider.
        MESSAGE_BACKEND="live",
        SMS_URL=sms.url,
        SMS_KEY=KEY,
        SMS_INBOUND_KEY=KEY,
        DEV_OUTBOX_PAGE=False,
        # Contact hours are checked in the cardholder's zone (default 08:00-21:00 Asia/Shanghai) and
        # the browser's clock is not frozen: open the window all day so the plan link is never held
        # and the test does not depend on the wall clock. (Sign-in codes are never held anyway.)
        CONTACT_START=clock_time(0, 0),
        CONTACT_END=clock_time.max,
    )
    reset_schema(app)
    with unit(app):
        load_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url  # links in messages point at this server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Portal(app, url, sms)
    server.shutdown()
    sms.close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def desk(browser: Any, portal: Portal) -> Iterator[Any]:
    with open_page(browser, portal.url, **DESKTOP) as page:
        yield page


@pytest.fixture
def phone(browser: Any, portal: Portal) -> Iterator[Any]:
    """A 390×844 touch phone set to Chinese."""
    with open_page(browser, portal.url, **PHONE, locale="zh-CN") as page:
        yield page


def check(page: Any, name: str) -> None:
    assert axe_violations(page) == [], name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    screenshot(page, name)


def test_agent_texts_a_link_and_the_cardholder_accepts_the_chosen_offer_on_a_phone(desk, phone, portal):
    sms = portal.sms

    # --- the agent: sign in, find the M2 account, text a link with an offer -------------
    staff_signs_in(desk, "agent@example.com", "/care/", app=portal.app)
    desk.get_by_role("link", name="M2").click()
    desk.wait_for_url("**/care/?tier=M2*")
    row = desk.locator("tbody tr", has_text=DEMO.name)
    assert row.count() == 1
    cells = row.locator("td")
    headers = desk.locator("thead th").all_inner_texts()  # by header: the workbench added columns
    tier, days = cells.nth(headers.index("Tier")).inner_text(), cells.nth(headers.index("Days past due")).inner_text()
    assert tier == "M2" and 30 <= int(days) <= 59
    row.locator("a").click()
    desk.wait_for_url("**/care/accounts/*")
    account_path = urlsplit(desk.url).path
    desk.get_by_role("link", name="Send a plan link").click()
    desk.wait_for_url("**/link")
    desk.get_by_label("Text message").check()
    offer_row = (
        desk.locator("table.offer-table tbody tr").filter(has_text="Installment plan").filter(has_text="12 months")
    )
    assert offer_row.count() == 1 and "Within your authority" in offer_row.inner_text()
    radio = offer_row.locator("input[type=radio][name=offer]")
    assert radio.is_enabled()
    fingerprint = radio.get_attribute("value")
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint or "")
    radio.check()
    desk.get_by_role("button", name="Preview the message").click()
    desk.wait_for_url("**/link")
    assert desk.locator(".preview").get_attribute("lang") == "zh-Hans"
    assert desk.locator("table.offer-table input[name=offer]:checked").get_attribute("value") == fingerprint
    screenshot(desk, "care-link-desk-1-preview")
    desk.get_by_role("button", name="Send now").click()
    desk.wait_for_url(f"**{account_path}#links")
    assert "Queued" in desk.locator("#links").inner_text()
    assert sms.received() == []  # nothing leaves before the worker runs

    # --- the worker hands the text to the provider, which later reports delivery ----------
    assert "sent 1" in portal.deliver()
    [text] = sms.received()
    assert text["key"] == KEY and text["to"] == DEMO.phone
    links = re.findall(rf"{re.escape(portal.url)}/l/[A-Za-z0-9_-]+", text["text"])
    assert len(links) == 1, text["text"]
    link_url = links[0]
    assert any(is_stop(w) for w in re.findall(r"[A-Z]+|退订|退訂", text["text"])), text["text"]  # how to opt out
    assert portal.report_delivered(text["reference"]) == {"ok": True, "matched": True}

    # --- the cardholder: open the link from the text, prove who they are ---------------
    page = phone
    page.goto(link_url)
    page.wait_for_url("**/sign-in")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert DEMO.name not in page.content()  # the link shows nothing before sign-in
    check(page, "care-link-1-sign-in")
    page.locator("#card_number").fill(DEMO.card_number)
    page.locator("#date_of_birth").fill(DEMO.date_of_birth.isoformat())
    page.locator("button[type=submit]").tap()
    page.wait_for_url("**/sign-in/code")
    assert "sent 1" in portal.deliver()  # with a live backend the code goes through the worker too
    [code_text] = sms.received()[1:]
    assert code_text["to"] == DEMO.phone and "/l/" not in code_text["text"]
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", code_text["text"]).group(1)
    page.locator("#code").fill(code)
    page.locator("button[type=submit]").tap()

    # --- the budget check first, one tap to skip; then the offer the agent chose ------------
    page.wait_for_url(f"**/plan/budget?offer={fingerprint}")
    page.locator(f"main p.notice a[href$='/plan/offers/{fingerprint}']").tap()
    page.wait_for_url(f"**/plan/offers/{fingerprint}")
    assert page.locator("main p.notice").count() == 1  # "our care team suggested this plan"
    check(page, "care-link-2-offer")
    page.locator(f"main a.button[href$='/plan/offers/{fingerprint}/accept']").tap()
    page.wait_for_url(f"**/plan/offers/{fingerprint}/accept")
    check(page, "care-link-3-accept")
    page.locator("#full_name").fill(DEMO.name)
    page.locator("#consent").tap()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url(re.compile(r".*/plan/\d+/done$"))
    # How to pay names the account reference to quote, not the card ending (which is not unique).
    assert f"DEMO{DEMO.serial:04d}" in page.locator("main .pay-ref code").inner_text()
    check(page, "care-link-4-done")
    assert page.outside_requests == [] and desk.outside_requests == []

    # --- the agent sees it on the case file -----------------------------------------------
    desk.goto(account_path)
    accepted = desk.locator("#timeline li.event-plan_accepted")
    assert accepted.count() == 1
    assert "Plan accepted" in accepted.inner_text() and "Installment plan" in accepted.inner_text()
    assert desk.locator("#timeline li.event-link_accepted").count() == 1
    links_panel = desk.locator("#links").inner_text()
    assert "Used" in links_panel and "Accepted" in links_panel
    plans_panel = desk.locator("section[aria-labelledby=plans-title]").inner_text()
    assert "Installment plan" in plans_panel and "Active" in plans_panel
    screenshot(desk, "care-link-desk-2-case-file")

    # --- what the provider got, and what the database says --------------------------------
    received = sms.received()
    assert len(received) == 2
    assert [r for r in received if "/l/" in r["text"]] == [text]  # one link text, nothing more
    with portal.app.app_context():
        account = db.session.execute(
            select(CardAccount).where(CardAccount.reference == f"DEMO{DEMO.serial:04d}")
        ).scalar_one()
        link = db.session.execute(select(PlanLink).where(PlanLink.account_id == account.id)).scalar_one()
        plan = db.session.execute(select(Plan).where(Plan.account_id == account.id)).scalar_one()
        assert link.channel == "sms" and link.offer_fingerprint == fingerprint
        assert str(link.outbox_message_id) == text["reference"]
        stamps = [getattr(link, f"{step}_at") for step in FUNNEL]
        assert None not in stamps, dict(zip(FUNNEL, stamps, strict=True))
        assert stamps == sorted(stamps)  # sent ≤ delivered ≤ opened ≤ verified ≤ offer viewed ≤ accepted
        assert link.used_at is not None and link.plan_id == plan.id
        assert (plan.channel, plan.fingerprint, plan.state) == ("link", fingerprint, "active")
