"""Issuing, opening and following plan links.

A link carries a random 256-bit token; only its SHA-256 is stored, so a database copy
cannot be turned back into working links. A link is bound to one account, expires after
the active policy's ``link_expiry_hours``, can be revoked, and is used up once an offer is
accepted through it. Opening it shows nothing: the cardholder must sign in as the
account's holder first (see ``portal.links.views``).

Every step of the funnel (sent, delivered, opened, verified, offer viewed, accepted) is
stamped on the link once, with a case event and an audit record.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from contextlib import suppress
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import jurisdictions
from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.db_types import rowcount, utcnow
from portal.domain.sms import SmsCount, count_segments, sms_text
from portal.experiments.assignment import policy_for_account
from portal.experiments.models import Exposure
from portal.extensions import db
from portal.i18n import local_datetime
from portal.links.models import LinkStep, PlanLink
from portal.links.status import REVOKED_REASON, link_states
from portal.notifications.models import SECRET_MASK, OutboxMessage, OutboxStatus
from portal.notifications.optout import unsubscribe_url
from portal.notifications.rules import BLOCK
from portal.notifications.secrets import forget_link_secrets
from portal.notifications.service import check_contact, queue_collection_message, recipient_for
from portal.offers.adapter import offers_for_account
from portal.policies.cache import load_policy
from portal.policies.service import NoActivePolicy, active_version
from portal.staff.authority import offer_allowed
from portal.staff.models import Role
from portal.staff.service import role_of
from portal.unit_of_work import keep_on_refusal

DEFAULT_EXPIRY_HOURS = 72
TOKEN_BYTES = 32  # 256 bits
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_PREVIEW_TOKEN = "…"  # noqa: S105 - shown in previews in place of the real token


class LinkError(Exception):
    """Why a link could not be issued or changed; ``code`` for the view, ``detail`` for staff."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code if detail is None else f"{code}: {detail}")
        self.code = code
        self.detail = detail


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}/l/{token}"


def _expiry_hours(account: CardAccount) -> int:
    """The active policy's link lifetime for the account's currency (72 h without one)."""
    try:
        return load_policy(active_version(account.currency)).link_expiry_hours
    except NoActivePolicy:
        return DEFAULT_EXPIRY_HOURS


def _account(account_id: int, lock: bool = False) -> CardAccount:
    """The account; with ``lock``, its row locked until the unit of work ends, so that two
    links sent at once (a double click, two members of staff) are issued one after the
    other: the second sees the first, revokes it and counts it toward the contact caps."""
    account = db.session.get(CardAccount, account_id, with_for_update=lock, populate_existing=lock)
    if account is None:
        raise LinkError("no_account")
    return account


def _check_channel(account: CardAccount, channel: str) -> None:
    if channel not in ("sms", "email"):
        raise LinkError("unknown_channel")
    if not recipient_for(account, channel):
        raise LinkError("no_channel", channel)


def _check_offer(account: CardAccount, fingerprint: str | None, actor: Actor) -> None:
    """A pre-selected offer must be one the account may choose today, within the actor's authority."""
    if fingerprint is None:
        return
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    try:
        _, offers = offers_for_account(account, today, by_staff=True)
    except NoActivePolicy:
        raise LinkError("offer_not_allowed", "no active policy") from None
    offer = next((o for o in offers if o.fingerprint == fingerprint), None)
    if offer is None:
        raise LinkError("offer_not_allowed")
    if actor.type == "staff" and not offer_allowed(
        role_of(actor) or Role.AGENT, offer.agent_may_offer, offer.needs_approval
    ):  # unknown or inactive staff: least authority
        raise LinkError("outside_authority")


