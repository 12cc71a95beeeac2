"""Staff management in the browser (/admin/staff) and on the command line: one service,
one set of rules. A supervisor manages agents only; a staff admin everyone; nobody their
own account; the last active staff admin stays. Every change is audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.staff.models import Role, StaffUser
from tests.staff_helpers import StaffAuth, make_staff, signed_in_staff

LINK = re.compile(r'<code class="once-link" id="enrolment-link">(http[^<]+/care/enrol/([^<]+))</code>')


def post(client, url, **fields):
    return client.post(url, data={"csrf_token": StaffAuth(client).token(), **fields})


def create(client, email, role, name="New Person"):
    return post(client, "/admin/staff/new", email=email, name=name, role=role)


def audit(query, action):
    events = query(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    return [(e.actor_id, e.object_id, e.before, e.after) for e in events]


def user(query, email) -> StaffUser:
    return query.one(select(StaffUser).where(StaffUser.email == email))


def test_a_supervisor_adds_an_agent_and_sees_the_enrolment_link_once(app, client, query):
    supervisor_id, *_ = signed_in_staff(app, client, Role.SUPERVISOR)
    response = create(client, " New.Agent@Bank.example ", "agent", "Bo Chen")
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and "Bo Chen has been added" in html
    url, token = LINK.search(html).groups()
    assert url.startswith("http://localhost/care/enrol/")
    new = user(query, "new.agent@bank.example")
    assert (new.role, new.active, new.enrolled) == ("agent", True, False)
    assert audit(query, "staff.created") == [
        (str(supervisor_id), str(new.id), None, {"email": "new.agent@bank.example", "role": "agent", "name": "Bo Chen"})
    ]
    # The link works, and the list shows it no more.
    assert app.test_client().get(f"/care/enrol/{token}").status_code == 200
    page = client.get("/admin/staff/").get_data(as_text=True)
    assert token not in page and "Waiting for enrolment" in page and "new.agent@bank.example" in page


@pytest.mark.parametrize("role", ["supervisor", "policy_admin", "auditor", "staff_admin"])
def test_a_supervisor_cannot_add_anyone_but_agents(app, client, query, role):
    signed_in_staff(app, client, Role.SUPERVISOR)
    response = create(client, "someone@bank.example", role)
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    assert query(select(StaffUser).where(StaffUser.email == "someone@bank.example")) == []


def test_a_staff_admin_adds_any_role(app, client, query):
    signed_in_staff(app, client, Role.STAFF_ADMIN)
    for n, role in enumerate(Role):
        assert create(client, f"p{n}@bank.example", role.value).status_code == 201
        assert user(query, f"p{n}@bank.example").role == role.value


@pytest.mark.parametrize("role", [Role.AGENT, Role.POLICY_ADMIN, Role.AUDITOR])
def test_other_roles_cannot_open_staff_management(app, client, query, role):
    signed_in_staff(app, client, role)
    target, email, *_ = make_staff(app, Role.AGENT)
    assert client.get("/admin/staff/").status_code == 403
    assert create(client, "x@bank.example", "agent").status_code == 403
    for action in ("disable", "reset"):
        assert post(client, f"/admin/staff/{target}/{action}").status_code == 403
    assert post(client, f"/admin/staff/{target}/role", **{f"s{target}-role": "supervisor"}).status_code == 403
    found = user(query, email)
    assert (found.role, found.active, found.enrolled) == ("agent", True, True)


def test_bad_input_is_a_clear_422_and_changes_nothing(app, client, query):
    signed_in_staff(app, client, Role.STAFF_ADMIN)
    taken = make_staff(app, Role.AGENT)[1]
    for email, message in [
        ("not-an-email", "Enter a work e-mail address"),
        (taken, "already has this e-mail"),
        ("", "Enter their work e-mail address"),
        ("a\x00b@bank.example", None),
    ]:
        response = create(client, email, "agent")
        assert response.status_code in (400, 422), email
        if message:
            assert message in response.get_data(as_text=True)
    assert len(query(select(StaffUser))) == 2
    assert post(client, "/admin/staff/99999/disable").status_code == 404
    assert post(client, f"/admin/staff/{make_staff(app, Role.AGENT)[0]}/role", s1_role="emperor").status_code == 302


def test_a_supervisor_disables_and_enables_an_agent_whose_sessions_end(app, client, query):
    supervisor_id, *_ = signed_in_staff(app, client, Role.SUPERVISOR)
    agent_id, email, password, secret = make_staff(app, Role.AGENT, name="Ada Agent")
    desk = app.test_client()
    StaffAuth(desk).sign_in(email, password, secret)
    assert desk.get("/care/").status_code == 200
    response = post(client, f"/admin/staff/{agent_id}/disable")
    assert response.status_code == 302
    assert "Ada Agent can no longer sign in" in client.get("/admin/staff/").get_data(as_text=True)
    assert desk.get("/care/").status_code == 302  # signed out at once
    assert post(client, f"/admin/staff/{agent_id}/enable").status_code == 302
    assert user(query, email).active is True
    assert audit(query, "staff.deactivated") == [
        (str(supervisor_id), str(agent_id), {"active": True}, {"active": False})
    ]
    assert audit(query, "staff.activated") == [(str(supervisor_id), str(agent_id), {"active": False}, {"active": True})]


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.POLICY_ADMIN, Role.AUDITOR, Role.STAFF_ADMIN])
def test_a_supervisor_cannot_touch_anyone_but_agents(app, client, query, role):
    signed_in_staff(app, client, Role.SUPERVISOR)
    other, email, *_ = make_staff(app, role)
    page = client.get("/admin/staff/").get_data(as_text=True)
    row = re.search(rf'<tr id="staff-{other}".*?</tr>', page, re.S).group(0)
    assert "Managed by a staff admin" in row and "<form" not in row
    for action in ("disable", "reset"):
        post(client, f"/admin/staff/{other}/{action}")
    post(client, f"/admin/staff/{other}/role", **{f"s{other}-role": "agent"})
    assert "Your role cannot make this change" in client.get("/admin/staff/").get_data(as_text=True)
    found = user(query, email)
    assert (found.role, found.active, found.enrolled) == (role.value, True, True)
    assert audit(query, "staff.role_changed") == [] and audit(query, "staff.deactivated") == []


def test_a_staff_admin_changes_a_role_which_applies_from_the_next_page(app, client, query):
    admin_id, *_ = signed_in_staff(app, client, Role.STAFF_ADMIN)
    agent_id, email, password, secret = make_staff(app, Role.AGENT, name="Ada Agent")
    desk = app.test_client()
    StaffAuth(desk).sign_in(email, password, secret)
    assert desk.get("/care/approvals").status_code == 403
    response = post(client, f"/admin/staff/{agent_id}/role", **{f"s{agent_id}-role": "supervisor"})
    assert response.status_code == 302
    assert "Ada Agent is now: Supervisor." in client.get("/admin/staff/").get_data(as_text=True)
    assert desk.get("/care/approvals").status_code == 200
    assert audit(query, "staff.role_changed") == [
        (str(admin_id), str(agent_id), {"role": "agent"}, {"role": "supervisor"})
    ]


def test_resetting_the_authenticator_gives_a_new_link_and_ends_the_old_sign_in(app, client, query):
    supervisor_id, *_ = signed_in_staff(app, client, Role.SUPERVISOR)
    agent_id, email, password, secret = make_staff(app, Role.AGENT, name="Ada Agent")
    desk = app.test_client()
    StaffAuth(desk).sign_in(email, password, secret)
    response = post(client, f"/admin/staff/{agent_id}/reset")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Ada Agent must set up their sign-in again" in html
    _url, token = LINK.search(html).groups()
    assert app.test_client().get(f"/care/enrol/{token}").status_code == 200
    assert desk.get("/care/").status_code == 302
    assert StaffAuth(app.test_client()).post(email, password, "123456").status_code == 422
    assert user(query, email).enrolled is False
    assert audit(query, "staff.enrolment_reissued") == [(str(supervisor_id), str(agent_id), None, None)]


@pytest.mark.parametrize("action", ["disable", "reset", "role"])
def test_nobody_changes_their_own_account(app, client, query, action):
    admin_id, email, *_ = signed_in_staff(app, client, Role.STAFF_ADMIN)
    make_staff(app, Role.STAFF_ADMIN)  # not the last admin: the refusal is about oneself
    post(client, f"/admin/staff/{admin_id}/{action}", **{f"s{admin_id}-role": "agent"})
    assert "You cannot change your own account" in client.get("/admin/staff/").get_data(as_text=True)
    me = user(query, email)
    assert (me.role, me.active, me.enrolled) == ("staff_admin", True, True)


def test_the_last_active_staff_admin_stays(app, client, query):
    signed_in_staff(app, client, Role.STAFF_ADMIN)
    other_id, other, *_ = make_staff(app, Role.STAFF_ADMIN)
    # Two admins: one may disable the other ...
    assert post(client, f"/admin/staff/{other_id}/disable").status_code == 302
    assert user(query, other).active is False
    # ... and the command line cannot then remove the last one.
    runner = app.test_cli_runner()
    last = query.one(select(StaffUser.email).where(StaffUser.active.is_(True)))
    for args in (["deactivate", "--email", last], ["role", "--email", last, "--role", "auditor"]):
        result = runner.invoke(args=["portal", "staff", *args])
        assert result.exit_code == 1 and "last active staff admin" in result.output
    found = user(query, last)
    assert (found.role, found.active) == ("staff_admin", True)


def test_the_command_line_uses_the_same_audited_service(app, query):
    _id, email, *_ = make_staff(app, Role.AGENT)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "staff", "role", "--email", email, "--role", "supervisor"])
    assert result.exit_code == 0 and "is now supervisor" in result.output
    result = runner.invoke(args=["portal", "staff", "create", "--email", "cli@bank.example", "--role", "staff_admin"])
    assert result.exit_code == 0 and "/care/enrol/" in result.output
    changed = query.one(select(AuditEvent).where(AuditEvent.action == "staff.role_changed"))
    assert (changed.actor_type, changed.actor_id, changed.after) == ("system", "cli", {"role": "supervisor"})
    assert user(query, "cli@bank.example").role == "staff_admin"


def test_a_staff_admin_lands_on_staff_management(app, client):
    _id, email, password, secret = make_staff(app, Role.STAFF_ADMIN)
    response = StaffAuth(client).sign_in(email, password, secret)
    assert response.headers["Location"].endswith("/admin/staff/")
    html = client.get("/admin/staff/").get_data(as_text=True)
    nav = re.search(r'<nav class="sidenav".*?</nav>', html, re.S).group(0)
    assert "Staff" in nav and "/care/" not in nav and "/admin/policies" not in nav
