"""Which account (and plan) a payment's remittance information names.

A payer quotes the account reference (``DEMO0001``) or the plan's agreement reference
(``PA-7K3M-9QXD-4``) in the unstructured remittance text or as a structured creditor
reference, often with other words around it, in any case, with odd spacing. The text
is cut into candidate tokens (no regular expressions: the agreement references carry a
check symbol, which does the filtering), then a whole chunk's candidates are looked up
at once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.agreements.models import Agreement
from portal.agreements.reference import PREFIX, BadReferenceError, parse_reference
from portal.bulk import among
from portal.extensions import db
from portal.payments.entries import StatementEntry
from portal.payments.models import MatchBasis
from portal.plans.models import Plan, PlanState

_MAX_ACCOUNT_REFERENCE = 20  # card_accounts.reference
_EDGE = ".,;:!?()[]{}<>\"'/#*|"
_SEPARATORS = str.maketrans("", "", " -_.\u00a0\u3000")
_REFERENCE_LENGTH = len(PREFIX) + 9
# Every ASCII character that is not a letter or digit becomes a space (non-ASCII is "?" first).
_NOT_ALNUM = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


@dataclass(frozen=True)
class Candidates:
    words: frozenset[str]  # possible account references, upper case
    agreements: frozenset[str]  # valid agreement references, canonical form


def candidates(entry: StatementEntry) -> Candidates:
    """The tokens of ``entry``'s remittance information that could be a reference."""
    texts = [entry.remittance, *entry.creditor_references]
    text = unicodedata.normalize("NFKC", " ".join(texts)).upper()
    words = {w for w in (word.strip(_EDGE) for word in text.split()) if 0 < len(w) <= _MAX_ACCOUNT_REFERENCE}
    # Alphanumeric runs too: "REF:DEMO0001," and "还款DEMO0001" both give DEMO0001.
    runs = text.encode("ascii", "replace").decode("ascii").translate(_NOT_ALNUM).split()
    words.update(run for run in runs if len(run) <= _MAX_ACCOUNT_REFERENCE)
    agreements: set[str] = set()
    compact = text.translate(_SEPARATORS)
    start = compact.find(PREFIX)
    while start != -1:
        with suppress(BadReferenceError):  # most "PA"s are just letters; the check symbol tells
            agreements.add(parse_reference(compact[start : start + _REFERENCE_LENGTH]))
        start = compact.find(PREFIX, start + 1)
    return Candidates(frozenset(words), frozenset(agreements))


@dataclass(frozen=True)
class Match:
    account_id: int | None
    plan_id: int | None
    basis: MatchBasis


@dataclass
class Directory:
    """The accounts and agreements a chunk's candidates name, looked up in a few queries."""

    accounts: dict[str, tuple[int, str]] = field(default_factory=dict)  # reference → (id, currency)
    agreements: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # → (plan, account, currency)
    ended_plans: set[int] = field(default_factory=set)  # plans named above that are no longer active
    active_plans: dict[int, int] = field(default_factory=dict)  # account id → its active plan
    currencies: dict[int, str] = field(default_factory=dict)  # account id → currency

    @classmethod
    def load(cls, found: Iterable[Candidates], slice_size: int = 5000) -> Directory:
        words: set[str] = set()
        agreements: set[str] = set()
        for c in found:
            words |= c.words
            agreements |= c.agreements
        directory = cls()
        for part in _slices(sorted(words), slice_size):
            rows = db.session.execute(
                select(CardAccount.reference, CardAccount.id, CardAccount.currency).where(
                    among(CardAccount.reference, part)
                )
            )
            for reference, account_id, currency in rows:
                directory.accounts[reference.upper()] = (account_id, currency)
                directory.currencies[account_id] = currency
        for part in _slices(sorted(agreements), slice_size):
            rows = db.session.execute(
                select(Agreement.reference, Plan.id, Plan.account_id, Plan.currency, Plan.state, CardAccount.currency)
                .join(Plan, Plan.id == Agreement.plan_id)
                .join(CardAccount, CardAccount.id == Plan.account_id)
                .where(among(Agreement.reference, part))
            )
            for reference, plan_id, account_id, currency, state, account_currency in rows:
                directory.agreements[reference] = (plan_id, account_id, currency)
                directory.currencies[account_id] = account_currency
                if state != PlanState.ACTIVE:
                    directory.ended_plans.add(plan_id)
        account_ids = sorted(directory.currencies)
        for ids in _slices(account_ids, slice_size):
            rows = db.session.execute(
                select(Plan.account_id, Plan.id).where(among(Plan.account_id, ids), Plan.state == PlanState.ACTIVE)
            )
            directory.active_plans.update({account_id: plan_id for account_id, plan_id in rows})
        return directory

    def match(self, found: Candidates, currency: str) -> Match:
        """The one account (and plan) ``found`` names, or why there is none."""
        by_agreement = {self.agreements[r] for r in found.agreements if r in self.agreements}
        accounts = {self.accounts[w][0] for w in found.words if w in self.accounts}
        accounts |= {account_id for _plan, account_id, _currency in by_agreement}
        if not accounts:
            return Match(None, None, MatchBasis.NO_REFERENCE)
        if len(accounts) > 1:
            return Match(None, None, MatchBasis.AMBIGUOUS)
        (account_id,) = accounts
        if by_agreement:
            plan_id, _account, plan_currency = max(by_agreement)  # the newest plan it names
            if plan_id in self.ended_plans:
                # A standing order still quoting a plan that was broken, completed or
                # cancelled: the money is the account's, and counts towards the plan the
                # account is on now, if any (as the account reference would).
                if self.currencies[account_id] != currency:
                    return Match(None, None, MatchBasis.OTHER_CURRENCY)
                return Match(account_id, self.active_plans.get(account_id), MatchBasis.AGREEMENT_REFERENCE)
            if plan_currency != currency:
                return Match(None, None, MatchBasis.OTHER_CURRENCY)
            return Match(account_id, plan_id, MatchBasis.AGREEMENT_REFERENCE)
        if self.currencies[account_id] != currency:
            return Match(None, None, MatchBasis.OTHER_CURRENCY)
        return Match(account_id, self.active_plans.get(account_id), MatchBasis.ACCOUNT_REFERENCE)


def _slices(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
