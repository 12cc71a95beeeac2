"""Staff sign-in with password and TOTP, lockout, replay, idle timeout, enrolment links."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import select

from portal import clock
from portal.audit.models import AuditEvent
from portal.staff import totp
from portal.staff.models import EnrolmentToken, Role, StaffSignInThrottle, StaffUser
from tests.conftest import csrf_token, make_account
from tests.staff_helpers import StaffAuth, current_totp, make_staff

GENERIC = b"These details did not work"


def actions(query) -> list[str]:
    return query(select(AuditEvent.action).order_by(AuditEvent.id))


def test_sign_in_with_password_and_code_lands_on_the_queue(app, client, query, frozen):
    _staff_id, email, password, secret = make_staff(app, Role.AGENT)
    response = StaffAuth(client).sign_in(email, password, secret)
    assert response.headers["Location"] == "/care/"
    page = client.get("/care/")
    assert page.status_code == 200 and b"Work queues" in page.data
    assert "staff.signed_in" in actions(query)


def test_policy_admin_lands_on_admin(app, client, frozen):
    _, email, password, secret = make_staff(app, Role.POLICY_ADMIN)
    assert StaffAuth(client).sign_in(email, password, secret).headers["Location"] == "/admin/"


def test_wrong_password_wrong_code_and_unknown_email_look_the_same(app, client, query, frozen):
    _, email, password, secret = make_staff(app, Role.AGENT)
    staff = StaffAuth(client)
    good_code = current_totp(app, email, secret)
    wrong_code = "000000" if good_code != "000000" else "111111"
    answers = [
        staff.post(email, "not the password!", good_code),
        staff.post(email, password, wrong_code),
        staff.post("nobody@bank.example", password, good_code),
        staff.post(email.upper(), "x" * 300, good_code),
    ]
    bodies = set()
    for answer in answers:
        assert answer.status_code == 422 and GENERIC in answer.data
        text = answer.get_data(as_text=True)
        bodies.add(text[text.index("<main") :].split('name="csrf_token"')[0])
    assert len(bodies) == 1  # not even the markup differs before the form
    failures = [a for a in actions(query) if a == "staff.signin_failed"]
    assert len(failures) == 4
    # An unknown e-mail is audited by a keyed hash, never in clear.
    unknown = query(
        select(AuditEvent).where(AuditEvent.object_id.is_(None), AuditEvent.action == "staff.signin_failed")
    )
    assert "nobody" not in str(unknown[0].after) and len(unknown[0].after["email_sha256"]) == 64


def test_five_failures_lock_for_fifteen_minutes(app, client, query, frozen):
    _, email, password, secret = make_staff(app, Role.SUPERVISOR)
    staff = StaffAuth(client)
    for _ in range(5):
        assert staff.post(email, "wrong password here", "123456").status_code == 422
    throttle = query.one(select(StaffSignInThrottle))
    assert throttle.address == "127.0.0.1" and throttle.locked_until is not None
    assert "staff.locked" in actions(query)
    # Locked: even the right details fail, with the same message.
    locked = staff.post(email, password, current_totp(app, email, secret))
    assert locked.status_code == 422 and GENERIC in locked.data
    frozen.set(clock.now() + timedelta(minutes=16))
    assert staff.sign_in(email, password, secret).status_code == 302
    assert query.one(select(StaffUser.failed_attempts).where(StaffUser.email == email)) == 0


def from_address(app, address: str) -> StaffAuth:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return StaffAuth(client)


def test_a_stranger_cannot_lock_someone_out_of_their_own_desk(app, query, frozen):
    staff_id, email, password, secret = make_staff(app, Role.AGENT)
    stranger = from_address(app, "198.51.100.66")
    codes = [stranger.post(email, "guessing at it", "123456").status_code for _ in range(12)]
    assert set(codes[:10]) == {422} and codes[-1] == 429  # the stranger is stopped...
    locked = stranger.post(email, password, current_totp(app, email, secret))
    assert locked.status_code == 429
    # ...and the person, at their own desk, signs in as usual.
    desk = from_address(app, "10.1.2.3")
    assert desk.sign_in(email, password, secret).headers["Location"] == "/care/"
    assert query.one(select(StaffUser.locked_until).where(StaffUser.id == staff_id)) is None


def test_failures_from_many_addresses_lock_everywhere_and_end_sessions(app, query, frozen):
    staff_id, email, password, secret = make_staff(app, Role.AGENT)
    desk = from_address(app, "10.1.2.3")
    desk.sign_in(email, password, secret)
    assert desk.client.get("/care/").status_code == 200
    for n in range(4):  # 4 addresses × 5 failures = 20: the slower, account-wide lock
        attacker = from_address(app, f"198.51.100.{n + 1}")
        for _ in range(5):
            assert attacker.post(email, "guessing at it", "123456").status_code == 422
    assert query.one(select(StaffUser.locked_until).where(StaffUser.id == staff_id)) is not None
    assert desk.client.get("/care/").status_code == 302  # the open session ended with the lock
    frozen.set(clock.now() + timedelta(minutes=1))
    refused = from_address(app, "10.9.9.9").post(email, password, current_totp(app, email, secret))
    assert refused.status_code == 422 and GENERIC in refused.data
    frozen.set(clock.now() + timedelta(minutes=16))
    assert from_address(app, "10.9.9.9").sign_in(email, password, secret).status_code == 302


def test_a_code_is_accepted_once(app, client, frozen):
    _, email, password, secret = make_staff(app, Role.AGENT)
    staff = StaffAuth(client)
    code = current_totp(app, email, secret)
    assert staff.post(email, password, code).status_code == 302
    staff.sign_out()
    replay = staff.post(email, password, code)
    assert replay.status_code == 422 and GENERIC in replay.data
    # An older code in the window is refused too once a later one was used.
    previous = totp.code_at_step(secret, totp.step_at(clock.now()) - 1)
    if previous != code:
        assert staff.post(email, password, previous).status_code == 422


def test_code_from_far_away_in_time_is_refused(app, client, frozen):
    _, email, password, secret = make_staff(app, Role.AGENT)
    old = pyotp.TOTP(secret).at(clock.now() - timedelta(minutes=5))
    assert StaffAuth(client).post(email, password, old).status_code == 422


def test_session_is_renewed_at_sign_in_and_keeps_the_language(app, client, frozen):
    _, email, password, secret = make_staff(app, Role.AGENT)
    client.get("/language/zh_Hans?next=/care/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "from before"
    StaffAuth(client).sign_in(email, password, secret)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["locale"] == "zh_Hans"
        assert session["_user_id"] == f"s:{query_id(app, email)}"


def query_id(app, email):
    from portal.extensions import db

    with app.app_context():
        return db.session.execute(select(StaffUser.id).where(StaffUser.email == email)).scalar_one()


def test_idle_for_thirty_minutes_signs_staff_out(app, client, query, frozen):
    _, email, password, secret = make_staff(app, Role.AGENT)
    StaffAuth(client).sign_in(email, password, secret)
    frozen.set(clock.now() + timedelta(minutes=29))
    assert client.get("/care/").status_code == 200  # 29 minutes: still in (and the clock restarts)
    frozen.set(clock.now() + timedelta(minutes=31))
    response = client.get("/care/")
    assert response.status_code == 302 and response.headers["Location"] == "/care/sign-in"
    page = client.get("/care/sign-in")
    assert b"signed out after 30 minutes" in page.data
    assert client.get("/care/").status_code == 302
    assert "staff.session_expired" in actions(query)


def test_cardholders_keep_their_fifteen_minute_timeout(app, client, auth, frozen):
    make_account(app)
    auth.sign_in()
    frozen.set(clock.now() + timedelta(minutes=16))
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"


def test_sign_out_is_audited_and_ends_the_session(app, client, query, frozen):
    _, email, password, secret = make_staff(app, Role.AGENT)
    staff = StaffAuth(client)
    staff.sign_in(email, password, secret)
    assert staff.sign_out().headers["Location"] == "/care/sign-in"
    assert client.get("/care/").status_code == 302
    assert "staff.signed_out" in actions(query)


def test_next_is_followed_only_within_the_site(app, client, frozen):
    account = make_account(app)
    _, email, password, secret = make_staff(app, Role.AGENT)
    first = client.get(f"/care/accounts/{account}")
    assert first.status_code == 302 and "/care/sign-in?next=" in first.headers["Location"]
    response = StaffAuth(client).sign_in(email, password, secret, next_path=f"/care/accounts/{account}")
    assert response.headers["Location"] == f"/care/accounts/{account}"
    StaffAuth(client).sign_out()
    frozen.set(clock.now() + timedelta(minutes=1))
    evil = StaffAuth(client).sign_in(email, password, secret, next_path="//evil.example/")
    assert evil.headers["Location"] == "/care/"
    StaffAuth(client).sign_out()
    frozen.set(clock.now() + timedelta(minutes=1))
    auth = StaffAuth(client)
    tab = auth.post(email, password, current_totp(app, email, secret), "/%09/evil.example/x")
    assert tab.status_code == 400 and "Location" not in tab.headers  # the input layer refuses control characters


def test_deactivated_staff_lose_their_session(app, client, query, frozen):
    staff_id, email, password, secret = make_staff(app, Role.AGENT)
    StaffAuth(client).sign_in(email, password, secret)

    def deactivate(session):
        session.get(StaffUser, staff_id).active = False

    query.run(deactivate)
    assert client.get("/care/").status_code == 302


# --- enrolment -------------------------------------------------------------------


def create_via_cli(app, email="new.agent@bank.example", role="agent"):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "staff", "create", "--email", email, "--role", role, "--name", "New Agent"])
    assert result.exit_code == 0, result.output
    link = result.output.split()[-1]
    assert link.startswith("http://127.0.0.1:5000/care/enrol/")
    return link.removeprefix("http://127.0.0.1:5000")


def enrol(client, path, password="a long enough passphrase", code=None, confirm=None):
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    secret = text.split('<code class="secret">')[1].split("</code>")[0]
    code = code or pyotp.TOTP(secret).at(clock.now())
    response = client.post(
        path, data={"csrf_token": csrf_token(text), "password": password, "confirm": confirm or password, "code": code}
    )
    return response, secret


def test_enrolment_link_sets_password_and_authenticator_once(app, client, query, frozen):
    path = create_via_cli(app)
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 bits
    stored = query.one(select(EnrolmentToken))
    assert stored.token_hash != token and len(stored.token_hash) == 64
    assert stored.expires_at - stored.created_at == timedelta(hours=72)

    page = client.get(path)
    assert b"otpauth://totp/" in page.data and b"data:image/svg+xml" in page.data
    response, secret = enrol(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/care/sign-in"
    user = query.one(select(StaffUser))
    assert user.enrolled and user.password_hash.startswith("$argon2")
    assert secret not in user.totp_secret  # encrypted at rest

    assert client.get(path).status_code == 404  # single use
    frozen.set(clock.now() + timedelta(seconds=60))
    assert StaffAuth(client).sign_in("new.agent@bank.example", "a long enough passphrase", secret).status_code == 302
    assert "staff.enrolled" in actions(query)


def test_enrolment_link_expires_after_72_hours(app, client, frozen):
    path = create_via_cli(app)
    frozen.set(clock.now() + timedelta(hours=72, seconds=1))
    response = client.get(path)
    assert response.status_code == 404 and b"This link does not work" in response.data


def test_enrolment_refuses_weak_passwords_and_wrong_codes(app, client, query, frozen):
    path = create_via_cli(app)
    for password, confirm, code, message in [
        ("short pass", None, None, b"at least 12 characters"),
        ("new.agent@bank.example", None, None, b"not your e-mail"),
        ("a long enough passphrase", "something else entirely", None, b"not the same"),
        ("a long enough passphrase", None, "000000", b"That code did not work"),
    ]:
        response, secret = enrol(client, path, password, code=code, confirm=confirm)
        if code == "000000" and pyotp.TOTP(secret).verify("000000", for_time=clock.now(), valid_window=1):
            continue  # 1 in 10^6 / 3: the random secret's code really is 000000
        assert response.status_code == 422 and message in response.data, message
    assert not query.one(select(StaffUser)).enrolled
    assert client.get(path).status_code == 200  # still usable after mistakes


def test_cli_refuses_duplicates_and_unknown_roles(app):
    create_via_cli(app)
    runner = app.test_cli_runner()
    again = runner.invoke(args=["portal", "staff", "create", "--email", "NEW.AGENT@bank.example", "--role", "agent"])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(args=["portal", "staff", "create", "--email", "x@bank.example", "--role", "king"])
    assert bad.exit_code != 0


def test_reissue_voids_the_old_link_and_secret(app, client, frozen):
    path = create_via_cli(app)
    enrol(client, path)
    result = app.test_cli_runner().invoke(args=["portal", "staff", "reissue", "--email", "new.agent@bank.example"])
    assert result.exit_code == 0
    new_path = result.output.split()[-1].removeprefix("http://127.0.0.1:5000")
    assert new_path != path and client.get(new_path).status_code == 200


def test_totp_command_prints_the_current_code_outside_production(app, frozen):
    _, email, _password, secret = make_staff(app, Role.AGENT)
    result = app.test_cli_runner().invoke(args=["portal", "staff", "totp", email])
    assert result.exit_code == 0 and result.output.strip() == pyotp.TOTP(secret).at(clock.now())
    mode, app.config["PORTAL_ENV"] = app.config["PORTAL_ENV"], "production"
    try:
        refused = app.test_cli_runner().invoke(args=["portal", "staff", "totp", email])
    finally:
        app.config["PORTAL_ENV"] = mode
    assert refused.exit_code != 0 and "Refused" in refused.output


def test_demo_creates_one_staff_member_per_role_once(app, query):
    from portal.demo import load_demo
    from portal.extensions import db
    from portal.staff.service import DEMO_STAFF

    with app.app_context():
        load_demo()
        load_demo()
        db.session.commit()
    users = query(select(StaffUser))
    assert {u.role for u in users} == {r.value for r in Role}
    assert len(users) == len(DEMO_STAFF)
    output = app.test_cli_runner().invoke(args=["portal", "demo"]).output
    assert "agent@example.com" in output and "portal staff totp" in output


def test_sign_in_attempts_are_rate_limited_per_email(app, client, frozen):
    _, email, _password, _secret = make_staff(app, Role.AGENT)
    staff = StaffAuth(client)
    codes = [
        staff.post(email.upper() if n % 2 else email, "wrong password here", "123456").status_code for n in range(11)
    ]
    assert codes[:10] == [422] * 10 and codes[10] == 429
    # Another person is not held back by it.
    _, other, other_password, other_secret = make_staff(app, Role.AGENT)
    assert staff.sign_in(other, other_password, other_secret).status_code == 302
