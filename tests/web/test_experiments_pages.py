"""The /admin/experiments pages over HTTP: roles, CSRF, maker-checker, bad input, results."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.audit.service import SYSTEM, Actor
from portal.experiments.models import Experiment
from portal.extensions import db
from portal.policies import workflow
from portal.policies.cache import load_policy
from portal.policies.models import PolicyVersion
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from portal.unit_of_work import unit_of_work
from tests.conftest import csrf_token
from tests.staff_helpers import signed_in_staff
from tests.web.test_policy_admin import page_form

INDEX = "/admin/experiments/"


def _challenger(app, author_id: int) -> int:
    """A submitted CNY version with a shorter cool-down, by ``author_id``; its number."""
    from dataclasses import replace

    author = Actor("staff", str(author_id))
    with app.app_context():
        with unit_of_work():
            ensure_default_policy(SYSTEM, ("CNY",))
        with unit_of_work():
            draft = workflow.create_draft(author, "CNY")
            workflow.save_draft(draft.number, replace(load_policy(draft), cooldown_days=60), author)
            workflow.submit(draft.number, author, "challenger")
            return draft.number


def _design(client, number: int, **changes: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf_token(client.get(INDEX).data),
        "name": "Shorter cool-down",
        "currency": "CNY",
        "challenger": str(number),
        "share": "0.10",
        "primary_metric": "plan_accepted",
        "guard_broken": "y",
        "baseline_rate": "0.20",
        "mde": "0.05",
        "alpha": "0.05",
        "power": "0.8",
    }
    data.update(changes)
    return data


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(Experiment)).scalar() or 0


def test_a_policy_admin_proposes_and_another_starts_it(app):
    maker, checker = app.test_client(), app.test_client()
    maker_id = signed_in_staff(app, maker, Role.POLICY_ADMIN, "maker@example.com")[0]
    signed_in_staff(app, checker, Role.POLICY_ADMIN, "checker@example.com")
    number = _challenger(app, maker_id)

    page = maker.get(INDEX)
    assert page.status_code == 200 and b"Propose an experiment" in page.data
    created = maker.post(INDEX + "new", data=_design(maker, number))
    assert created.status_code == 302
    url = created.headers["Location"]
    shown = maker.get(url).get_data(as_text=True)
    assert "Accounts the design needs" in shown and "You made this proposal" in shown
    assert f'/admin/policies/diff?a=1&amp;b={number}&amp;changes=1">What it changes' in shown
    with app.app_context():
        experiment = db.session.execute(select(Experiment)).scalar_one()
        assert experiment.state == "pending" and f"{experiment.planned_n:,}" in shown

    # The maker sees no approval form; posting one anyway is refused.
    form = page_form(checker, url, url + "/approve")
    refused = maker.post(url + "/approve", data={**form, "csrf_token": csrf_token(maker.get(url).data)})
    assert refused.status_code == 403
    approved = checker.post(url + "/approve", data=form)
    assert approved.status_code == 302
    with app.app_context():
        experiment = db.session.execute(select(Experiment)).scalar_one()
        assert experiment.state == "running"
        assert db.session.execute(select(PolicyVersion.state).where(PolicyVersion.number == number)).scalar() == (
            "challenger"
        )
    running = checker.get(url).get_data(as_text=True)
    assert "Not yet: the planned sample has not been reached." in running
    assert "No account has been assigned yet" in running


def test_bad_input_is_a_400_with_a_message_and_writes_nothing(app):
    maker = app.test_client()
    maker_id = signed_in_staff(app, maker, Role.POLICY_ADMIN)[0]
    number = _challenger(app, maker_id)
    response = maker.post(INDEX + "new", data=_design(maker, number, share="ten"))
    assert response.status_code == 400 and b"Please check what you entered" in response.data
    response = maker.post(INDEX + "new", data=_design(maker, number, challenger="99999"))
    assert response.status_code == 400 and b"submitted for approval" in response.data
    response = maker.post(INDEX + "new", data=_design(maker, number, baseline_rate="0.99", mde="0.5"))
    assert response.status_code == 400
    with app.app_context():
        assert _count() == 0


def test_posts_need_the_csrf_token(app):
    maker = app.test_client()
    maker_id = signed_in_staff(app, maker, Role.POLICY_ADMIN)[0]
    data = _design(maker, _challenger(app, maker_id))
    del data["csrf_token"]
    assert maker.post(INDEX + "new", data=data).status_code == 400
    with app.app_context():
        assert _count() == 0


def test_auditors_read_and_cannot_propose_agents_cannot_open(app):
    auditor, agent = app.test_client(), app.test_client()
    signed_in_staff(app, auditor, Role.AUDITOR, "auditor@example.com")
    signed_in_staff(app, agent, Role.AGENT, "agent@example.com")
    page = auditor.get(INDEX)
    assert page.status_code == 200 and b"Propose an experiment" not in page.data
    assert auditor.post(INDEX + "new", data={"csrf_token": csrf_token(page.data)}).status_code == 403
    assert agent.get(INDEX).status_code == 403


def test_an_unknown_experiment_is_404(app):
    admin = app.test_client()
    signed_in_staff(app, admin, Role.POLICY_ADMIN)
    assert admin.get(INDEX + "4242").status_code == 404


def test_a_running_experiment_is_stopped_by_proposal_and_approval(app):
    maker, checker = app.test_client(), app.test_client()
    maker_id = signed_in_staff(app, maker, Role.POLICY_ADMIN, "maker@example.com")[0]
    signed_in_staff(app, checker, Role.POLICY_ADMIN, "checker@example.com")
    url = maker.post(INDEX + "new", data=_design(maker, _challenger(app, maker_id))).headers["Location"]
    assert checker.post(url + "/approve", data=page_form(checker, url, url + "/approve")).status_code == 302

    form = page_form(checker, url, url + "/propose")
    assert checker.post(url + "/propose", data={**form, "action": "no-such-thing"}).status_code == 400
    assert checker.post(url + "/propose", data={**form, "action": "stop"}).status_code == 302
    assert "Waiting for approval: Stop" in maker.get(url).get_data(as_text=True)
    assert maker.post(url + "/approve", data=page_form(maker, url, url + "/approve")).status_code == 302
    with app.app_context():
        assert db.session.execute(select(Experiment.state)).scalar_one() == "stopped"
