"""The signed-in cardholder's own account. There is no way to name another one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template
from flask_login import current_user

from portal.accounts.service import balance_lines, recent_payments, stage_for
from portal.auth import cardholder_required
from portal.cases.service import open_promise
from portal.db_types import utcnow
from portal.plans.models import OPEN_STATES
from portal.plans.progress import latest_plan, plan_progress

bp = Blueprint("accounts", __name__)


@bp.route("/account")
@cardholder_required
def overview() -> str:
    account = current_user.account
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    found = latest_plan(account.id)
    progress = plan_progress(found[0], today, found[1]) if found else None
    plan_open = progress is not None and progress.state in OPEN_STATES
    return render_template(
        "accounts/overview.html",
        account=account,
        holder=account.cardholder,
        stage=stage_for(account.days_past_due),
        lines=balance_lines(account),
        payments=recent_payments(account.id),
        today=today,
        now=utcnow(),
        progress=progress,
        plan_open=plan_open,
        promise=None if plan_open else open_promise(account.id),
    )


@bp.route("/accounts/<int:account_id>")
@cardholder_required
def by_id(account_id: int) -> str:
    # A cardholder is bound to one account; any other id is "not found", never a hint.
    if account_id != current_user.account.id:
        abort(404)
    return overview()
