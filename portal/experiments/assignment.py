"""Which policy version an account's offers come from: the hook into ``portal.offers``.

:func:`policy_for_account` is the one function the offers code calls. Without a running
experiment in the account's currency it is the active version, with no query beyond the
policy cache's. With one, the account is assigned at its first exposure (offers viewed,
a plan link sent) to the arm a keyed hash picks (``design.arm_position``), the assignment
is stored (unique per experiment and account) and audited, and never changes while the
experiment runs.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record
from portal.db_types import utcnow
from portal.experiments.design import arm_position
from portal.experiments.models import Experiment, ExperimentArm, ExperimentAssignment, ExperimentState, Exposure
from portal.extensions import db
from portal.policies.cache import ActiveVersion, policy_cache
from portal.policies.service import active_version

_ASSIGNED = (
    select(ExperimentArm.policy_version_id)
    .join(ExperimentAssignment, ExperimentAssignment.arm_id == ExperimentArm.id)
    .join(Experiment, Experiment.id == ExperimentAssignment.experiment_id)
)


def assignment_key() -> bytes:
    """The HMAC key: the card-number hash key, a secret that is never rotated lightly
    (rotating it would orphan every card look-up), so assignments stay reproducible."""
    return str(current_app.config["CARD_HASH_KEY"]).encode()


def running_experiment(currency: str) -> Experiment | None:
    query = select(Experiment).where(Experiment.currency == currency, Experiment.state == ExperimentState.RUNNING)
    return db.session.execute(query).scalar_one_or_none()


def policy_for_account(account: CardAccount, exposure: Exposure | None = Exposure.OFFERS_VIEWED) -> ActiveVersion:
    """The policy version ``account``'s offers come from: its experiment arm's, or the
    active one. ``exposure`` None: a look by staff, which assigns nothing. Raises
    ``NoActivePolicy`` when the currency has no active version."""
    champion = active_version(account.currency)
    challengers = policy_cache().challengers(account.currency)
    if not challengers:
        return champion
    query = _ASSIGNED.where(
        Experiment.currency == account.currency,
        Experiment.state == ExperimentState.RUNNING,
        ExperimentAssignment.account_id == account.id,
    )
    version_id = db.session.execute(query).scalar_one_or_none()
    if version_id is None:
        version_id = _assign(account, exposure, champion) if exposure is not None else _arm_of(account, champion)
    return challengers.get(version_id, champion) if version_id is not None else champion


def _picked(account: CardAccount, champion: ActiveVersion) -> tuple[Experiment, ExperimentArm] | None:
    """The running experiment and the arm the keyed hash gives ``account`` (None when no
    experiment runs, or its champion is no longer the active version)."""
    experiment = running_experiment(account.currency)
    if experiment is None or not experiment.arms or experiment.arms[0].policy_version_id != champion.id:
        return None
    arms = experiment.arms
    return experiment, arms[arm_position(assignment_key(), experiment.id, account.id, [a.share for a in arms])]


def _arm_of(account: CardAccount, champion: ActiveVersion) -> int | None:
    """The policy version id of the arm ``account`` would be assigned, without assigning it."""
    picked = _picked(account, champion)
    return picked[1].policy_version_id if picked else None


def _assign(account: CardAccount, exposure: Exposure, champion: ActiveVersion) -> int | None:
    """Store the account's arm in the running experiment (if its champion is still the
    active version); return the arm's policy version id."""
    picked = _picked(account, champion)
    if picked is None:
        return None
    experiment, arm = picked
    now = utcnow()
    values = {
        "experiment_id": experiment.id,
        "account_id": account.id,
        "arm_id": arm.id,
        "exposure": exposure.value,
        "assigned_at": now,
    }
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # A concurrent first exposure of the same account inserts the same row: one wins.
    statement = (
        insert(ExperimentAssignment).values(**values).on_conflict_do_nothing().returning(ExperimentAssignment.id)
    )
    if db.session.execute(statement).scalar_one_or_none() is not None:
        record(
            SYSTEM,
            Action.Experiment.ASSIGNED,
            ("experiment", experiment.id),
            after={
                "account_id": account.id,
                "arm": arm.position,
                "version_id": arm.policy_version_id,
                "exposure": exposure.value,
            },
            at=now,
        )
    return arm.policy_version_id
