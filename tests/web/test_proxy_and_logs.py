"""Behind a proxy the client's address is used (only when configured); SQL errors hide values."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import CardholderAuth, make_account, make_app

FORWARDED = "198.51.100.9, 203.0.113.7"


def sign_in_ips(app, query) -> list[str | None]:
    make_account(app)
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = FORWARDED
    CardholderAuth(client).start(dob="1970-01-01")
    return query(select(AuditEvent.ip))


def test_forwarded_headers_are_ignored_by_default(app, query):
    assert app.config["TRUSTED_PROXIES"] == 0
    assert sign_in_ips(app, query) == ["127.0.0.1"]


def test_one_trusted_proxy_gives_the_client_address(app, query):
    proxied = make_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTED_PROXIES=1)
    # The right-most address is what the one trusted proxy saw; anything left of it is
    # what the client claimed and is not believed.
    assert sign_in_ips(proxied, query) == ["203.0.113.7"]
    with proxied.app_context():
        db.engine.dispose()


def test_sql_errors_never_carry_their_parameters(app):
    with app.app_context():
        with pytest.raises(DBAPIError) as failure:
            db.session.execute(
                text("SELECT no_such_column FROM audit_events WHERE ip = :ip"), {"ip": "6222000000000017"}
            )
        db.session.rollback()
    assert "6222000000000017" not in str(failure.value)
    assert "hidden" in str(failure.value)
