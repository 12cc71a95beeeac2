"""Which policy version is active, and its parsed policy, without a query per request.

Two caches per app (one per database), both in process memory:

* Parsed policies, keyed by version id. A version's document never changes once it is
  submitted, so its ``OfferPolicy`` (frozen dataclasses, tuples and frozensets all the
  way down) is parsed once and shared by every request. Only versions in a state that
  can no longer change are cached; a draft is parsed afresh each time. The entry keeps a
  copy of the document it was parsed from and is used only for an equal document, so a
  reused id (tests empty the tables) can never serve another version's policy.
* What is known about the versions: the active version of each currency, the scheduled
  ones with their times, and so the earliest time a scheduled version takes effect
  (``next_activation``). It is read from the database when unknown and again after
  ``POLICY_CACHE_SECONDS`` (5 by default), so a version approved or activated by another
  worker or node is seen within that time. This process forgets it at once when it
  changes a version itself: every flush that writes a ``PolicyVersion`` marks the
  transaction, reads in that transaction (or with a changed version not yet flushed) see
  its own changes straight from the session, and its commit or rollback drops what is
  known.

So an ordinary request reads no policy table and writes none. Once ``now`` passes
``next_activation``, readers take the scheduled version that is due as the one in effect,
from memory, before the scheduler (``portal policy activate-due``) has marked it active:
a page never shows a policy past its time, and no request commits an activation.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.db_types import utcnow
from portal.domain.policy import OfferPolicy
from portal.extensions import db
from portal.policies.models import PolicyState, PolicyVersion

# States whose document can no longer be edited (a pending version is withdrawn to draft
# before any change, so it is not one of them).
SETTLED_STATES = frozenset(
    {PolicyState.SCHEDULED, PolicyState.ACTIVE, PolicyState.RETIRED, PolicyState.REJECTED, PolicyState.CHALLENGER}
)
PARSED_LIMIT = 256  # versions kept parsed; a deployment has far fewer in use
_CHANGED = "policy_versions_changed"  # Session.info key: this transaction wrote a version


@dataclass(frozen=True, slots=True)
class ActiveVersion:
    """The active version of one currency's policy, as readers need it: immutable, and
    no database row behind it (``id`` and ``number`` are the stored version's)."""

    id: int
    number: int
    currency: str
    policy: OfferPolicy


@dataclass(frozen=True)
class _Known:
    active: MappingProxyType[str, tuple[datetime | None, ActiveVersion]]  # with its effective time
    # Scheduled versions of each currency, earliest first, with the time each takes effect.
    scheduled: MappingProxyType[str, tuple[tuple[datetime, ActiveVersion], ...]]
    next_activation: datetime | None
    read_at: float  # time.monotonic()
    # Challenger versions by id (portal.experiments): only the accounts of a currency that
    # has one look up an experiment arm (portal.experiments.assignment).
    challengers: MappingProxyType[int, ActiveVersion] = field(default_factory=lambda: MappingProxyType({}))

    def in_effect(self, currency: str, now: datetime) -> ActiveVersion | None:
        """The version of ``currency`` in effect at ``now``: the latest scheduled one whose
        time has come (the scheduler may not have activated it yet) unless the active one
        took effect after it, else the active one."""
        active = self.active.get(currency)
        if self.next_activation is None or now < self.next_activation:
            return active[1] if active else None
        due = [(at, version) for at, version in self.scheduled.get(currency, ()) if at <= now]
        if due and (active is None or active[0] is None or due[-1][0] >= active[0]):
            return due[-1][1]
        return active[1] if active else None


@dataclass
class PolicyCache:
    ttl: float
    _known: _Known | None = None
    _parsed: dict[int, tuple[dict[str, Any], OfferPolicy]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- parsed policies ---------------------------------------------------------------

    def parsed(self, version_id: int, document: dict[str, Any]) -> OfferPolicy:
        """The policy ``document`` holds, parsed once per settled version."""
        entry = self._parsed.get(version_id)
        if entry is not None and entry[0] == document:
            return entry[1]
        policy = OfferPolicy.from_dict(document)
        with self._lock:  # the development server runs requests in threads
            if len(self._parsed) >= PARSED_LIMIT:
                self._parsed.pop(next(iter(self._parsed)))
            # A copy: a caller changing the row's dict in place must not change what we compare with.
            self._parsed[version_id] = (copy.deepcopy(document), policy)
        return policy

    # --- what is active, and when the next version takes effect -------------------------

    def active(self, currency: str, now: datetime | None = None) -> ActiveVersion | None:
        """The version of ``currency`` in effect at ``now`` (default: the portal clock's
        now), or None when it has none."""
        now = now or utcnow()
        if _changed_here():  # this transaction's own, uncommitted view
            return self._read().in_effect(currency, now)
        return self._current().in_effect(currency, now)

    def challengers(self, currency: str) -> dict[int, ActiveVersion]:
        """The challenger policy versions of ``currency`` by id (no query when known)."""
        known = self._read() if _changed_here() else self._current()
        return {id_: version for id_, version in known.challengers.items() if version.currency == currency}

    def forget(self) -> None:
        """Drop what is known about the versions; the next reader asks the database."""
        self._known = None

    def clear(self) -> None:
        """Forget everything, parsed policies included (tests that empty the tables)."""
        self._known = None
        with self._lock:
            self._parsed.clear()

    def _current(self) -> _Known:
        known = self._known
        if known is None or time.monotonic() - known.read_at >= self.ttl:
            known = self._read()
            if not _changed_here():  # the read's autoflush may have written a version: not for others
                self._known = known
        return known

    def _read(self) -> _Known:
        states = (PolicyState.ACTIVE, PolicyState.SCHEDULED, PolicyState.CHALLENGER)
        query = (
            select(PolicyVersion)
            .where(PolicyVersion.state.in_(states))
            .order_by(PolicyVersion.effective_from, PolicyVersion.id)
        )
        active: dict[str, tuple[datetime | None, ActiveVersion]] = {}
        scheduled: dict[str, list[tuple[datetime, ActiveVersion]]] = {}
        challengers: dict[int, ActiveVersion] = {}
        for version in db.session.execute(query).scalars():
            if version.state == PolicyState.CHALLENGER:
                challengers[version.id] = self._snapshot(version)
            elif version.state == PolicyState.ACTIVE:
                active[version.currency] = (version.effective_from, self._snapshot(version))
            elif version.effective_from is not None:
                scheduled.setdefault(version.currency, []).append((version.effective_from, self._snapshot(version)))
        times = [at for versions in scheduled.values() for at, _ in versions]
        return _Known(
            MappingProxyType(active),
            MappingProxyType({currency: tuple(versions) for currency, versions in scheduled.items()}),
            min(times, default=None),
            time.monotonic(),
            MappingProxyType(challengers),
        )

    def _snapshot(self, version: PolicyVersion) -> ActiveVersion:
        return ActiveVersion(version.id, version.number, version.currency, self.parsed(version.id, version.document))


def policy_cache() -> PolicyCache:
    """The current app's cache."""
    cache: PolicyCache = current_app.extensions["policy_cache"]
    return cache


def load_policy(version: PolicyVersion | ActiveVersion) -> OfferPolicy:
    """The domain policy a version holds: cached for a settled version, parsed afresh for
    a draft or pending one (its document may still change)."""
    if isinstance(version, ActiveVersion):
        return version.policy
    if version.state in SETTLED_STATES and version.id is not None:
        return policy_cache().parsed(version.id, version.document)
    return OfferPolicy.from_dict(version.document)


def _changed_here() -> bool:
    """Whether this transaction wrote a version, or holds one changed and not yet flushed."""
    session = db.session
    if session.info.get(_CHANGED):
        return True
    pending = (*session.new, *session.dirty, *session.deleted)
    return any(isinstance(o, PolicyVersion) for o in pending)


def init_app(app: Flask) -> None:
    app.extensions["policy_cache"] = PolicyCache(ttl=app.config["POLICY_CACHE_SECONDS"])


def _forget() -> None:
    cache = current_app.extensions.get("policy_cache")
    if cache is not None:
        cache.forget()


def _mark_written(session: Session, _flush_context: object) -> None:
    written = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, PolicyVersion) for o in written):
        session.info[_CHANGED] = True
        _forget()  # other requests of this process: ask the database again


def _transaction_ended(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        _forget()  # committed or rolled back: only the database knows now


event.listen(db.session, "after_flush", _mark_written)
event.listen(db.session, "after_commit", _transaction_ended)
event.listen(db.session, "after_rollback", _transaction_ended)
