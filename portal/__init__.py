"""The repayment portal: application factory."""

from __future__ import annotations

from collections.abc import Callable
from inspect import iscoroutinefunction
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

ROOT = Path(__file__).resolve().parent.parent

# Each feature's views module exposes ``bp``. Order matters only for URL conflicts.
BLUEPRINTS = [
    "portal.auth.views",
    "portal.accounts.views",
    "portal.agreements.views",
    "portal.education.views",
    "portal.answers.views",
    "portal.answers.admin_views",
    "portal.links.views",
    "portal.notifications.optout_views",
    "portal.notifications.preferences_views",
    "portal.staff.views",
    "portal.staff.manage_views",
    "portal.care.views",
    "portal.care.payment_views",
    "portal.care.monitor_views",
    "portal.care.workbench_views",
    "portal.journey.views",
    "portal.policies.views",
    "portal.experiments.views",
    "portal.audit.views",
    "portal.reporting.views",
    "portal.api.views",
    "portal.integrations.core_banking.views",
]


class BoundedInt(IntegerConverter):
    """``<int:…>`` that never matches past PostgreSQL's 32-bit ``integer``."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class PortalFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask passes every hook and view through ``ensure_sync`` on every request, and
    ``inspect.iscoroutinefunction`` unwraps and inspects each one anew: a dozen hooks a
    request, a tenth of the cost of a request that does nothing. A plain function stays
    plain, so the answer is kept (hooks and views live as long as the app); a coroutine
    function is wrapped as Flask wraps it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: set[Callable[..., Any]] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # unhashable: ask each time, as Flask does
            return super().ensure_sync(func)
        if iscoroutinefunction(func):
            return self.async_to_sync(func)
        self._plain_functions.add(func)
        return func


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI commands."""
    from importlib import import_module

    from portal import (
        access_log,
        auth,
        compression,
        connections,
        errors,
        headers,
        health,
        i18n,
        inputs,
        redis_store,
        replica,
        sessions,
        templating,
        unit_of_work,
    )
    from portal.cli import portal_cli
    from portal.config import load_config
    from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
    from portal.notifications.views import bp as dev_bp
    from portal.policies import scheduling

    app = PortalFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        instance_path=str(ROOT / "instance"),
    )
    app.jinja_environment = templating.PortalEnvironment  # before anything makes app.jinja_env
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(Path(app.instance_path)))
    if overrides:
        app.config.update(overrides)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind N proxies, the client is the Nth address from the right of
        # X-Forwarded-For: rate limits, audit and signer evidence then see the person.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    import portal.models  # noqa: F401  (registers every table)

    db.init_app(app)
    replica.init_app(app)  # report reads on PORTAL_DATABASE_REPLICA_URL, when set
    connections.init_app(app)  # pooled connections checked at checkout, without a round trip when they can be
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    redis_store.init_app(app)  # before the session store, which uses it when configured
    login_manager.init_app(app)
    auth.init_login(login_manager)

    unit_of_work.init_app(app)  # first after_request hook, so it runs last: the one commit
    compression.init_app(app)  # next, so it runs just before: on the response every other hook made
    i18n.init_app(app)
    templating.init_app(app)
    inputs.init_app(app)  # first hook: nothing runs on input it refuses
    headers.init_app(app)
    scheduling.init_app(app)  # the policy cache; activation is the scheduler's (no per-request work)
    sessions.init_app(app)
    errors.init_app(app)
    access_log.install()
    health.init_app(app)  # /healthz, /readyz: answered before any of the hooks above

    # Ids in URLs are database integers: a larger number is simply "not found".
    app.url_map.converters["int"] = BoundedInt
    for module in BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)
    if app.config["DEV_OUTBOX_PAGE"]:
        app.register_blueprint(dev_bp)
    app.cli.add_command(portal_cli)
    return app