def _message(account: CardAccount, channel: str, url: str, expires_at: datetime) -> tuple[str | None, str]:
    """The collection message in the cardholder's language, with its opt-out."""
    holder = account.cardholder
    config = current_app.config
    with force_locale(holder.locale), jurisdictions.serving(account.jurisdiction) as place:
        until = local_datetime(expires_at, "short", tz=account.time_zone)
        if channel == "sms":
            body = gettext(
                "%(bank)s: we can help you with your card repayments. See your options and choose "
                "a plan that suits you: %(url)s (works until %(until)s). Reply STOP to stop these texts.",
                bank=config["BANK_NAME"],
                url=url,
                until=until,
            )
            return None, body
        subject = gettext("Your card repayment options")
        body = gettext(
            "Hello %(name)s,\n\n"
            "Falling behind with payments happens to many people. We can help. Open this link, "
            "sign in, and choose a repayment plan that suits you:\n\n%(url)s\n\n"
            "The link works until %(until)s. To sign in you need your card number, your date of "
            "birth and a code we send to your phone.\n\n"
            "Questions? Call us free on %(phone)s, 08:00 to 21:00 every day.\n\n"
            "%(bank)s\n\n"
            "We will never ask for your password or codes by e-mail.\n"
            "To stop these e-mails: %(unsubscribe)s",
            name=holder.full_name,
            url=url,
            until=until,
            phone=place.care_phone,
            bank=config["BANK_NAME"],
            unsubscribe=unsubscribe_url(account.id),
        )
        return subject, body


def preview_link_message(account_id: int, channel: str, offer_fingerprint: str | None = None) -> tuple[str | None, str]:
    """The message a link would send, in the cardholder's language (the token shown as …)."""
    account = _account(account_id)
    _check_channel(account, channel)
    expires = utcnow() + timedelta(hours=_expiry_hours(account))
    return _message(account, channel, link_url(_PREVIEW_TOKEN), expires)


def preview_sms_count(body: str) -> SmsCount:
    """How the carrier counts a previewed text once the real token replaces the placeholder
    (as :func:`sms_text` sends it: no invisible character forcing UCS-2)."""
    token = "x" * len(secrets.token_urlsafe(TOKEN_BYTES))  # the same length, all GSM-7
    return count_segments(sms_text(body.replace(_PREVIEW_TOKEN, token, 1)))


def issue_plan_link(account_id: int, channel: str, actor: Actor, offer_fingerprint: str | None = None) -> PlanLink:
    """Create a link and queue its message under the contact rules.

    Raises ``LinkError``: ``no_account``, ``unknown_channel``, ``no_channel`` (no contact
    on file), ``offer_not_allowed``, ``outside_authority`` (an offer the member of staff
    may not pre-select, see ``portal.staff.authority``), ``contact_blocked`` (detail: the rule).

    A blocked attempt creates no link: a bank does not leave a live link lying around
    that nobody will receive. It leaves a ``blocked`` outbox row and a ``message_blocked``
    case event, kept though the request is refused, so the agent learns at once and the
    contact record is complete. A message outside contact hours is held, not refused:
    the link is issued. A new link revokes the account's older open links (each with a
    ``link_revoked`` case event and audit record naming the new one): one live link per
    account, so the cardholder is never unsure which one to use.
    """
    account = _account(account_id, lock=True)
    _check_channel(account, channel)
    _check_offer(account, offer_fingerprint, actor)
    now = utcnow()
    expires_at = now + timedelta(hours=_expiry_hours(account))
    decision = check_contact(account, channel, now, kind="plan_link")
    if decision.action == BLOCK:
        subject, body = _message(account, channel, link_url(_PREVIEW_TOKEN), expires_at)
        queue_collection_message(account, channel, "plan_link", subject, body, actor, decision=decision)
        db.session.flush()
        keep_on_refusal()  # the blocked attempt is part of the contact record
        raise LinkError("contact_blocked", decision.reason)

    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PlanLink(
        account_id=account.id,
        token_hash=token_hash(token),
        channel=channel,
        offer_fingerprint=offer_fingerprint,
        created_by=actor.key,
        created_at=now,
        expires_at=expires_at,
    )
    db.session.add(link)
    db.session.flush()
    with suppress(NoActivePolicy):
        policy_for_account(account, Exposure.LINK_SENT)  # a running experiment assigns its arm now
    # The token stays out of the body: the outbox keeps it beside it only until sent.
    subject, body = _message(account, channel, link_url(SECRET_MASK), expires_at)
    message = queue_collection_message(
        account,
        channel,
        "plan_link",
        subject,
        body,
        actor,
        link_id=link.id,
        decision=decision,
        secret=token,
        secret_until=expires_at,
    )
    link.outbox_message_id = message.id
    _revoke_older(link, actor, now)
    add_event(
        account.id,
        CaseEventKind.LINK_ISSUED,
        actor,
        {
            "link": link.id,
            "channel": channel,
            "offer": offer_fingerprint,
            "message": message.id,
            "send_after": message.send_after.isoformat(),
            "held_reason": message.held_reason,
        },
    )
    record(
        actor,
        Action.Link.ISSUED,
        ("plan_link", link.id),
        after={
            "account": account.id,
            "channel": channel,
            "offer": offer_fingerprint,
            "expires_at": expires_at.isoformat(),
        },
    )
    db.session.flush()
    return link


