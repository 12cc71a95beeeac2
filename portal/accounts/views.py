"""The signed-in cardholder's own account. There is no way to name another one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template
from flask_login import current_user

from portal.accounts.models import CardAccount
from portal.accounts.service import balance_lines, stage_for
from portal.auth import account_loads, cardholder_required
from portal.db_types import utcnow
from portal.plans.models import OPEN_STATES
from portal.plans.progress import latest_plan, plan_progress

bp = Blueprint("accounts", __name__)


# The rows the page shows, fetched with the account (portal.auth; portal.accounts.overview);
# of its plan, only whether there is one: its installments and agreement are read when there is.
OVERVIEW_LOADS = (CardAccount.overview, CardAccount.recent_payments)


@bp.route("/account")
@cardholder_required
@account_loads(*OVERVIEW_LOADS)
def overview() -> str:
    account = current_user.account
    overview = account.overview
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    found = latest_plan(account.id) if overview.shown_plan_id is not None else None
    progress = plan_progress(found[0], today, found[1]) if found else None
    plan_open = progress is not None and progress.state in OPEN_STATES
    return render_template(
        "accounts/overview.html",
        account=account,
        holder_name=overview.holder_name,
        stage=stage_for(account.days_past_due),
        lines=balance_lines(account),
        payments=account.recent_payments,
        today=today,
        now=utcnow(),
        progress=progress,
        plan_open=plan_open,
        promise=None if plan_open or overview.promise_amount is None else overview,
    )


@bp.route("/accounts/<int:account_id>")
@cardholder_required
@account_loads(*OVERVIEW_LOADS)
def by_id(account_id: int) -> str:
    # A cardholder is bound to one account; any other id is "not found", never a hint.
    if account_id != current_user.account.id:
        abort(404)
    return overview()
