"""The signed-in cardholder's own account. There is no way to name another one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template
from flask_login import current_user

from portal.accounts.service import balance_lines, plan_progress, recent_payments, stage_for
from portal.auth import cardholder_required
from portal.cases.service import open_promise
from portal.db_types import utcnow
from portal.plans.service import open_plan

bp = Blueprint("accounts", __name__)


@bp.route("/account")
@cardholder_required
def overview() -> str:
    account = current_user.account
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    plan = open_plan(account.id)
    return render_template(
        "accounts/overview.html",
        account=account,
        holder=account.cardholder,
        stage=stage_for(account.days_past_due),
        lines=balance_lines(account),
        payments=recent_payments(account.id),
        today=today,
        now=utcnow(),
        progress=plan_progress(plan) if plan is not None else None,
        promise=None if plan is not None else open_promise(account.id),
    )


@bp.route("/accounts/<int:account_id>")
@cardholder_required
def by_id(account_id: int) -> str:
    # A cardholder is bound to one account; any other id is "not found", never a hint.
    if account_id != current_user.account.id:
        abort(404)
    return overview()
