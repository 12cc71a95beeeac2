"""Shared fixtures: an app on SQLite and on PostgreSQL, clients, factories, a frozen clock.

Web tests run once per database. PostgreSQL and Chromium tests skip outside CI when the
part is missing (saying what to install); under ``CI=true`` they must run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import clock, create_app
from portal.audit import sealing
from portal.extensions import db, limiter
from portal.templating import forget_fragments

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("PORTAL_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_TEST_DB = os.environ.get("PORTAL_TEST_PG_DB", "portal_test")  # a separate name lets parallel runs not collide


def need(condition: bool, what: str) -> None:
    """Skip outside CI when a real part is missing; fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not available; install it to run this test")


def postgres_url(name: str = PG_TEST_DB) -> str | None:
    """Create the test database ``name`` if needed; return its URL, or None if no server."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception:
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def reset_schema(app: Flask) -> None:
    """Drop everything and build the schema with the Alembic migrations."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()


def make_app(database_url: str, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SERVER_NAME": None,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    return create_app(config)


@contextmanager
def separate_postgres_app(database: str, **engine_options: Any) -> Iterator[Flask]:
    """An app on a PostgreSQL database of its own (``database``), migrated afresh, for tests
    whose threads commit for real (races); its engine is disposed of at the end."""
    url = postgres_url(database)
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS=engine_options)
    reset_schema(app)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = postgres_url()
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def _schema_app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


class _JoinedSession(db.session.session_factory.class_):
    """``db.session`` during a rolled-back test. Flask-SQLAlchemy's ``get_bind`` picks the
    app's engine and ignores the session's own ``bind`` (the test's connection, as in
    SQLAlchemy's "joining a session into an external transaction" recipe): here the
    connection wins for any app on the test's database, so a second app made in a test
    sees the test's rows too; an app on another database keeps its own engine. Derived
    from the app's session class, so listeners registered on ``db.session`` still fire."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is None and self._db.engine.url == self.bind.engine.url:
            return self.bind
        return super().get_bind(mapper, clause, bind, **kwargs)


@contextmanager
def rolled_back(app: Flask) -> Iterator[None]:
    """Run the block inside one outer transaction that is rolled back at its end.

    Every ``db.session`` made meanwhile (one per app context: each request, CLI command and
    ``query``) joins the transaction with ``join_transaction_mode="create_savepoint"``, so its
    commits release a savepoint and its rollbacks return to one, as Warehouse's tests do.
    What other connections do (a second app, a thread with its own engine, a subprocess)
    cannot see these rows: such tests are marked ``real_commits``.
    """
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    driver = connection.connection.driver_connection
    isolation = getattr(driver, "isolation_level", None)
    if sqlite:
        # pysqlite begins a transaction only before a write, so a SAVEPOINT would open the
        # outermost transaction and its RELEASE would commit. Begin explicitly instead.
        driver.isolation_level = None
    outer = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")
    factory = db.session.session_factory
    saved_kw, saved_class = dict(factory.kw), factory.class_
    factory.kw.update(bind=connection, join_transaction_mode="create_savepoint")
    factory.class_ = _JoinedSession
    try:
        yield
    finally:
        factory.kw.clear()
        factory.kw.update(saved_kw)
        factory.class_ = saved_class
        if outer.is_active:
            outer.rollback()
        if sqlite:
            driver.isolation_level = isolation  # as the pool's other users expect it
        connection.close()


def empty_tables(app: Flask) -> None:
    """Delete every row, children first (for tests whose rows were really committed)."""
    with app.app_context(), db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app(request: pytest.FixtureRequest, _schema_app: Flask) -> Iterator[Flask]:
    """The app with empty tables. No app context stays pushed during a test: Flask would
    reuse it for every request, sharing ``g`` (CSRF token, current user) between them.

    By default the test runs in a transaction that is rolled back at its end (see
    ``rolled_back``). A test marked ``real_commits`` really commits, for code that reads the
    database through another connection, and its tables are emptied afterwards.
    """
    app = _schema_app
    with app.app_context():
        limiter.reset()
    # Each test starts in a worker that has not sealed for a while: a page read's audit
    # event is sealed at its commit, whatever the test before it did (portal.audit.sealing).
    sealing.sealed_now(float("-inf"))
    if request.node.get_closest_marker("real_commits"):
        yield app
        empty_tables(app)
    else:
        with rolled_back(app):
            yield app
    # The cache outlives the rolled-back rows: the versions it knows are gone, and their ids will be reused.
    app.extensions["policy_cache"].clear()
    forget_fragments(app)  # and layout fragments rendered under settings a test changed
    clock.freeze(None)


@pytest.fixture(params=["database", "redis"])
def session_store(request: pytest.FixtureRequest, app: Flask) -> Iterator[Any]:
    """Run the test with sessions and code counters in the database, then in the shared
    Redis (``tests.redis_helpers``); the value is the Redis client, or None."""
    if request.param == "database":
        yield None
        return
    from tests.redis_helpers import shared_redis

    with shared_redis(app) as client:
        yield client


@pytest.fixture
def query(app: Flask) -> Any:
    """``query(stmt)`` → all rows' first column (or ``query.one(stmt)``), in a fresh context."""

    class Query:
        def __call__(self, statement: Any) -> list[Any]:
            with app.app_context():
                return list(db.session.execute(statement).scalars())

        def one(self, statement: Any) -> Any:
            with app.app_context():
                return db.session.execute(statement).scalar_one()

        def run(self, fn: Any) -> Any:
            with app.app_context():
                result = fn(db.session)
                db.session.commit()
                return result

    return Query()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def frozen() -> Iterator[Any]:
    """Freeze the portal clock; call the fixture's ``set(datetime)`` to move it."""

    class Clock:
        def set(self, instant: datetime) -> None:
            clock.freeze(instant)

    clock.freeze(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    yield Clock()
    clock.freeze(None)


# --- factories ---------------------------------------------------------------

CARD = "6222000000000017"
DOB = date(1988, 4, 12)


def make_account(
    app: Flask,
    *,
    card: str = CARD,
    dob: date = DOB,
    name: str = "Li Na",
    locale: str = "en",
    currency: str = "CNY",
    dpd: int = 35,
    principal: str = "10000.00",
    reference: str | None = None,
    **fields: Any,
) -> int:
    """Create a cardholder with one account; return the account id."""
    from portal.accounts.models import CardAccount, Cardholder
    from portal.security import birth_date_hash, card_hash

    holder = Cardholder(
        full_name=name,
        date_of_birth_hash=birth_date_hash(dob, app.config["CARD_HASH_KEY"]),
        phone="+86 138 0000 0001",
        locale=locale,
        email="li.na@example.com",
    )
    values: dict[str, Any] = dict(
        cardholder=holder,
        reference=reference or f"T{card[-8:]}",
        card_last4=card[-4:],
        card_hash=card_hash(card, app.config["CARD_HASH_KEY"]),
        currency=currency,
        credit_limit=Decimal("20000"),
        principal=Decimal(principal),
        interest=Decimal("489.00"),
        fees=Decimal("0"),
        late_fees=Decimal("140.00"),
        overdue_amount=Decimal("2000.00"),
        minimum_due=Decimal("2100.00"),
        due_date=date(2026, 12, 15),
        days_past_due=dpd,
        time_zone="Asia/Shanghai",
        flags=[],
    )
    values.update(fields)
    if "minimum_due" not in fields:  # a minimum due is never more than the balance (a CHECK)
        balance = sum((Decimal(values[k]) for k in ("principal", "interest", "fees", "late_fees")), Decimal(0))
        values["minimum_due"] = min(values["minimum_due"], balance)
    with app.app_context():
        account = CardAccount(**values)
        db.session.add(account)
        db.session.commit()
        return account.id


def csrf_token(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text) or re.search(
        r'name="csrf_token" value="([^"]+)"', text
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def last_code(app: Flask) -> str:
    """The newest sign-in code from the outbox (as a person would read their SMS)."""
    from sqlalchemy import select

    from portal.notifications.models import OutboxMessage

    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)
        body = db.session.execute(query).scalar_one().readable_body
    return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)  # type: ignore[union-attr]


