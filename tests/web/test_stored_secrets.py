"""Secrets at rest: dates of birth as keyed hashes; sign-in codes and link tokens kept
beside their outbox message only until sent (real channels) or expired (dev outbox)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select

from portal.audit.service import Actor
from portal.extensions import db
from portal.links.service import issue_plan_link, revoke_link
from portal.notifications.delivery import deliver_due
from portal.notifications.models import SECRET_MASK, OutboxMessage
from portal.security import birth_date_hash
from tests.conftest import DOB, last_code, make_account, unit

STAFF = Actor("staff", "1")
TOKEN_IN_URL = re.compile(r"/l/([A-Za-z0-9_-]{32,})")


def outbox_page(client) -> str:
    return client.get("/dev/outbox").get_data(as_text=True)


# --- dates of birth ---------------------------------------------------------------------


def test_only_a_keyed_hash_of_the_date_of_birth_is_stored(app, query):
    make_account(app)
    with unit(app):
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("cardholders")}
        [row] = db.session.execute(sa.text("SELECT * FROM cardholders")).mappings().all()
    assert "date_of_birth" not in columns
    stored = " ".join(str(value) for value in row.values())
    assert DOB.isoformat() not in stored and "1988" not in stored
    assert hashlib.sha256(DOB.isoformat().encode()).hexdigest() not in stored  # keyed, not a plain hash
    assert row["date_of_birth_hash"] == birth_date_hash(DOB, app.config["CARD_HASH_KEY"])
    assert birth_date_hash(DOB, "another key") != row["date_of_birth_hash"]


def test_sign_in_still_checks_the_date_of_birth(app, auth, client):
    make_account(app)
    auth.start(dob="1988-04-13")
    assert client.get("/dev/outbox").status_code == 200
    assert "sign-in code" not in outbox_page(client)  # a wrong date sends nothing
    auth.start()
    assert auth.enter(last_code(app)).status_code == 302


# --- sign-in codes ----------------------------------------------------------------------


def test_a_sign_in_code_is_not_in_the_stored_body(app, auth, query, frozen):
    make_account(app)
    auth.start()
    code = last_code(app)
    message = query.one(select(OutboxMessage))
    assert code not in message.body and SECRET_MASK in message.body
    assert message.secret == code and message.secret_until == datetime(2026, 11, 28, 4, 5, tzinfo=UTC)


def test_the_dev_outbox_shows_a_code_while_it_is_valid_then_the_worker_forgets_it(app, auth, client, query, frozen):
    make_account(app)
    auth.start()
    code = last_code(app)
    with app.app_context():
        deliver_due("test")  # the dev channel: the outbox page is the phone
    assert code in outbox_page(client) and query.one(select(OutboxMessage.status)) == "sent"
    assert query.one(select(OutboxMessage.secret)) == code
    frozen.set(datetime(2026, 11, 28, 4, 5, tzinfo=UTC))
    page = outbox_page(client)
    assert code not in page and SECRET_MASK in page
    with app.app_context():
        deliver_due("test")
    assert query.one(select(OutboxMessage.secret)) is None


def test_a_used_or_replaced_code_is_forgotten_at_once(app, auth, query, frozen):
    make_account(app)
    auth.start()
    auth.start()  # the second code replaces the first
    secrets = query(select(OutboxMessage.secret).order_by(OutboxMessage.id))
    assert secrets[0] is None and secrets[1] is not None
    auth.enter(secrets[1])
    assert query(select(OutboxMessage.secret)) == [None, None]


def test_a_code_sent_by_a_real_channel_is_forgotten_when_sent(app, auth, query, frozen):
    texts: list[str] = []

    class Gateway:
        name = "sms"

        def send(self, envelope):
            from portal.integrations.channels import Sent

            texts.append(envelope.body)
            return Sent(provider_id="p-1")

    make_account(app)
    auth.start()
    code = query.one(select(OutboxMessage.secret))
    with app.app_context():
        assert deliver_due("test", channels={"sms": Gateway()}).sent == 1
    assert code in texts[0]
    message = query.one(select(OutboxMessage))
    assert message.secret is None and code not in message.body and code not in message.readable_body


# --- plan-link tokens -------------------------------------------------------------------


def issue(app, channel: str = "sms") -> tuple[int, str]:
    account_id = make_account(app)
    with unit(app):
        link = issue_plan_link(account_id, channel, STAFF)
        message = db.session.get(OutboxMessage, link.outbox_message_id)
        return link.id, TOKEN_IN_URL.search(message.readable_body).group(1)


def test_a_link_token_is_not_in_the_stored_body_and_goes_with_revocation(app, client, query, frozen):
    link_id, token = issue(app)
    message = query.one(select(OutboxMessage))
    assert token not in message.body and f"/l/{SECRET_MASK}" in message.body
    assert token in outbox_page(client)
    with unit(app):
        revoke_link(link_id, STAFF)
    assert query.one(select(OutboxMessage.secret)) is None and token not in outbox_page(client)


def test_a_link_token_is_forgotten_when_the_link_expires(app, client, query, frozen):
    _, token = issue(app)
    frozen.set(datetime(2026, 11, 28, 4, 0, tzinfo=UTC) + timedelta(hours=72))
    with app.app_context():
        report = deliver_due("test")
    assert query.one(select(OutboxMessage.secret)) is None and token not in outbox_page(client)
    # A message that could not go before its link expired fails; it never sends a masked link.
    assert report.failed == 1 and query.one(select(OutboxMessage.status)) == "failed"