def revoke_link(link_id: int, actor: Actor) -> PlanLink:
    """Stop a link working (and its message going, if it has not gone yet)."""
    link = db.session.get(PlanLink, link_id)
    if link is None:
        raise LinkError("no_link")
    if link.revoked_at is not None:
        return link
    if link.used_at is not None:
        raise LinkError("already_used")
    _revoke(link, actor)
    db.session.flush()
    return link


def _revoke(link: PlanLink, actor: Actor, replaced_by: int | None = None) -> None:
    link.revoked_at, link.revoked_by = utcnow(), actor.key
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.link_id == link.id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.BLOCKED, blocked_reason=REVOKED_REASON, held_reason=None)
    )
    forget_link_secrets(link.id)
    data: dict[str, object] = {"link": link.id}
    if replaced_by is not None:
        data["replaced_by"] = replaced_by
    add_event(link.account_id, CaseEventKind.LINK_REVOKED, actor, data)
    record(
        actor, Action.Link.REVOKED, ("plan_link", link.id), after={"revoked_at": link.revoked_at.isoformat(), **data}
    )


def _revoke_older(link: PlanLink, actor: Actor, now: datetime) -> None:
    """Revoke the account's other links that may still reach the cardholder (not those
    whose message was blocked or failed: they never went, and keep saying why)."""
    older = db.session.execute(
        select(PlanLink)
        .where(
            PlanLink.account_id == link.account_id,
            PlanLink.id != link.id,
            PlanLink.revoked_at.is_(None),
            PlanLink.used_at.is_(None),
            PlanLink.expires_at > now,
        )
        .order_by(PlanLink.id)
    ).scalars()
    older_links = list(older)
    states = link_states(older_links, now)
    for old_link in older_links:
        if states[old_link.id].open:
            _revoke(old_link, actor, replaced_by=link.id)


# Each funnel step's case-file entry and audit action.
_STEP_NAMES: dict[LinkStep, tuple[CaseEventKind, Action.Link]] = {
    LinkStep.SENT: (CaseEventKind.LINK_SENT, Action.Link.SENT),
    LinkStep.DELIVERED: (CaseEventKind.LINK_DELIVERED, Action.Link.DELIVERED),
    LinkStep.OPENED: (CaseEventKind.LINK_OPENED, Action.Link.OPENED),
    LinkStep.VERIFIED: (CaseEventKind.LINK_VERIFIED, Action.Link.VERIFIED),
    LinkStep.OFFER_VIEWED: (CaseEventKind.LINK_OFFER_VIEWED, Action.Link.OFFER_VIEWED),
    LinkStep.ACCEPTED: (CaseEventKind.LINK_ACCEPTED, Action.Link.ACCEPTED),
}


