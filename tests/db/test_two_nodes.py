"""Two web nodes, one PostgreSQL, one Redis: the portal as it runs behind a load balancer.

Two gunicorn servers (two workers each) on different ports share the test database and
the test Redis (``PORTAL_REDIS_URL``: sessions, code attempts and rate limits). Over real
HTTP a cardholder signs in on one node and carries on on the other, and ten wrong codes
spread over both lock the code. Then the batch commands run twice at once, as two nodes'
schedulers would start them: the outbox worker sends every message once and the
servicing run does the day's work once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.cookiejar import CookieJar
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from portal.auth.models import OneTimeCode, WebSession
from portal.cases.models import CaseEvent
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEvent
from portal.notifications.models import OutboxMessage
from portal.servicing.models import ServicingRun
from tests.conftest import CARD, DOB, ROOT, last_code, make_account, need
from tests.db.test_delivery import KEY, SmsProvider, _fill_outbox, free_port
from tests.plan_factories import FIRST_DUE, card_number, make_plan
from tests.redis_helpers import NEED_REDIS, REDIS_STATE_URL, redis_available

pytestmark = [
    pytest.mark.real_commits,  # the servers and commands read what the test wrote
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
COOKIE = "portal_session"


def node_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_RATELIMIT", "PORTAL_MESSAGE", "PORTAL_SMS"))
    }
    env.update(
        PORTAL_ENV="development",
        PORTAL_DATABASE_URL=database_url,
        PORTAL_REDIS_URL=REDIS_STATE_URL,
        PORTAL_TRUSTED_PROXIES="1",  # the load balancer's X-Forwarded-For names the client
        FLASK_APP="wsgi",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def nodes(database_url: str) -> Iterator[list[str]]:
    """Start two gunicorn servers; yield their base URLs."""
    need(redis_available(), NEED_REDIS)
    servers, bases = [], []
    for _ in range(2):
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "2"]
        command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "wsgi:app"]
        servers.append(subprocess.Popen(command, cwd=ROOT, env=node_env(database_url), stderr=subprocess.DEVNULL))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120  # a loaded machine boots and warms a worker slowly
        for base in bases:
            while not answers(base):
                assert time.monotonic() < deadline and all(s.poll() is None for s in servers), "a node did not start"
                time.sleep(0.2)
        yield bases
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def answers(base: str) -> bool:
    try:
        return Browser(base).get("/sign-in")[0] == 200
    except (urllib.error.URLError, TimeoutError, ConnectionError):  # not listening, or still warming up
        return False


@pytest.fixture
def redis() -> Iterator[Any]:
    from portal.redis_store import connect

    client = connect(REDIS_STATE_URL)
    client.flushdb()  # rate limits, sessions and counters of an earlier test
    yield client
    client.flushdb()
    client.close()


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects; the cookie is not
    tied to a port, so one browser can talk to both nodes, as through a load balancer."""

    def __init__(self, base: str, jar: CookieJar | None = None, address: str = "203.0.113.10") -> None:
        self.base, self.jar, self.address = base, jar if jar is not None else CookieJar(), address

    def on(self, base: str, address: str | None = None) -> Browser:
        return Browser(base, self.jar, address or self.address)

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def token(self, page: str) -> str:
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', self.get(page)[1])
        assert found, f"no form on {page}"
        return found.group(1)

    def post(self, path: str, fields: dict[str, str], token: str | None = None) -> tuple[int, str]:
        """POST the form on ``path`` (its CSRF token read from that page unless given)."""
        data = urllib.parse.urlencode({"csrf_token": token or self.token(path), **fields}).encode()
        return self._open(urllib.request.Request(self.base + path, data=data, method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        class Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        request.add_header("X-Forwarded-For", self.address)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), Stay)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def cookie(self) -> str:
        return next(c.value for c in self.jar if c.name == COOKIE)


def start_sign_in(browser: Browser) -> None:
    status, _ = browser.post("/sign-in", {"card_number": CARD, "date_of_birth": DOB.isoformat()})
    assert status == 302


def count(app: Any, statement: Any) -> int:
    with app.app_context():
        return int(db.session.execute(statement).scalar_one())


