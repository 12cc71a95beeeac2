"""Sign-in identities. Flask-Login ids are prefixed: ``c:<account id>`` for cardholders,
``s:<staff id>`` for staff (see ``portal.staff``). They are login ids, not actor keys
(``staff:12``): ``portal.audit.actors`` says why they keep their form."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cache, wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, select
from sqlalchemy.orm import QueryableAttribute, joinedload

from portal.accounts.models import CardAccount
from portal.extensions import db
from portal.staff.models import Role, StaffUser


class CardholderIdentity:
    """The signed-in cardholder: bound to exactly one card account."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    kind = "cardholder"

    def __init__(self, account: CardAccount) -> None:
        self.account = account

    def get_id(self) -> str:
        return f"c:{self.account.id}"


class StaffIdentity:
    """A signed-in member of staff. Only active, enrolled staff are ever loaded."""

    is_authenticated = True
    is_anonymous = False
    kind = "staff"

    def __init__(self, user: StaffUser) -> None:
        self.id = user.id
        self.role = Role(user.role)
        self.email = user.email
        self.display_name = user.display_name
        self.is_active = bool(user.active and user.enrolled)

    def get_id(self) -> str:
        return f"s:{self.id}"


V = TypeVar("V", bound=Callable[..., Any])


def account_loads(*relationships: QueryableAttribute[Any]) -> Callable[[V], V]:
    """Declare what a cardholder view reads through ``current_user.account`` (relationships
    of ``CardAccount``): the sign-in loader fetches them with the account, in its one
    query. Undeclared, they still load, each with a query of its own when first read."""

    def mark(view: V) -> V:
        view.account_loads = tuple(r.key for r in relationships)  # type: ignore[attr-defined]
        return view

    return mark


def _page_loads() -> tuple[str, ...]:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "account_loads", ())


def load_account(account_id: int, *relationships: QueryableAttribute[Any] | str) -> CardAccount | None:
    """The account, with ``relationships`` (or their names) joined into the same query.

    When this request's session check already read it with the session's row
    (:func:`session_with_account`) and the same relationships, that account is the answer
    and no statement is sent."""
    names = tuple(r if isinstance(r, str) else r.key for r in relationships)
    row = take_read(_READ_WITH_SESSION, (account_id, names))
    if row is not None:
        found: CardAccount | None = row.CardAccount
        return found
    return db.session.execute(_account_query(names), {"account_id": account_id}).unique().scalar_one_or_none()


_READ_WITH_SESSION = "portal_account_read_with_session"  # g: ((account id, page loads), row)


def keep_read(slot: str, key: Hashable, row: Row[Any] | None) -> None:
    """Keep in ``g`` (under ``slot``) what this request's session check read of the
    signed-in identity, for its loader (:func:`take_read`); only the latest check's read
    stands: a check that found no session (``row`` None) drops an older one."""
    if row is None:
        g.pop(slot, None)
    else:
        setattr(g, slot, (key, row))


def take_read(slot: str, key: Hashable) -> Row[Any] | None:
    """The row :func:`keep_read` kept under ``slot`` for ``key`` (None: none), taken at
    most once."""
    kept = g.pop(slot, None)
    return kept[1] if kept is not None and kept[0] == key else None


def session_with_account(
    sessions: Table, session_columns: tuple[ColumnElement[Any], ...], token_hash: str, account_id: int
) -> Row[Any] | None:
    """The row of ``session_columns`` of the session (in the table ``sessions``) whose
    token hashes to ``token_hash`` (None: there is none), read in
    one statement with the account the request signed in to and the relationships its
    page declares (``account_loads``), which :func:`load_account` then finds here.

    Every signed-in cardholder page reads both, one after the other: the session check
    (``portal.sessions``) and the account (Flask-Login's loader). As one statement that is
    one round trip and one statement's overhead fewer on every cardholder request. The
    session's verdict is the session row's alone, as before: the account is joined to it
    (LEFT OUTER). Only the latest check's read is kept, and the loader takes it at most
    once (a refused session is signed out: Flask-Login's logout runs the loader, which
    takes it then)."""
    names = _page_loads() if has_request_context() else ()
    row = (
        db.session.execute(
            _session_and_account_query(names, sessions, session_columns),
            {"account_id": account_id, "token_hash": token_hash},
        )
        .unique()
        .first()
    )
    keep_read(_READ_WITH_SESSION, (account_id, names), row)
    return row


@cache
def _account_query(relationships: tuple[str, ...]) -> Select[tuple[CardAccount]]:
    # Built once per set of relationships: building a statement and its options costs
    # more than SQLAlchemy's compiled cache then saves.
    joined = (joinedload(getattr(CardAccount, name)) for name in relationships)
    return select(CardAccount).where(CardAccount.id == bindparam("account_id")).options(*joined)


@cache
def _session_and_account_query(
    relationships: tuple[str, ...], sessions: Table, session_columns: tuple[ColumnElement[Any], ...]
) -> Select[Any]:
    return (
        select(*session_columns, CardAccount)
        .select_from(sessions)
        .outerjoin(CardAccount, CardAccount.id == bindparam("account_id"))
        .where(sessions.c.token_hash == bindparam("token_hash"))
        .options(*(joinedload(getattr(CardAccount, name)) for name in relationships))
    )


def cardholder_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like ``login_required``, but only a cardholder session passes: staff get 403.

    Marks the view ``cardholder_only`` so the role-matrix test knows what it expects.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if getattr(current_user, "kind", None) != "cardholder":
            abort(403)
        return view(*args, **kwargs)

    wrapped.cardholder_only = True  # type: ignore[attr-defined]
    return wrapped


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.sign_in"
    manager.login_message = _l("Please sign in to see your account.")
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    # The session check reads the signed-in identity with the session's row.
    from portal.auth.server_sessions import read_with_session
    from portal.staff.loader import session_with_staff  # it builds on StaffIdentity, above

    read_with_session("c", session_with_account)
    read_with_session("s", session_with_staff)

    @manager.user_loader
    def load_user(user_id: str) -> CardholderIdentity | StaffIdentity | None:
        kind, _, raw_id = user_id.partition(":")
        if kind == "c" and raw_id.isdigit():
            account = load_account(int(raw_id), *_page_loads())
            return CardholderIdentity(account) if account else None
        if kind == "s" and raw_id.isdigit():
            from portal.staff.loader import load_staff  # it builds on StaffIdentity, above

            return load_staff(int(raw_id))
        return None
