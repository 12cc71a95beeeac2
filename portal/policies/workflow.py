"""Changing the offer policy: draft → pending → (scheduled →) active → retired, or rejected.

One policy admin drafts and submits; a different one approves or rejects (maker-checker,
checked here and by a CHECK constraint). Approval takes effect at once or at a future
instant; a scheduled version takes effect for every reader when its time comes and is
marked active by the scheduler (:func:`activate_due_versions`, called by
``flask --app wsgi portal policy activate-due`` and by the policy pages before they show
states, see policies.scheduling). Each currency has one line of versions and exactly one
active version.

Every function writes its audit event(s) in the same transaction as the change and
flushes; the request (or CLI command) commits once (``portal.unit_of_work``). Every writer takes
the audit-chain lock first, then the version rows, so concurrent writers never deadlock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from portal.audit.actions import Action
from portal.audit.service import SYSTEM, Actor, record
from portal.db_types import utcnow
from portal.domain.default_policy import default_policy
from portal.domain.money import is_known_currency
from portal.domain.policy import OfferPolicy
from portal.domain.policy_validation import PolicyProblem, validate_policy
from portal.extensions import db
from portal.locks import transaction_lock
from portal.policies.cache import load_policy
from portal.policies.diff import ABSENT, changed_paths
from portal.policies.models import PolicyState, PolicyVersion, current_document


class PolicyError(Exception):
    """A transition that may not happen; ``code`` is for the view to translate.

    Codes: not_found, not_draft, not_pending, not_author, own_draft, comment_required,
    effective_in_past, currency_mismatch, unknown_currency, invalid, changed_since_review,
    experiment_running.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class InvalidPolicyError(PolicyError):
    """The document has problems (``validate_policy``); nothing was written."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("invalid")
        self.problems = problems


def _lock(query: Any) -> Any:
    return query.with_for_update() if db.session.get_bind().dialect.name == "postgresql" else query


def get_version(number: int, *, for_update: bool = False) -> PolicyVersion:
    query = select(PolicyVersion).where(PolicyVersion.number == number)
    found = db.session.execute(_lock(query) if for_update else query).scalar_one_or_none()
    if found is None:
        raise PolicyError("not_found")
    return found


def active_or_none(currency: str, *, for_update: bool = False) -> PolicyVersion | None:
    """The active version of ``currency`` as stored (no lazy activation), or None."""
    query = select(PolicyVersion).where(PolicyVersion.state == PolicyState.ACTIVE, PolicyVersion.currency == currency)
    return db.session.execute(_lock(query) if for_update else query).scalar_one_or_none()


def _obj(version: PolicyVersion) -> tuple[str, int]:
    return ("policy_version", version.id)


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


# --- drafting -------------------------------------------------------------------------


def _one_at_a_time(what: str) -> None:
    """Serialise a read-then-write on ``what`` until the transaction ends. Row locks
    cannot: a draft's number is the largest so far plus one, and activating reads which
    version is active, a row another transaction may be replacing; either race would end
    in a unique-index error."""
    transaction_lock(f"policy:{what}")


def create_draft(actor: Actor, currency: str, based_on: int | None = None) -> PolicyVersion:
    """A new draft copying version ``based_on`` (default: the currency's active version,
    or the built-in default policy when the currency has none yet)."""
    if not is_known_currency(currency):
        raise PolicyError("unknown_currency")
    _one_at_a_time("numbering")
    activate_due_versions(utcnow())
    base = get_version(based_on) if based_on is not None else active_or_none(currency)
    if base is not None and base.currency != currency:
        raise PolicyError("currency_mismatch")
    document = current_document(base) if base is not None else replace(default_policy(), currency=currency).to_dict()
    number = (db.session.execute(select(func.max(PolicyVersion.number))).scalar() or 0) + 1
    now = utcnow()
    version = PolicyVersion(
        number=number,
        currency=currency,
        state=PolicyState.DRAFT,
        document=document,
        author=actor.key,
        based_on_id=base.id if base else None,
        created_at=now,
        updated_at=now,
    )
    db.session.add(version)
    db.session.flush()
    record(
        actor,
        Action.Policy.DRAFT_CREATED,
        _obj(version),
        after={
            "number": number,
            "currency": currency,
            "state": PolicyState.DRAFT,
            "based_on": base.number if base else None,
        },
    )
    db.session.flush()
    return version


def _own_draft(number: int, actor: Actor) -> PolicyVersion:
    version = get_version(number, for_update=True)
    if version.state != PolicyState.DRAFT:
        raise PolicyError("not_draft")
    if version.author != actor.key:
        raise PolicyError("not_author")  # only the maker edits, so the checker sees their work
    return version


def _check(policy: OfferPolicy, version: PolicyVersion) -> None:
    if policy.currency != version.currency:
        raise PolicyError("currency_mismatch")
    problems = validate_policy(policy)
    if problems:
        raise InvalidPolicyError(problems)


def save_draft(number: int, policy: OfferPolicy, actor: Actor) -> PolicyVersion:
    """Store the edited document of the author's own draft, if it is valid.

    Raises InvalidPolicyError (nothing written) when ``validate_policy`` finds problems. The
    audit event holds only the changed paths, old values in ``before``, new in ``after``.
    """
    version = _own_draft(number, actor)
    _check(policy, version)
    document = policy.to_dict()
    changes = changed_paths(current_document(version), document)
    if changes:
        version.document = document
        version.updated_at = utcnow()
        record(
            actor,
            Action.Policy.DRAFT_SAVED,
            _obj(version),
            before={c.path: c.old for c in changes if c.old is not ABSENT},
            after={c.path: c.new for c in changes if c.new is not ABSENT},
        )
    db.session.flush()
    return version


def submit(number: int, actor: Actor, comment: str | None = None) -> PolicyVersion:
    """The author sends their valid draft for approval by another policy admin."""
    version = _own_draft(number, actor)
    _check(load_policy(version), version)
    note = (comment or "").strip() or version.comment
    version.state, version.comment = PolicyState.PENDING, note
    version.submitted_by, version.submitted_at = actor.key, utcnow()
    record(
        actor,
        Action.Policy.SUBMITTED,
        _obj(version),
        before={"state": PolicyState.DRAFT},
        after={"state": PolicyState.PENDING, "comment": note},
    )
    db.session.flush()
    return version


def withdraw(number: int, actor: Actor) -> PolicyVersion:
    """The author takes a pending version back to draft to change it."""
    version = get_version(number, for_update=True)
    if version.state != PolicyState.PENDING:
        raise PolicyError("not_pending")
    if version.author != actor.key:
        raise PolicyError("not_author")
    version.state, version.submitted_by, version.submitted_at = PolicyState.DRAFT, None, None
    record(
        actor,
        Action.Policy.WITHDRAWN,
        _obj(version),
        before={"state": PolicyState.PENDING},
        after={"state": PolicyState.DRAFT},
    )
    db.session.flush()
    return version


# --- deciding -------------------------------------------------------------------------


def review_digest(version: PolicyVersion) -> str:
    """SHA-256 of what a checker reviews: the canonical policy JSON and the submission's
    identity (version, currency, who submitted it and when).

    The review page carries it in the approval form; :func:`approve` refuses a digest that
    no longer matches, so a version withdrawn, changed and resubmitted after the checker
    opened the page is never approved by that page's POST.
    """
    reviewed = {
        "number": version.number,
        "currency": version.currency,
        "document": version.document,
        "submitted_by": version.submitted_by,
        "submitted_at": _iso(version.submitted_at),
    }
    canonical = json.dumps(reviewed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _pending_for_checker(number: int, actor: Actor) -> PolicyVersion:
    version = get_version(number, for_update=True)
    if version.state != PolicyState.PENDING:
        raise PolicyError("not_pending")
    if actor.key in (version.author, version.submitted_by):
        raise PolicyError("own_draft")
    return version


def approve(
    number: int, actor: Actor, reviewed: str, effective_from: datetime | None = None, comment: str | None = None
) -> PolicyVersion:
    """Approve another admin's pending version: active now, or scheduled for a future
    ``effective_from`` (aware). The author can never approve their own version.

    ``reviewed`` is the :func:`review_digest` of the version the checker saw; if the
    content or submission changed since, nothing is written (``changed_since_review``).
    """
    version = _pending_for_checker(number, actor)
    if not hmac.compare_digest(reviewed.encode(), review_digest(version).encode()):
        raise PolicyError("changed_since_review")
    _check(load_policy(version), version)
    if _experiment_running(version.currency):
        # A new champion mid-experiment would mix two policies in one arm; stop the
        # experiment (or promote its challenger) first.
        raise PolicyError("experiment_running")
    now = utcnow()
    if effective_from is not None and effective_from <= now:
        raise PolicyError("effective_in_past")
    version.approver, version.decided_at = actor.key, now
    version.decision_comment = (comment or "").strip() or None
    version.effective_from = effective_from or now
    record(
        actor,
        Action.Policy.APPROVED,
        _obj(version),
        before={"state": PolicyState.PENDING},
        after={
            "state": PolicyState.SCHEDULED if effective_from else PolicyState.ACTIVE,
            "approver": version.approver,
            "effective_from": _iso(version.effective_from),
            "comment": version.decision_comment,
        },
    )
    if effective_from is None:
        # Versions whose time came before this approval (the scheduler may not have run
        # yet) take their turn first: this one replaces the last of them.
        activate_due_versions(now)
        _activate(version, now, actor)
    else:
        version.state = PolicyState.SCHEDULED
    db.session.flush()
    return version


def _experiment_running(currency: str) -> bool:
    from portal.experiments.assignment import running_experiment  # the experiments build on policies

    return running_experiment(currency) is not None


def reject(number: int, actor: Actor, comment: str) -> PolicyVersion:
    """Reject another admin's pending version, saying why (required)."""
    comment = (comment or "").strip()
    if not comment:
        raise PolicyError("comment_required")
    version = _pending_for_checker(number, actor)
    version.state, version.approver, version.decided_at = PolicyState.REJECTED, actor.key, utcnow()
    version.decision_comment = comment
    record(
        actor,
        Action.Policy.REJECTED,
        _obj(version),
        before={"state": PolicyState.PENDING},
        after={"state": PolicyState.REJECTED, "comment": comment},
    )
    db.session.flush()
    return version


