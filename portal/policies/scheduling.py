"""Scheduled policy versions take effect at their time without anyone acting.

The scheduler runs ``flask --app wsgi portal policy activate-due``; between its runs, the
first request after a version's time activates it. That request checks only the time this
worker already knows (``PolicyCache.next_activation``), so an ordinary request reads no
policy table. When the time has come, it activates and commits on its own, before the
request does anything else: a read-only page would otherwise roll the activation back, and
activating later, inside another transaction (say an acceptance holding an account lock),
would commit that transaction's work half-way. Readers that find a due version before any
request did (a CLI command, a version scheduled on another node within the cache's
lifetime) activate it in their own transaction (``policies.service.active_version``).
"""

from __future__ import annotations

from flask import Flask, request

from portal.db_types import utcnow
from portal.extensions import db
from portal.policies import cache
from portal.policies.workflow import activate_due_versions
from portal.unit_of_work import unit_of_work


def init_app(app: Flask) -> None:
    cache.init_app(app)
    policy_cache = app.extensions["policy_cache"]

    @app.before_request
    def activate_due_policies() -> None:
        if request.endpoint == "static":
            return
        now = utcnow()
        # Memory only, once this worker knows the versions: they are read at its first
        # request and after it changed a version itself, not again when merely stale.
        read = not policy_cache.knows()
        if not policy_cache.activation_due(now, refresh=read):
            if read:
                db.session.rollback()  # end the look-up's transaction
            return
        with unit_of_work():  # its own unit, before the request's: see the module's docstring
            activated = activate_due_versions(now)
        if not activated:  # another worker or the scheduler was first: learn the next time afresh
            policy_cache.forget()
