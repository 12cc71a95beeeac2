"""Flask extensions, created unbound here and bound in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, request
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from flask_wtf.csrf import generate_csrf
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from portal.rate_limits import PortalLimiter
from portal.security import csrf_token

# Named constraints so that Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

# The base class of every model. At run time it is ``db.Model``, which Flask-SQLAlchemy
# builds from Base's declarative base, its metadata and its own mixins. mypy cannot take
# an attribute of an instance as a base class (python/mypy#8603), so models derive from
# this name instead of ``db.Model``; for the checker it is Base plus Flask-SQLAlchemy's
# model mixin (``query``, ``__fsa__``), which is what ``db.Model`` provides.
if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FSAModel

    class Model(_FSAModel, Base):
        __abstract__ = True

else:
    Model = db.Model


class PortalCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, asking first what it asks last: a GET, HEAD or OPTIONS
    needs no token, so it is let through before the views' and blueprints' exemptions are
    looked up for it (Flask-WTF looks them up first). POSTs are checked as before."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # Templates' csrf_token() is portal.security's: the same token, made cheaper. Flask-WTF
        # also hands its own to every render by a context processor (the one just added),
        # which would shadow the global: that one goes.
        processors = app.template_context_processors[None]
        added: Any = processors[-1]() if processors else {}
        if added.get("csrf_token") is not generate_csrf:
            raise RuntimeError("Flask-WTF no longer adds csrf_token by a context processor: look again")
        processors.pop()
        app.jinja_env.globals["csrf_token"] = csrf_token

    def protect(self, apply_exemptions: bool = False) -> None:
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions=apply_exemptions)


migrate = Migrate(compare_type=True, render_as_batch=True)
babel = Babel()
csrf = PortalCSRFProtect()
login_manager = LoginManager()
limiter = PortalLimiter(key_func=get_remote_address, default_limits=[])