def _stamp(link: PlanLink, step: LinkStep, actor: Actor, data: dict[str, object] | None = None) -> bool:
    """Set ``<step>_at`` the first time only, with its case event and audit record.

    The stamp is a conditional UPDATE: of many requests opening one link at once, only
    the one whose UPDATE changed the row (rowcount 1) writes the event and audit record.
    """
    kind, action = _STEP_NAMES[step]
    column = f"{step.value}_at"
    if getattr(link, column) is not None:
        return False
    at = utcnow()
    stamp_column = getattr(PlanLink, column)
    won = rowcount(
        db.session.execute(
            update(PlanLink)
            .where(PlanLink.id == link.id, stamp_column.is_(None))
            .values({column: at})
            .execution_options(synchronize_session=False)
        )
    )
    if won != 1:
        db.session.refresh(link, [column])
        return False
    set_committed_value(link, column, at)
    add_event(link.account_id, kind, actor, {"link": link.id, **(data or {})})
    record(actor, action, ("plan_link", link.id), after={column: at.isoformat(), **(data or {})})
    return True


def find_by_token(token: str) -> PlanLink | None:
    """The link a token belongs to, whatever its state; None for a malformed or unknown token."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        return None
    return db.session.execute(select(PlanLink).where(PlanLink.token_hash == token_hash(token))).scalar_one_or_none()


def open_link(token: str, ip: str | None = None) -> PlanLink | None:
    """The usable link for ``token``, stamped opened; None for unknown, expired, used,
    revoked or tampered tokens alike.

    Opening is a GET: it writes only the funnel's "opened" stamp, once per link. A
    refused token writes nothing (the access log and the rate limit see it)."""
    link = find_by_token(token)
    if link is None or not link.usable(utcnow()):
        return None
    _stamp(link, LinkStep.OPENED, Actor.anonymous(ip))
    db.session.flush()
    return link


def verified_link(link_id: int | None, account_id: int, ip: str | None = None) -> PlanLink | None:
    """The link remembered by a session, if it is still usable and bound to ``account_id``
    (the account that just proved who they are); stamped verified (once per link)."""
    link = db.session.get(PlanLink, link_id) if isinstance(link_id, int) else None
    if link is None or not link.usable(utcnow()):
        return None
    if link.account_id != account_id:
        # Someone else signed in with this link in their session: it gives them nothing.
        record(Actor.cardholder(account_id, ip), Action.Link.OTHER_ACCOUNT, ("plan_link", link.id))
        db.session.flush()
        return None
    _stamp(link, LinkStep.VERIFIED, Actor.cardholder(account_id, ip))
    db.session.flush()
    return link


def mark_offer_viewed(link_id: int, actor: Actor = SYSTEM) -> PlanLink:
    link = _get(link_id)
    _stamp(link, LinkStep.OFFER_VIEWED, actor)
    db.session.flush()
    return link


def mark_accepted(link_id: int, plan_id: int, actor: Actor = SYSTEM) -> PlanLink:
    """An offer was accepted through the link: it is used up. Repeating with the same plan
    is harmless; another plan through a used link raises ``LinkError("already_used")``."""
    link = _get(link_id)
    now = utcnow()
    claimed = rowcount(
        db.session.execute(
            update(PlanLink)
            .where(PlanLink.id == link_id, PlanLink.used_at.is_(None))
            .values(used_at=now, plan_id=plan_id)
        )
    )
    db.session.refresh(link)
    if not claimed:
        if link.plan_id == plan_id:
            return link
        raise LinkError("already_used")  # the caller rolls the acceptance back
    _stamp(link, LinkStep.ACCEPTED, actor, {"plan": plan_id})
    forget_link_secrets(link.id)
    db.session.flush()
    return link


def record_delivery(link_id: int, *, sent: bool, delivered: bool) -> None:
    """The outbox worker sent the link's message (the caller commits)."""
    link = db.session.get(PlanLink, link_id)
    if link is None:
        return
    if sent:
        _stamp(link, LinkStep.SENT, SYSTEM)
    if delivered:
        _stamp(link, LinkStep.DELIVERED, SYSTEM)


def _get(link_id: int) -> PlanLink:
    link = db.session.get(PlanLink, link_id)
    if link is None:
        raise LinkError("no_link")
    return link
