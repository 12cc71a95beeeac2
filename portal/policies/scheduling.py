"""Scheduled policy versions take effect at their date without anyone acting.

Each request first activates any version whose time has come and commits that on its
own, before the request does anything else: a read-only page would otherwise roll the
activation back, and activating later, inside another transaction (say an acceptance
holding an account lock), would commit that transaction's work half-way.
"""

from __future__ import annotations

from flask import Flask, request

from portal.db_types import utcnow
from portal.extensions import db
from portal.policies.workflow import activate_due_versions


def init_app(app: Flask) -> None:
    @app.before_request
    def activate_due_policies() -> None:
        if request.endpoint == "static":
            return
        if activate_due_versions(utcnow()):
            db.session.commit()
        else:
            db.session.rollback()  # end the read-only look-up's transaction
