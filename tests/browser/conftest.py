"""A live server and Debian's Chromium driven by Playwright, as a phone would use the site."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.conftest import ROOT, make_app, need, reset_schema

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app on a free loopback port, with demo data, in a background thread."""
    from portal.demo import load_demo
    from portal.extensions import db

    database = tmp_path_factory.mktemp("browser") / "portal.sqlite3"
    app = make_app(f"sqlite:///{database}", TESTING=False)
    reset_schema(app)
    with app.app_context():
        load_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()
    live_server.app = None  # type: ignore[attr-defined]


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


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    """A 390×844 touch screen. CSP is bypassed only so the test can inject axe-core."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2,
        bypass_csp=True, base_url=live_server,
    )
    page = context.new_page()
    page.outside_requests = []  # type: ignore[attr-defined]

    def watch(request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith("http") and host != "127.0.0.1":
            page.outside_requests.append(request.url)  # type: ignore[attr-defined]

    page.on("request", watch)
    yield page
    context.close()


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