class CardholderAuth:
    """Signs a cardholder in through the real pages, like the flaskr tutorial's helper."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.app = client.application

    def start(self, card: str = CARD, dob: str = DOB.isoformat()) -> Any:
        token = csrf_token(self.client.get("/sign-in").data)
        return self.client.post("/sign-in", data={"csrf_token": token, "card_number": card, "date_of_birth": dob})

    def enter(self, code: str) -> Any:
        token = csrf_token(self.client.get("/sign-in/code").data)
        return self.client.post("/sign-in/code", data={"csrf_token": token, "code": code})

    def sign_in(self, card: str = CARD, dob: str = DOB.isoformat()) -> Any:
        self.start(card, dob)
        return self.enter(last_code(self.app))


@pytest.fixture
def auth(client: FlaskClient) -> CardholderAuth:
    return CardholderAuth(client)


ROOT = Path(__file__).resolve().parent.parent


# --- units of work (branch uow) ------------------------------------------------------


class CommitCounter:
    """Counts COMMITs of ORM sessions, by SQLAlchemy's ``after_commit`` session event."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _session: Any) -> None:
        self.count += 1

    def during(self, action: Any) -> tuple[Any, int]:
        """Run ``action()``; return its result and how many commits it made."""
        before = self.count
        result = action()
        return result, self.count - before


@pytest.fixture
def commits(app: Flask) -> Iterator[CommitCounter]:
    """``commits.during(lambda: client.get(url))`` → (response, number of commits)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    counter = CommitCounter()
    event.listen(Session, "after_commit", counter)
    yield counter
    event.remove(Session, "after_commit", counter)


@contextmanager
def unit(app: Flask) -> Iterator[None]:
    """An app context that is one unit of work: what the services called inside write
    is committed once at the end (services only flush), or rolled back on an error."""
    from portal.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        yield


_HARNESS_SQL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def sql_statements(app: Flask, naming: str | None = None) -> Iterator[list[str]]:
    """The SQL statements every cursor sends while the block runs, whitespace collapsed:
    all of them but the savepoints of the rolled-back test transaction (they stand for a
    request's own BEGIN and ROLLBACK, which the driver sends outside any cursor), or only
    those that contain ``naming`` (a table name, say)."""
    from sqlalchemy import event

    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if naming is not None and naming not in statement:
            return
        if naming is None and statement.lstrip().upper().startswith(_HARNESS_SQL):
            return
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def counted_get(app: Flask, client: FlaskClient, path: str) -> tuple[str, list[str]]:
    """The page's HTML and the SQL statements its one GET sent, in a worker that knows the
    active CNY policy: a process reads the policy versions once per
    ``POLICY_CACHE_SECONDS``, not per request (``tests/web/test_policy_cache.py`` counts
    that read)."""
    from portal.policies.service import active_version

    with app.app_context():
        active_version("CNY")
    with sql_statements(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True), seen
