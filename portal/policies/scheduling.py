"""Scheduled policy versions take effect at their time without anyone acting, and without
any request writing.

The scheduler runs ``flask --app wsgi portal policy activate-due`` (every minute, see the
README): it marks each due version active and retires the one before it, at the version's
own time, with the audit events. Between its runs nothing is stale: every worker's policy
cache (portal.policies.cache) knows the scheduled versions and the earliest time one takes
effect, and from that time on readers take the due version as the one in effect, from
memory. So no request runs a query or a commit for activation: a read-only page stays
read-only, and an acceptance never activates a version inside its own transaction. The
time is learnt when a worker first reads the policies and again whenever a version is
approved or scheduled (at once in the process that did it, within
``POLICY_CACHE_SECONDS`` elsewhere).
"""

from __future__ import annotations

from flask import Flask

from portal.policies import cache


def init_app(app: Flask) -> None:
    cache.init_app(app)