# --- activation -----------------------------------------------------------------------


def _activate(version: PolicyVersion, at: datetime, actor: Actor) -> None:
    """Make ``version`` the active one of its currency; retire the previous one ``at``."""
    _one_at_a_time(f"active:{version.currency}")
    previous = active_or_none(version.currency, for_update=True)
    if previous is not None:
        previous.state, previous.retired_at = PolicyState.RETIRED, at
        db.session.flush()  # free the one-active slot before taking it
        record(
            actor,
            Action.Policy.RETIRED,
            _obj(previous),
            before={"state": PolicyState.ACTIVE},
            after={"state": PolicyState.RETIRED, "retired_at": _iso(at), "replaced_by": version.number},
        )
    before = version.state
    version.state = PolicyState.ACTIVE
    db.session.flush()
    record(
        actor,
        Action.Policy.ACTIVATED,
        _obj(version),
        before={"state": before},
        after={
            "state": PolicyState.ACTIVE,
            "effective_from": _iso(version.effective_from),
            "replaces": previous.number if previous else None,
        },
    )


def _due(now: datetime) -> Any:
    return select(PolicyVersion).where(
        PolicyVersion.state == PolicyState.SCHEDULED, PolicyVersion.effective_from <= now
    )


def activate_due_versions(now: datetime) -> list[PolicyVersion]:
    """Activate every scheduled version whose time has come, oldest first, in the
    current transaction. Cheap when nothing is due: one indexed
    look-up on (state, effective_from)."""
    if db.session.execute(_due(now).with_only_columns(PolicyVersion.id).limit(1)).first() is None:
        return []
    due = list(db.session.execute(_lock(_due(now).order_by(PolicyVersion.effective_from, PolicyVersion.id))).scalars())
    for version in due:
        _activate(version, version.effective_from or now, SYSTEM)
    return due
