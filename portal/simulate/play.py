"""``portal simulate``: play a synthetic book day by day through the portal's own services.

Each simulated day, with the portal clock (`portal.clock`) frozen at its hours (all the
book's time zones are UTC+8; local times below):

- 08:05 the daily servicing run (`portal.servicing.run.run_day`) ages accounts, judges
  plans and promises and queues reminders; the outbox worker (`deliver_due`, the
  development channel) sends what is due;
- 10:00 the bank sends a plan link (`issue_plan_link`, so the contact rules decide:
  hours, caps, opt-outs, an active plan) to each account without an open plan or promise
  whose last link is ``link_every_days`` old, by the cardholder's channel (the other one
  after an opt-out, none after both); the worker sends them;
- 11:00 cardholders whose link came open it (`open_link`, `verified_link`), tell their
  reason and budget (`portal.cases.service`), see the offers the journey page shows
  (`portal.journey.service.list_offers`, so the same policy version the pages use) and
  accept (`accept_offer` + `mark_accepted`), ask for a plan (`plans.requests`), promise
  (`record_promise`) or leave, by the behaviour model (`portal.simulate.behaviour`);
  cardholders sign approved requests (`sign_approved`);
- 14:00 a supervisor decides requests two days old (`decide_request`): approves those
  with a hardship reason, declines the rest;
- 20:00 the day's repayments arrive as one camt.053 statement, imported by the payments
  import service, and the core system sends each account that paid a balance snapshot
  (`portal.simulate.core`);
- 21:00 a cardholder who received a collection message that day may opt out of its
  channel (a STOP text through `handle_inbound_sms`, the e-mail's unsubscribe link).

Agreement PDFs are left pending (``portal agreements retry`` produces them): rendering
and signing is not behaviour and would cost most of the time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal import clock
from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM, Actor
from portal.bulk import among
from portal.cases import service as cases
from portal.domain.budget import Budget
from portal.domain.schedule import PlanType
from portal.extensions import db
from portal.journey.service import OfferChoice, budget_from_figures, list_offers
from portal.links.service import LinkError, issue_plan_link, mark_offer_viewed, open_link, verified_link
from portal.notifications.delivery import deliver_due
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.optout import handle_inbound_sms, unsubscribe_email
from portal.plans import requests
from portal.plans import service as plans
from portal.plans.models import OPEN_STATES, Plan, PlanState
from portal.policies.service import NoActivePolicy
from portal.servicing.run import run_day
from portal.simulate import steps
from portal.simulate.behaviour import (
    HARDSHIP_REASONS,
    BehaviourModel,
    Draws,
    burden,
    keep_promise_chance,
    offer_chance,
    pay_chance,
)
from portal.simulate.book import SimAccount
from portal.simulate.core import Repayment, import_day
from portal.unit_of_work import unit_of_work

WORKER = "simulator"


@dataclass(frozen=True)
class BankStrategy:
    """What the simulated bank does (not the cardholders): link cadence and approvals."""

    link_every_days: int = 7
    approval_days: int = 2


@dataclass
class Holder:
    """What the simulator remembers of one cardholder between days."""

    account: SimAccount
    last_link_day: date | None = None
    opening: tuple[int, date] | None = None  # (link id, the day they open it)
    plan_id: int | None = None
    plan_reference: str | None = None
    plan_ratio: float = 0.0
    stopped_paying: bool = False
    requested: tuple[int, date] | None = None  # (plan id, requested on)
    approved: int | None = None
    promise: tuple[int, date] | None = None  # (promise id, pay by)
    dues: list[tuple[int, date, Decimal]] = field(default_factory=list)  # (number, due, amount)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` on ``day`` in UTC+8 (the book's zones), as aware UTC."""
    return datetime.combine(day, time(hour, minute), UTC) - timedelta(hours=8)


