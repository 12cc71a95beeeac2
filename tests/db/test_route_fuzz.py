"""Every route × every role, fed hostile query arguments and form fields, on PostgreSQL:
never a 5xx, never a response cut off mid-stream, and nothing written when refused.

The routes come from ``app.url_map``; the fields of each route from the forms that the
pages themselves render (each identity's GET pages are read first, so a POST is fuzzed
with the fields that really post to it, starting from their rendered values). CSRF and
rate limits are off in this app so that the bodies reach the handlers (CSRF has its own
tests in test_role_matrix.py). Hypothesis draws which fields to spoil and with what.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter, Rule

from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.staff.models import Role
from tests.api_helpers import SECRET as API_SECRET
from tests.conftest import PG_TEST_DB, last_code, make_account, make_app, need, postgres_url, reset_schema
from tests.staff_helpers import current_totp, make_staff
from tests.web.test_role_matrix import classify

pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_fuzz"
SMS_KEY = "fuzz-inbound-key"
# A refused sign-in is itself a fact worth keeping: one audit event, and nothing else.
RECORDED_WHEN_REFUSED = {
    "staff.sign_in": {"audit_events"},
    "auth.sign_in": {"audit_events"},
    "auth.enter_code": {"audit_events"},
}
SIGN_OUTS = {"auth.sign_out", "staff.sign_out"}  # fuzzed as anonymous only: they end the identity
# Examples per (identity, route, method): more where the identity may act, fewer where it is turned away.
ALLOWED_EXAMPLES, DENIED_EXAMPLES = 2, 1
MAX_FIELDS_ALONE = 20  # the policy editor has 233: 20 alone, and all of them at once in random examples

CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\n", "\r\n", "\t"]
NUMBERS = [
    "sNaN",
    "NaN",
    "-nan",
    "Infinity",
    "-Infinity",
    "1e999999",
    "1E+999999999",
    "1e-999999",
    "-0",
    "9" * 40,
    "-" + "9" * 40,
    str(2**31),
    str(-(2**31) - 1),
    str(2**63),
    "²",
    "١٢٣",
    "１２３.４５",
    "0x10",
    "1_000",
    "1,000.00",
    "0.0000000000001",
    "12.345",
    "1e5",
    "-1",
]
DATES = [
    "0001-01-01",
    "9999-12-31",
    "1899-12-31",
    "2201-01-01",
    "2026-02-30",
    "0000-00-00",
    "2026-13-01",
    "20261201",
    "2026-12-01T00:00:00",
    "-2026-01-01",
]
OTHER = [
    "",
    " ",
    "/%0a",
    "//evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "x" * 5000,
    "😀" * 50,
    "\ufeff",
    "\u202e",
    "on",
    "y",
    "approve",
    "%00",
]


# Good values for fields that render empty.
PLAUSIBLE = {
    "email": "agent@bank.example",
    "card_number": "6222000000000017",
    "date_of_birth": "1988-04-12",
    "q": "Li Na",
    "amount": "100.00",
    "comment": "Longer tenors",
    "reason": "Not clear",
    "next": "/account",
    "text": "Called",
    "full_name": "Li Na",
    "password": "correct horse battery staple",
    "code": "123456",
}


def hostile(base: str) -> st.SearchStrategy[str]:
    """Bad values for a field whose good value is ``base``: each class of the issue, about equally often."""
    control = st.tuples(st.sampled_from(CONTROLS), st.integers(0, len(base))).map(
        lambda c: base[: c[1]] + c[0] + base[c[1] :]
    )
    return st.one_of(
        control,
        st.sampled_from(NUMBERS),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(DATES),
        st.dates().map(str),
        st.sampled_from(OTHER),
        st.text(max_size=40),
    )


def spoiled_fields(known: dict[str, str], extra: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """Either every field spoiled (so one bad field cannot hide behind another's error),
    or a few, the rest keeping their rendered values (so the request gets further)."""
    names = [*sorted(known), *extra]
    every = st.fixed_dictionaries({n: hostile(known.get(n, "x")) for n in names})
    some = st.sampled_from(names).flatmap(lambda n: st.fixed_dictionaries({n: hostile(known.get(n, "x"))}))
    return st.one_of(
        every, some, st.lists(some, min_size=2, max_size=3).map(lambda ds: {k: v for d in ds for k, v in d.items()})
    )


class FormReader(HTMLParser):
    """Every form on a page: its action, method and the values it would post."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self._current: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {}
            self.forms.append((a.get("action", ""), a.get("method", "get").lower(), self._current))
        elif self._current is None or "name" not in a:
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "image", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self._current.setdefault(a["name"], "")
            else:
                self._current[a["name"]] = a.get("value", "")
        elif tag == "input":
            self._current.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a["name"]
            self._current.setdefault(a["name"], "")
        elif tag == "option" and self._select and (not self._current[self._select] or "selected" in a):
            self._current[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._current[a["name"]] = ""
        elif tag in ("button",):
            self._current.setdefault(a["name"], a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self._current is not None:
            self._current[self._textarea] += data


class Identity:
    """A signed-in client whose session cookie is put back before each request."""

    def __init__(self, name: str, client: FlaskClient) -> None:
        self.name = name
        self.client = client
        cookie = client.get_cookie("portal_session")
        self.cookie = cookie.value if cookie else None

    def open(self, url: str, method: str, **kwargs: Any) -> Any:
        if self.cookie is None:
            self.client.delete_cookie("portal_session")
        else:
            self.client.set_cookie("portal_session", self.cookie)
        response = self.client.open(url, method=method, **kwargs)
        response.get_data()  # a stream that fails mid-way raises here: a dropped connection
        response.close()
        return response


@pytest.fixture(scope="module")
def fuzz_app() -> Iterator[Flask]:
    url = postgres_url(DATABASE)
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(
        url,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
        SMS_INBOUND_KEY=SMS_KEY,
        API_SECRETS=(API_SECRET,),  # the core banking API switched on: unsigned calls are refused 4xx
    )
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def sign_in_identities(app: Flask) -> dict[str, Identity]:
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    make_account(app, dpd=70)
    found = {"anonymous": Identity("anonymous", app.test_client())}
    holder = app.test_client()
    holder.post("/sign-in", data={"card_number": "6222000000000017", "date_of_birth": "1988-04-12"})
    assert holder.post("/sign-in/code", data={"code": last_code(app)}).status_code == 302
    found["cardholder"] = Identity("cardholder", holder)
    for role in Role:
        client = app.test_client()
        _id, email, password, secret = make_staff(app, role)
        response = client.post(
            "/care/sign-in", data={"email": email, "password": password, "code": current_totp(app, email, secret)}
        )
        assert response.status_code == 302, role
        found[role.value] = Identity(role.value, client)
    # A draft of the policy admin's own, so that the editor (every policy field) is fuzzed too.
    assert found["policy_admin"].open("/admin/policies/new", "POST", data={"currency": "CNY"}).status_code == 302
    return found


def table_counts(app: Flask) -> dict[str, int]:
    """Rows in every table, in one round trip."""
    names = [t.name for t in db.metadata.sorted_tables]
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{n}")' for n in names)
    with app.app_context():
        row = db.session.execute(sa.text(sql)).one()
    return dict(zip(names, row, strict=True))


def sample_values(app: Flask) -> dict[str, list[Any]]:
    """Real ids and names for URL arguments (first the one whose page shows the most),
    so that fuzzed requests also reach real objects."""
    from portal.accounts.models import CardAccount
    from portal.policies.models import PolicyVersion

    with app.app_context():
        accounts = list(db.session.execute(sa.select(CardAccount.id)).scalars())
        numbers = list(
            db.session.execute(sa.select(PolicyVersion.number).order_by(PolicyVersion.number.desc())).scalars()
        )
    return {
        "account_id": accounts,
        "number": numbers,
        "int": [*accounts, *numbers, 1, 2, 2**31 - 1],
        "code": ["en", "zh_Hans", "zh_Hant"],
        "slug": ["annualised-rate"],
        "filename": ["css/site.css"],
    }


def _is_int(rule: Rule, argument: str) -> bool:
    return isinstance(rule._converters[argument], IntegerConverter)


def build_url(app: Flask, rule: Rule, values: dict[str, Any]) -> str:
    with app.test_request_context():
        return app.url_map.bind("localhost").build(rule.endpoint, values)


def first_url(app: Flask, rule: Rule, samples: dict[str, list[Any]]) -> str:
    return build_url(
        app, rule, {a: samples.get(a, samples["int"] if _is_int(rule, a) else ["sample"])[0] for a in rule.arguments}
    )


def url_strategy(app: Flask, rule: Rule, samples: dict[str, list[Any]]) -> st.SearchStrategy[str]:
    parts = {}
    for argument in rule.arguments:
        if _is_int(rule, argument):
            parts[argument] = st.sampled_from(samples.get(argument, []) + samples["int"])
        else:
            parts[argument] = st.one_of(
                st.sampled_from(samples.get(argument, ["sample"])),
                hostile("sample").filter(lambda s: s and "/" not in s and s not in (".", "..")),
            )
    return st.fixed_dictionaries(parts).map(lambda values: build_url(app, rule, values))


def discover_fields(
    app: Flask, identities: dict[str, Identity], samples: dict[str, list[Any]]
) -> dict[tuple[str, str, str], dict[str, str]]:
    """(identity, endpoint, method) → the field names and rendered values of forms aimed at it."""
    adapter = app.url_map.bind("localhost")
    found: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for who, identity in identities.items():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint in SIGN_OUTS:
                continue
            page_url = first_url(app, rule, samples)
            response = identity.open(page_url, "GET")
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            reader = FormReader()
            reader.feed(response.get_data(as_text=True))
            for action, method, fields in reader.forms:
                target = (action or page_url).split("?")[0].split("#")[0]
                try:
                    endpoint, _args = adapter.match(target, method="POST" if method == "post" else "GET")
                except (NotFound, MethodNotAllowed):
                    continue
                found[(who, endpoint, "POST" if method == "post" else "GET")].update(fields)
    return found


def may_act(who: str, endpoint: str, staff: dict[str, frozenset[Role]], cardholder: set[str]) -> bool:
    if endpoint in staff:
        return who in {r.value for r in staff[endpoint]}
    if endpoint in cardholder:
        return who == "cardholder"
    return True


def fuzz_route(
    app: Flask,
    identity: Identity,
    rule: Rule,
    method: str,
    known: dict[str, str],
    examples: int,
    samples: dict[str, list[Any]],
    sent: Iterator[int],
    failures: list[str],
    index: int,
) -> None:
    """Send ``examples`` requests to one route as one identity, each with some fields spoiled."""
    webhook = rule.endpoint.startswith("optout.sms_")

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        url=url_strategy(app, rule, samples),
        as_json=st.booleans(),
        spoiled=spoiled_fields(known, ("next", "page", "x")),
    )
    def check(url: str, spoiled: dict[str, str], as_json: bool) -> None:
        kwargs: dict[str, Any] = {"headers": {"X-SMS-Key": SMS_KEY}}
        if method == "GET":
            kwargs["query_string"] = {**known, **spoiled}
        elif as_json and webhook:
            kwargs["data"], kwargs["content_type"] = json.dumps({**known, **spoiled}), "application/json"
        else:
            kwargs["data"] = {**known, **spoiled}
        before = table_counts(app)
        next(sent)
        where = f"{identity.name} {method} {url} {spoiled!r}"
        try:
            response = identity.open(url, method, **kwargs)
        except Exception as error:  # a stream cut off after its headers
            failures.append(f"{where}: dropped ({type(error).__name__}: {error})"[:400])
            return
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code}")
        elif response.status_code >= 400:
            after = table_counts(app)
            changed = {
                t: (before[t], after[t])
                for t in before
                if before[t] != after[t]
                and not (t in RECORDED_WHEN_REFUSED.get(rule.endpoint, ()) and after[t] == before[t] + 1)
            }
            if changed:
                failures.append(f"{where}: refused ({response.status_code}) but wrote {changed}")

    for spoiled in one_field_at_a_time(known if known or method == "POST" else {"next": ""}, index):
        check = example(url=first_url(app, rule, samples), spoiled=spoiled, as_json=False)(check)
    check()


def one_field_at_a_time(known: dict[str, str], index: int) -> list[dict[str, str]]:
    """Each field alone (the others keep their rendered values) with a NUL byte (the one
    control character PostgreSQL refuses), a line break, a number bomb and a date bomb, so
    that no bad field hides behind another's error. ``index`` turns the bombs, so that
    identities sharing a form try different ones."""
    found = []
    for n, name in enumerate(sorted(known)[:MAX_FIELDS_ALONE]):
        base = known[name] or PLAUSIBLE.get(name, "ab")
        found += [{name: base[:1] + "\x00" + base[1:]}, {name: base[: len(base) // 2] + "\n" + base[len(base) // 2 :]}]
        found += [{name: NUMBERS[(n + index) % 8]}, {name: DATES[(n + index) % 2]}]
    return found


def test_no_route_fails_on_hostile_input_as_any_role(fuzz_app):
    app = fuzz_app
    identities = sign_in_identities(app)
    samples = sample_values(app)
    fields = discover_fields(app, identities, samples)
    staff, cardholder, _public, problems = classify(app)
    assert problems == []
    sent = itertools.count()
    failures: list[str] = []
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: (r.rule, r.endpoint))
    for index, (who, identity) in enumerate(identities.items()):
        for rule in rules:
            if who != "anonymous" and rule.endpoint in SIGN_OUTS:
                continue
            examples = ALLOWED_EXAMPLES if may_act(who, rule.endpoint, staff, cardholder) else DENIED_EXAMPLES
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                # Empty inputs get a plausible value, so that one spoiled field is the only thing wrong.
                known = {k: v or PLAUSIBLE.get(k, v) for k, v in fields.get((who, rule.endpoint, method), {}).items()}
                if rule.endpoint.startswith("optout.sms_"):
                    known.update(
                        {
                            "from": "+86 138 0000 0001",
                            "text": "STOP",
                            "reference": "1",
                            "id": "x",
                            "status": "delivered",
                        }
                    )
                fuzz_route(
                    app,
                    identity,
                    rule,
                    method,
                    known if examples == ALLOWED_EXAMPLES else {},
                    examples,
                    samples,
                    sent,
                    failures,
                    index,
                )
    count = next(sent)
    print(f"route fuzz: {count} requests")
    assert not failures, f"{len(failures)} of {count} requests failed:\n" + "\n".join(failures[:40])
    assert count >= 1000
