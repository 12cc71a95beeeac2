"""A live server and Debian's Chromium driven by Playwright, as a phone would use the site."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from werkzeug.serving import make_server

from tests.conftest import ROOT, make_app, need, reset_schema, unit

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app on a free loopback port, with demo data, in a background thread."""
    from portal.demo import load_demo
    from portal.extensions import db

    database = tmp_path_factory.mktemp("browser") / "portal.sqlite3"
    app = make_app(f"sqlite:///{database}", TESTING=False)
    reset_schema(app)
    with unit(app):
        load_demo()
    _LIVE_APPS.append(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()
    _LIVE_APPS.remove(app)


_LIVE_APPS: list[Any] = []


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Every browser test starts with the live server's rate limits empty, as web tests
    do: the server is shared by the whole session, and the same demo people sign in test
    after test (ten staff sign-ins in 15 minutes would otherwise lock the next one out)."""
    from portal.extensions import limiter

    for app in _LIVE_APPS:
        with app.app_context():
            limiter.reset()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    need(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    need(AXE.exists(), "axe-core (npm install)")
    need(shutil.which("node") is not None or True, "node")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


@contextmanager
def open_page(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    """A page in a fresh browser context on `base_url`. Requests to any host but
    127.0.0.1 are collected in ``page.outside_requests``. CSP is bypassed only so that
    tests can inject axe-core."""
    context = browser.new_context(bypass_csp=True, base_url=base_url, **options)
    try:
        page = context.new_page()
        page.outside_requests = []  # type: ignore[attr-defined]

        def watch(request: Any) -> None:
            if request.url.startswith("http") and urlsplit(request.url).hostname != "127.0.0.1":
                page.outside_requests.append(request.url)  # type: ignore[attr-defined]

        page.on("request", watch)
        yield page
    finally:
        context.close()


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    """A 390×844 touch screen."""
    with open_page(browser, live_server, **PHONE) as page:
        yield page


@pytest.fixture
def desktop(browser: Any, live_server: str) -> Iterator[Any]:
    """A 1280×800 desktop window."""
    with open_page(browser, live_server, **DESKTOP) as page:
        yield page


def staff_signs_in(page: Any, email: str, landing: str, app: Any = None) -> None:
    """Sign a demo staff member in with password and authenticator code, ending on
    `landing`. A code is accepted once, and no earlier one after it: other tests sign the
    same people in, so the code is the first step after the last one the server accepted
    (read from the database of ``app``, the server the page talks to: by default the
    session's live server), waiting for it to come into the window."""
    from portal.extensions import db
    from portal.staff.models import StaffUser
    from portal.staff.service import DEMO_STAFF
    from portal.staff.totp import STEP_SECONDS, VALID_WINDOW

    staff = next(s for s in DEMO_STAFF if s.email == email)
    with (app or _LIVE_APPS[0]).app_context():
        last = db.session.query(StaffUser.totp_last_step).filter(StaffUser.email == email).scalar()
    step = max(int(time.time()) // STEP_SECONDS, (last if last is not None else -1) + 1)
    while step > int(time.time()) // STEP_SECONDS + VALID_WINDOW:
        time.sleep(1)
    page.goto("/care/sign-in")
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill(staff.password)
    page.locator("#code").fill(pyotp.TOTP(staff.totp_secret).at(step * STEP_SECONDS))
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    if not page.url.endswith(landing):
        raise AssertionError(f"{email} could not sign in: {page.locator('main').inner_text()[:300]!r}")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.x A/AA and best practice) on the page; return its violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