class Simulation:
    def __init__(
        self,
        book: list[SimAccount],
        draws: Draws,
        model: BehaviourModel,
        bank: BankStrategy,
        supervisor: Actor,
    ) -> None:
        self.holders = {a.account_id: Holder(a) for a in book}
        self.draws = draws
        self.model = model
        self.bank = bank
        self.supervisor = supervisor
        self.due_payments: dict[date, list[Repayment]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)

    # --- the day -------------------------------------------------------------------------

    def play_day(self, day: date) -> None:
        clock.freeze(at(day, 8, 5))
        run_day(day)
        self._deliver()
        self._sync_plans(day)
        self._decide_installments(day)
        clock.freeze(at(day, 10))
        self._send_links(day)
        self._deliver()
        clock.freeze(at(day, 11))
        for holder in self.holders.values():
            self._visit(holder, day)
        clock.freeze(at(day, 14))
        self._decide_requests(day)
        self._self_cures(day)
        clock.freeze(at(day, 20))
        self._import_payments(day)
        clock.freeze(at(day, 21))
        self._opt_outs(day)

    def _deliver(self) -> None:
        while deliver_due(WORKER, batch=500).claimed:
            pass

    # --- the bank ------------------------------------------------------------------------

    def _sync_plans(self, day: date) -> None:
        """Learn which plans the run ended and which promises it judged."""
        ids = list(self.holders)
        with unit_of_work():
            rows = db.session.execute(
                select(Plan.account_id, Plan.id, Plan.state).where(
                    Plan.account_id.in_(ids), Plan.state.in_(OPEN_STATES)
                )
            ).all()
        open_plans = {account_id: (plan_id, state) for account_id, plan_id, state in rows}
        for account_id, holder in self.holders.items():
            found = open_plans.get(account_id)
            if holder.plan_id is not None and (found is None or found[0] != holder.plan_id):
                holder.plan_id, holder.plan_reference, holder.dues = None, None, []
            if holder.promise is not None and holder.promise[1] + timedelta(days=7) < day:
                holder.promise = None

    def _send_links(self, day: date) -> None:
        """A link to each account without a plan, promise or request whose last link is
        ``link_every_days`` old: by the cardholder's channel, or the other one after an
        opt-out (the outbox rules refuse a channel opted out of; the bank does not insist)."""
        every = timedelta(days=self.bank.link_every_days)
        with unit_of_work():
            query = select(CardAccount.id, CardAccount.flags).where(among(CardAccount.id, self.holders))
            flags: dict[int, list[str]] = {account_id: list(f or ()) for account_id, f in db.session.execute(query)}
        for holder in self.holders.values():
            busy = holder.plan_id or holder.requested or holder.approved or holder.promise or holder.opening
            if busy or (holder.last_link_day is not None and day - holder.last_link_day < every):
                continue
            account_id = holder.account.account_id
            preferred = holder.account.persona.channel
            other = "email" if preferred == "sms" else "sms"
            channel = next((c for c in (preferred, other) if f"optout_{c}" not in flags[account_id]), None)
            if channel is None:
                continue
            holder.last_link_day = day
            try:
                with unit_of_work():
                    link = issue_plan_link(account_id, channel, SYSTEM)
                    link_id = link.id
            except LinkError as refused:
                self.counts[f"links_refused_{refused.detail or refused.code}"] += 1
                continue
            self.counts["links_issued"] += 1
            serial = holder.account.serial
            if self.draws.chance(self.model.open_link * (0.5 + holder.account.persona.engagement), serial, day, "open"):
                delay = int(self.draws.u(serial, day, "open_delay") * (self.model.open_delay_days + 1))
                holder.opening = (link_id, day + timedelta(days=delay))

    def _decide_requests(self, day: date) -> None:
        for holder in self.holders.values():
            if holder.requested is None or day - holder.requested[1] < timedelta(days=self.bank.approval_days):
                continue
            plan_id = holder.requested[0]
            holder.requested = None
            with unit_of_work():
                plan = db.session.get(Plan, plan_id)
                if plan is None or plan.state != PlanState.PENDING_APPROVAL:
                    continue
                hardship = (plan.hardship or {}).get("reason") in HARDSHIP_REASONS
                decision = requests.Decision(
                    approve=hardship,
                    shown_digest=requests.request_digest(plan),
                    note="simulated supervisor",
                    decline_reason=None if hardship else "need_documents",
                )
                try:
                    requests.decide_request(plan_id, decision, self.supervisor)
                except plans.PlanError as refused:
                    self.counts[f"decisions_refused_{refused.code}"] += 1
                    continue
            if hardship:
                holder.approved = plan_id
                self.counts["requests_approved"] += 1
            else:
                self.counts["requests_declined"] += 1

    # --- the cardholders -----------------------------------------------------------------

    def _visit(self, holder: Holder, day: date) -> None:
        if holder.approved is not None:
            self._sign_approved(holder, day)
        if holder.opening is None or holder.opening[1] != day:
            return
        link_id = holder.opening[0]
        holder.opening = None
        account_id = holder.account.account_id
        serial = holder.account.serial
        model, draws = self.model, self.draws
        with unit_of_work():
            sent = (OutboxMessage.link_id == link_id, OutboxMessage.status == OutboxStatus.SENT)
            # The phone: the development channel keeps a sent token readable until the link expires.
            token = db.session.execute(select(OutboxMessage.secret).where(*sent)).scalar()
            if token is None or open_link(token) is None:
                return  # never sent (held or blocked), or no longer usable
            if not draws.chance(model.verify, serial, day, "verify"):
                return
            actor = Actor.cardholder(account_id)
            verified_link(link_id, account_id)
            if draws.chance(model.tell_reason, serial, day, "reason"):
                cases.set_reason(account_id, holder.account.persona.reason, actor)
            figures = None
            if draws.chance(model.give_budget, serial, day, "budget"):
                figures = holder.account.persona.budget_figures()
                budget = budget_from_figures(figures)
                assert isinstance(budget, Budget)
                cases.record_budget(account_id, figures, budget.disposable, actor)
            account = db.session.get(CardAccount, account_id)
            assert account is not None
            try:
                listing = list_offers(account, figures)
            except NoActivePolicy:
                return
            shown = listing.first + ([listing.personalised] if listing.personalised else [])
            if not shown:
                return
            mark_offer_viewed(link_id, actor)
        self.counts["visits_with_offers"] += 1
        seen = listing.first + listing.rest if draws.chance(model.show_all, serial, day, "all") else listing.first
        self._choose(holder, day, link_id, seen, listing.personalised)

    def _choose(
        self, holder: Holder, day: date, link_id: int, seen: list[OfferChoice], personalised: OfferChoice | None
    ) -> None:
        persona, model = holder.account.persona, self.model
        capacity = persona.capacity(model)
        best: tuple[float, float, OfferChoice] | None = None
        for choice in seen:
            if choice.offer.needs_approval:
                continue
            quote = choice.offer.quote
            settlement = choice.offer.plan is PlanType.SETTLEMENT
            chance, ratio = offer_chance(
                model, persona, quote.max_payment, quote.total_cost, quote.amount, settlement=settlement
            )
            if best is None or chance > best[0]:
                best = (chance, ratio, choice)
        serial = holder.account.serial
        if best is not None and self.draws.chance(best[0], serial, day, "accept"):
            self._accept(holder, day, link_id, best[2], best[1])
            return
        none_fit = all(burden(c.offer.quote.max_payment, capacity) > 1 for c in seen)
        if (
            none_fit
            and personalised is not None
            and persona.reason in HARDSHIP_REASONS
            and self.draws.chance(model.request_if_none_fit, serial, day, "request")
        ):
            self._request(holder, day, personalised)
            return
        if self.draws.chance(model.promise_if_no_plan, serial, day, "promise"):
            self._promise(holder, day)

    def _accept(self, holder: Holder, day: date, link_id: int, choice: OfferChoice, ratio: float) -> None:
        outcome = steps.accept(holder.account, choice.offer.fingerprint, link_id, day)
        if isinstance(outcome, str):
            self.counts[f"accept_refused_{outcome}"] += 1
            return
        self._follow_plan(holder, outcome, ratio)
        self.counts["plans_accepted"] += 1

    def _follow_plan(self, holder: Holder, plan_id: int, ratio: float) -> None:
        holder.plan_reference, holder.dues = steps.plan_dues(plan_id)
        holder.plan_id, holder.plan_ratio, holder.stopped_paying = plan_id, ratio, False

    def _request(self, holder: Holder, day: date, choice: OfferChoice) -> None:
        proposed = holder.account.persona.capacity(self.model).quantize(Decimal("0.01"))
        outcome = steps.request(holder.account, choice.offer.fingerprint, day, proposed)
        if isinstance(outcome, str):
            self.counts[f"request_refused_{outcome}"] += 1
            return
        holder.requested = (outcome, day)
        self.counts["requests_sent"] += 1

    def _sign_approved(self, holder: Holder, day: date) -> None:
        plan_id, holder.approved = holder.approved, None
        assert plan_id is not None
        if not self.draws.chance(self.model.sign_approved, holder.account.serial, day, "sign"):
            return
        outcome = steps.sign(holder.account, plan_id)
        if isinstance(outcome, str):
            self.counts[f"sign_refused_{outcome}"] += 1
            return
        self._follow_plan(holder, plan_id, burden(outcome, holder.account.persona.capacity(self.model)))
        self.counts["approved_plans_signed"] += 1

    def _promise(self, holder: Holder, day: date) -> None:
        capacity = holder.account.persona.capacity(self.model)
        made = steps.promise(holder.account, day, capacity, self.model.promise_days)
        if made is None:
            return
        promise_id, amount, pay_by = made
        holder.promise = (promise_id, pay_by)
        self.counts["promises_made"] += 1
        serial = holder.account.serial
        pay_day = day + timedelta(days=int(self.draws.u(serial, day, "promise_day") * ((pay_by - day).days + 1)))
        if self.draws.chance(keep_promise_chance(self.model, burden(amount, capacity)), serial, day, "keep"):
            self._pays(holder, pay_day, amount)
        elif self.draws.chance(self.model.promise_part, serial, day, "part"):
            self._pays(holder, pay_day, (amount / 2).quantize(Decimal("0.01")))

    def _pays(self, holder: Holder, day: date, amount: Decimal, agreement: str | None = None) -> None:
        sim = holder.account
        self.due_payments[day].append(Repayment(sim.reference, sim.currency, amount, agreement))

    def _decide_installments(self, day: date) -> None:
        """On each installment's due date, whether (and when) the cardholder pays it."""
        model = self.model
        for holder in self.holders.values():
            for number, due, amount in holder.dues:
                if due != day:
                    continue
                serial = holder.account.serial
                if holder.stopped_paying:
                    pays = self.draws.chance(model.resume, serial, day, "resume")
                else:
                    pays = self.draws.chance(pay_chance(model, holder.plan_ratio), serial, day, "pay", number)
                holder.stopped_paying = not pays
                if pays:
                    late = int(self.draws.u(serial, day, "late") * (model.pay_late_days + 1))
                    self._pays(holder, day + timedelta(days=late), amount, holder.plan_reference)

    def _self_cures(self, day: date) -> None:
        chance = self.model.self_cure_monthly / 30
        for holder in self.holders.values():
            if holder.plan_id or holder.promise or holder.requested or holder.approved:
                continue
            if not self.draws.chance(chance, holder.account.serial, day, "self_cure"):
                continue
            with unit_of_work():
                account = db.session.get(CardAccount, holder.account.account_id)
                assert account is not None
                overdue = account.overdue_amount.quantize(Decimal("0.01"))
            persona = holder.account.persona
            if overdue > 0 and overdue <= persona.savings + persona.capacity(self.model):
                self._pays(holder, day, overdue)
                self.counts["self_cures"] += 1

    # --- money in ------------------------------------------------------------------------

    def _import_payments(self, day: date) -> None:
        repayments = self.due_payments.pop(day, [])
        if repayments:
            counts = import_day(day, repayments)
            self.counts["payments_posted"] += counts.posted
            self.counts["payments_unmatched"] += counts.unmatched

    # --- opting out ----------------------------------------------------------------------

    def _opt_outs(self, day: date) -> None:
        """Each collection message sent today may make its cardholder opt out of its channel."""
        since = at(day, 0)
        with unit_of_work():
            rows = db.session.execute(
                select(OutboxMessage.id, OutboxMessage.account_id, OutboxMessage.channel, OutboxMessage.recipient)
                .where(
                    OutboxMessage.collection.is_(True),
                    OutboxMessage.status == OutboxStatus.SENT,
                    OutboxMessage.sent_at >= since,
                    OutboxMessage.account_id.in_(list(self.holders)),
                )
                .order_by(OutboxMessage.id)
            ).all()
        seen: dict[int, int] = defaultdict(int)
        for _message_id, account_id, channel, recipient in rows:
            seen[account_id] += 1  # keyed by the account's n-th message of the day, not by ids
            serial = self.holders[account_id].account.serial
            if not self.draws.chance(self.model.opt_out, serial, day, "opt_out", seen[account_id]):
                continue
            with unit_of_work():
                if channel == "sms":
                    handle_inbound_sms(recipient, "STOP")
                else:
                    unsubscribe_email(account_id, None)
            self.counts["opt_outs"] += 1
