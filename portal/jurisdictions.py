"""Where an account is serviced: its regulator, rules, phone numbers and debt-advice services.

An account in Hong Kong follows Hong Kong's rules and names whatever language its holder
reads, so these come from the account's ``jurisdiction`` (``CN``, ``HK``, …), not from
the locale. The settings live in a TOML file (``content/jurisdictions.toml`` unless
``PORTAL_JURISDICTIONS_FILE`` names another) that is checked when the app starts: every
text must exist in every language, so a page can never fall back to another market's
wording.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import current_app, g, has_app_context, has_request_context

from portal.locales import locale_name

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "content" / "jurisdictions.toml"
LANGUAGES = ("en", "zh_Hans", "zh_Hant")
_CODE = re.compile(r"^[A-Z]{2}$")


class JurisdictionError(ValueError):
    """The jurisdictions file is missing, unreadable or incomplete; the message says where."""


@dataclass(frozen=True)
class Contact:
    """A service a cardholder can call: its name in each language and its number."""

    name: Mapping[str, str]
    phone: str


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: Mapping[str, str]
    regulator: Mapping[str, str]
    plan_basis: Mapping[str, str]
    currency_word: Mapping[str, str]
    care_phone: str
    english_formats: str
    debt_advice: tuple[Contact, ...]
    complaints: tuple[Contact, ...]
    # Round-the-clock lines for someone in crisis, shown at once to a question with words
    # of self-harm (portal.answers); optional, the care number stands in when none is set.
    crisis_lines: tuple[Contact, ...] = ()

    def format_locale(self, locale: str) -> str:
        """The Babel locale whose date patterns pages in ``locale`` use for this account."""
        return self.english_formats if locale == "en" else locale


def _texts(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise JurisdictionError(f"{where} must be a table of {', '.join(LANGUAGES)} texts")
    missing = [lang for lang in LANGUAGES if not str(value.get(lang, "")).strip()]
    if missing:
        raise JurisdictionError(f"{where} has no text for {', '.join(missing)}")
    return {lang: str(value[lang]).strip() for lang in LANGUAGES}


def _phone(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\+?[0-9][0-9 ]{2,20}", value.strip()):
        raise JurisdictionError(f"{where} must be a phone number of digits and spaces")
    return value.strip()


def _contacts(where: str, value: Any) -> tuple[Contact, ...]:
    if not isinstance(value, list) or not value:
        raise JurisdictionError(f"{where} must list at least one service")
    return tuple(
        Contact(
            name=_texts(f"{where}[{i}].name", item.get("name")), phone=_phone(f"{where}[{i}].phone", item.get("phone"))
        )
        for i, item in enumerate(value)
    )


def _formats(where: str, value: Any) -> str:
    try:
        Locale.parse(str(value))
    except (UnknownLocaleError, ValueError):
        raise JurisdictionError(f"{where} must be a Babel locale such as en_GB, not {value!r}") from None
    return str(value)


def parse_jurisdictions(text: str) -> dict[str, Jurisdiction]:
    """Read and check the TOML text of a jurisdictions file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise JurisdictionError(f"not valid TOML: {problem}") from None
    if not data:
        raise JurisdictionError("it defines no jurisdiction")
    found: dict[str, Jurisdiction] = {}
    for code, table in data.items():
        if not _CODE.match(code) or not isinstance(table, dict):
            raise JurisdictionError(f"{code!r} is not a two-letter country code with a table of settings")
        found[code] = Jurisdiction(
            code=code,
            name=_texts(f"{code}.name", table.get("name")),
            regulator=_texts(f"{code}.regulator", table.get("regulator")),
            plan_basis=_texts(f"{code}.plan_basis", table.get("plan_basis")),
            currency_word=_texts(f"{code}.currency_word", table.get("currency_word")),
            care_phone=_phone(f"{code}.care_phone", table.get("care_phone")),
            english_formats=_formats(f"{code}.english_formats", table.get("english_formats", "en_GB")),
            debt_advice=_contacts(f"{code}.debt_advice", table.get("debt_advice")),
            complaints=_contacts(f"{code}.complaints", table.get("complaints")),
            crisis_lines=_contacts(f"{code}.crisis_lines", table["crisis_lines"]) if "crisis_lines" in table else (),
        )
    return found


def load_jurisdictions(path: Path) -> dict[str, Jurisdiction]:
    try:
        return parse_jurisdictions(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise JurisdictionError(f"cannot read {path}: {problem}") from None
    except JurisdictionError as problem:
        raise JurisdictionError(f"{path}: {problem}") from None


# --- in the app ---------------------------------------------------------------


def configured() -> dict[str, Jurisdiction]:
    known: dict[str, Jurisdiction] = current_app.config["JURISDICTIONS"]
    return known


def get(code: str | None) -> Jurisdiction:
    """The settings for ``code``; an unknown or missing code gets the default jurisdiction."""
    known = configured()
    if code and code not in known:
        # Data from the core system names a market this deployment has no settings for.
        current_app.logger.warning("jurisdiction %s is not configured; using the default", code)
    return known.get(code or "") or known[current_app.config["DEFAULT_JURISDICTION"]]


def current() -> Jurisdiction | None:
    """The jurisdiction of what is being shown: a document's account, else the signed-in
    cardholder's account; ``None`` on pages that belong to no account (sign-in, guides)."""
    if not has_app_context():
        return None
    # Asked several times a page (dates, the care phone): g read once, not through its
    # proxy per attribute, and the signed-in user where Flask-Login keeps it once loaded.
    state = g._get_current_object()
    override = getattr(state, "jurisdiction_code", None)
    if override:
        return get(override)
    if has_request_context():
        user = getattr(state, "_login_user", None)
        if user is None:  # not loaded yet in this request: Flask-Login loads it
            from flask_login import current_user

            user = current_user._get_current_object()
        account = getattr(user, "account", None)
        if account is not None:
            return get(account.jurisdiction)
    return None


@contextmanager
def serving(code: str) -> Iterator[Jurisdiction]:
    """Render for an account in ``code`` (a PDF, a message) whoever is signed in."""
    previous = g.get("jurisdiction_code")
    g.jurisdiction_code = code
    try:
        yield get(code)
    finally:
        g.jurisdiction_code = previous


def text(mapping: Mapping[str, str]) -> str:
    """The text of ``mapping`` in the active language."""
    return mapping.get(locale_name(), mapping["en"])


def here() -> Jurisdiction:
    """The current account's jurisdiction, or the default one."""
    return current() or get(None)


def care_phone() -> str:
    """The care number for the current account, or the default jurisdiction's."""
    found = current()
    return found.care_phone if found else get(None).care_phone