def audits(app: Any, action: str) -> int:
    return count(app, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_a_cardholder_signs_in_on_one_node_and_carries_on_on_the_other(app, nodes, redis):
    a, b = nodes
    make_account(app)
    on_a = Browser(a)
    start_sign_in(on_a)
    assert on_a.post("/sign-in/code", {"code": last_code(app)})[0] == 302
    on_b = on_a.on(b)
    status, page = on_b.get("/account")
    assert status == 200 and "Sign out" in page
    assert on_a.get("/account")[0] == 200
    copied = Browser(a)
    copied.jar.set_cookie(next(c for c in on_a.jar if c.name == COOKIE))

    assert on_b.post("/sign-out", {}, token=on_b.token("/account"))[0] == 302
    assert copied.get("/account")[0] == 302  # ended on B, refused on A
    [session] = [redis.hgetall(key) for key in redis.scan_iter("portal:session:*")]
    assert session["reason"] == "signed_out"
    assert count(app, select(func.count()).select_from(WebSession)) == 0  # it lived in Redis


def test_ten_wrong_codes_across_both_nodes_lock_the_code(app, nodes, redis):
    make_account(app)
    holder = Browser(nodes[0])
    start_sign_in(holder)
    right = last_code(app)
    wrong = "000000" if right != "000000" else "111111"
    # Ten tries at once, five on each node, each node's from its own address.
    tries = [holder.on(nodes[i % 2], f"198.51.100.{i % 2 + 1}") for i in range(10)]
    start = threading.Barrier(len(tries))

    def guess(browser: Browser) -> int:
        token = browser.token("/sign-in/code")
        start.wait()
        return browser.post("/sign-in/code", {"code": wrong}, token)[0]

    with ThreadPoolExecutor(len(tries)) as pool:
        assert list(pool.map(guess, tries)) == [422] * 10
    assert audits(app, "signin.locked") == 1
    with app.app_context():
        locked_until = db.session.execute(select(CardAccount.signin_locked_until)).scalar_one()
        code = db.session.execute(select(OneTimeCode)).scalar_one()
    assert locked_until is not None and code.used_at is not None
    assert redis.get(f"portal:otp:{code.challenge_hash}") == "10"  # every try counted, on either node

    # The right code now: first the shared rate limit of the challenge (ten tries) refuses it…
    assert holder.on(nodes[1]).post("/sign-in/code", {"code": right})[0] == 429
    # …and with the limits forgotten, the lock still does.
    redis.delete(*redis.scan_iter("LIMITS*"))
    status, page = holder.on(nodes[0]).post("/sign-in/code", {"code": right})
    assert status == 422 and "After 5 wrong codes" in page
    assert audits(app, "signin.succeeded") == 0 and holder.get("/account")[0] == 302


def run_twice(arguments: list[str], env: dict[str, str]) -> list[str]:
    """Run one ``flask`` command twice at once (two nodes' schedulers); return both outputs."""
    command = [sys.executable, "-m", "flask", *arguments]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    print(*outputs, sep="\n")  # shown when a test fails: what each run did
    assert [run.returncode for run in runs] == [0, 0], outputs
    return outputs


def test_two_outbox_workers_at_once_send_each_message_once(app, database_url, redis):
    messages = 120
    _fill_outbox(app, messages)
    provider = SmsProvider()
    try:
        env = node_env(database_url, PORTAL_MESSAGE_BACKEND="live", PORTAL_SMS_URL=provider.url, PORTAL_SMS_KEY=KEY)
        outputs = run_twice(["portal", "deliver", "--once", "--batch", "10"], env)
    finally:
        provider.close()
    per_message = Counter(request["reference"] for request in provider.requests)
    assert len(per_message) == messages and set(per_message.values()) == {1}
    sent = [int(re.search(r"Total: claimed \d+, sent (\d+)", output).group(1)) for output in outputs]
    assert sum(sent) == messages, outputs
    with app.app_context():
        statuses = Counter(db.session.execute(select(OutboxMessage.status)).scalars())
    assert statuses == {"sent": messages} and audits(app, "message.sent") == messages


def test_two_servicing_runs_at_once_do_the_days_work_once(app, database_url, redis):
    plans = [
        make_plan(app, make_account(app, card=card_number(n), reference=f"NODE{n}"), "installment", "en")
        for n in range(1, 7)
    ]
    day = FIRST_DUE + timedelta(days=31)  # every plan has missed its first installment by a month
    outputs = run_twice(["portal", "servicing", "run", "--date", day.isoformat(), "--json"], node_env(database_url))
    reports = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    assert sum(r["plans_broken"] for r in reports) == len(plans)
    assert sum(r["accounts_aged"] for r in reports) == len(plans)
    with app.app_context():
        run = db.session.execute(select(ServicingRun)).scalar_one()  # one row for the day
        dates = set(db.session.execute(select(CardAccount.days_past_due_as_of)).scalars())
        broken_events = Counter(
            db.session.execute(select(PlanEvent.plan_id).where(PlanEvent.event == "broken")).scalars()
        )
        messages = Counter(
            db.session.execute(select(OutboxMessage.account_id).where(OutboxMessage.kind == "plan_broken")).scalars()
        )
    assert run.day == day and run.runs == 2 and run.finished_at is not None
    assert run.counts["plans_broken"] == len(plans) and run.counts["accounts_aged"] == len(plans)
    assert dates == {day}
    assert count(app, select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "plan_broken")) == len(plans)
    assert audits(app, "plan.broken") == len(plans)
    assert sorted(broken_events) == sorted(plans) and set(broken_events.values()) == {1}
    assert len(messages) == len(plans) and set(messages.values()) == {1}
