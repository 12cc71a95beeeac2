"""Cardholder sign-in. Flask-Login identities are prefixed: ``c:<account id>``."""

from __future__ import annotations

from flask_login import LoginManager
from flask_babel import lazy_gettext as _l

from portal.accounts.models import CardAccount
from portal.extensions import db


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


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.sign_in"
    manager.login_message = _l("Please sign in to see your account.")
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str) -> CardholderIdentity | None:
        kind, _, raw_id = user_id.partition(":")
        if kind == "c" and raw_id.isdigit():
            account = db.session.get(CardAccount, int(raw_id))
            return CardholderIdentity(account) if account else None
        return None
