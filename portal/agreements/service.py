"""Agreements: created with the plan, produced (rendered, signed, stored), downloaded, verified.

The acceptance service adds the pending agreement to the acceptance transaction
(:func:`create_pending_agreement`) and queues :func:`produce_agreement` to run after
that transaction commits (``portal.unit_of_work.after_commit``). Producing is separate
because rendering and signing can fail (a font, a key, a timestamp server) and must
never undo an accepted plan: a failed attempt is counted and left pending with a
``next_attempt_at``. The outbox worker that already runs (``portal deliver``) retries
due agreements each round with backoff (:func:`retry_due_agreements`): 1, 2, 4 …
minutes, at most an hour apart, never giving up; ``flask portal agreements retry`` tries
every pending one at once. Each agreement is a unit of work of its own (a batch chunk):
producing, recording a failure and a worker's claim each commit once, through
``portal.unit_of_work``.

Where the signed bytes are kept is the deployment's choice (``portal.integrations.storage``:
the agreement's row, or an S3-compatible object store); the SHA-256 always stays in the
row, and every read (:func:`signed_pdf`) is checked against it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update

from portal.agreements import render, signing
from portal.agreements.models import Agreement, AgreementState
from portal.agreements.reference import BadReferenceError, new_reference, parse_reference
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record
from portal.auth import CardholderIdentity
from portal.db_types import rowcount, utcnow
from portal.extensions import db
from portal.integrations.storage import StorageError, StoredDocument, Stores
from portal.plans.models import Plan
from portal.security import mask_name
from portal.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def _unused_reference() -> str:
    # 40 random bits: a clash is vanishingly rare, but cheap to rule out.
    with db.session.no_autoflush:
        while True:
            reference = new_reference()
            taken = db.session.execute(select(Agreement.id).where(Agreement.reference == reference)).first()
            if taken is None:
                return reference


def create_pending_agreement(plan: Plan) -> Agreement:
    """Add a pending agreement with a new reference for ``plan`` to the current
    transaction (flushed, so its id is known). Writes nothing else and does not
    commit: the caller does."""
    agreement = Agreement(plan=plan, reference=_unused_reference(), state=AgreementState.PENDING, attempts=0)
    db.session.add(agreement)
    db.session.flush()
    return agreement


FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# A pending agreement never tried (its request died before producing it) waits this long
# for the request that created it before the worker takes it over.
UNTRIED_GRACE = timedelta(minutes=1)
# A worker's claim on an agreement: others leave it alone while it renders and signs.
CLAIM = timedelta(minutes=10)


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: 1, 2, 4 … minutes, at most an hour."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 6), LONGEST_RETRY)


def _record_failure(agreement_id: int, message: str) -> None:
    try:
        with unit_of_work():
            agreement = db.session.get(Agreement, agreement_id, populate_existing=True)
            attempts = (agreement.attempts if agreement else 0) + 1
            db.session.execute(
                update(Agreement)
                .where(Agreement.id == agreement_id, Agreement.state == AgreementState.PENDING)
                .values(
                    attempts=Agreement.attempts + 1,
                    last_error=message[:200],
                    next_attempt_at=utcnow() + retry_delay(attempts),
                )
            )
    except Exception:
        log.exception("agreement %s: could not record the failed attempt", agreement_id)


def _stores() -> Stores:
    from flask import current_app

    stores = current_app.extensions.get("agreement_stores")
    if stores is None:
        stores = current_app.extensions["agreement_stores"] = Stores(current_app.config)
    return stores


def produce_agreement(agreement_id: int) -> bool:
    """Render, sign and store agreement ``agreement_id`` and audit it, in one unit of
    work of its own: call it outside any other (after a commit, or from a job).

    Returns True when the agreement is signed (now or before). On any failure nothing
    is half-written: the unit rolls back, ``attempts`` goes up, ``last_error`` says
    which step failed (no personal data) and False is returned.
    """
    steps = ["render"]
    uploaded: list[StoredDocument] = []
    try:
        with unit_of_work():
            return _produce(agreement_id, steps, uploaded)
    except Exception as exc:
        _forget_unused(agreement_id, uploaded)
        log.exception("agreement %s: %s failed (%s)", agreement_id, steps[-1], type(exc).__name__)
        _record_failure(agreement_id, f"{steps[-1]} failed: {type(exc).__name__}")
        return False
    finally:
        db.session.expire_all()


def _forget_unused(agreement_id: int, uploaded: list[StoredDocument]) -> None:
    """Delete the objects this attempt uploaded that the agreement's row does not name (its
    unit rolled back). Asks the database first: a failure after the commit must not
    delete the document of a signed agreement, and when in doubt the object stays."""
    if not any(stored.key for stored in uploaded):
        return
    try:
        with unit_of_work():
            kept = db.session.execute(select(Agreement.pdf_key).where(Agreement.id == agreement_id)).scalar()
    except Exception:
        log.warning("agreement %s: could not tell whether its uploaded object is used; left in place", agreement_id)
        return
    for stored in uploaded:
        if stored.key and stored.key != kept:
            _stores().reader(stored).delete(stored)


def _produce(agreement_id: int, steps: list[str], uploaded: list[StoredDocument]) -> bool:
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None:
        log.error("agreement %s does not exist", agreement_id)
        return False
    if agreement.state == AgreementState.SIGNED:
        return True
    unsigned = render.render_pdf(agreement)
    steps.append("sign")
    signed = signing.sign_pdf(unsigned, reason=f"Repayment agreement {agreement.reference}", location=_bank_name())
    digest = signing.sha256_hex(signed)
    steps.append("store")
    store = _stores().writer()
    stored = store.put(signed, digest)
    uploaded.append(stored)
    # Conditional on still pending: two workers racing on one agreement store once,
    # so every download returns the bytes of the first signature.
    result = db.session.execute(
        update(Agreement)
        .where(Agreement.id == agreement_id, Agreement.state == AgreementState.PENDING)
        .values(
            state=AgreementState.SIGNED,
            pdf=stored.inline,
            pdf_key=stored.key,
            sha256=digest,
            signed_at=utcnow(),
            attempts=Agreement.attempts + 1,
            last_error=None,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        uploaded.clear()
        store.delete(stored)  # another worker stored it first: this copy is nobody's
        return True
    record(
        SYSTEM,
        Action.Agreement.SIGNED,
        ("agreement", agreement_id),
        after={"reference": agreement.reference, "plan_id": agreement.plan_id, "sha256": digest},
    )
    return True


def pending_ids() -> list[int]:
    return list(
        db.session.execute(
            select(Agreement.id).where(Agreement.state == AgreementState.PENDING).order_by(Agreement.id)
        ).scalars()
    )


@dataclass(frozen=True)
class RetryResult:
    pending: int
    produced: int
    failed: int


def produce_pending() -> RetryResult:
    """Produce every pending agreement, oldest first."""
    ids = pending_ids()
    produced = sum(1 for agreement_id in ids if produce_agreement(agreement_id))
    return RetryResult(len(ids), produced, len(ids) - produced)


def _due(now: datetime) -> ColumnElement[bool]:
    untried = and_(Agreement.next_attempt_at.is_(None), Agreement.created_at <= now - UNTRIED_GRACE)
    return and_(Agreement.state == AgreementState.PENDING, or_(Agreement.next_attempt_at <= now, untried))


def _claim(agreement_id: int, now: datetime) -> bool:
    """Take one due agreement for this worker (conditional UPDATE: one worker wins)."""
    with unit_of_work():
        won = rowcount(
            db.session.execute(
                update(Agreement)
                .where(Agreement.id == agreement_id, _due(now))
                .values(next_attempt_at=now + CLAIM)
                .execution_options(synchronize_session=False)
            )
        )
    return bool(won)


def retry_due_agreements(limit: int = 20) -> RetryResult:
    """Produce the pending agreements whose next attempt is due; for the outbox worker.

    Several workers may run at once: each claims an agreement before rendering it. A
    failure sets the next attempt by :func:`retry_delay`.
    """
    now = utcnow()
    with unit_of_work():  # a read: ends without a commit
        query = select(Agreement.id).where(_due(now)).order_by(Agreement.id).limit(limit)
        ids = list(db.session.execute(query).scalars())
    claimed = [agreement_id for agreement_id in ids if _claim(agreement_id, now)]
    produced = sum(1 for agreement_id in claimed if produce_agreement(agreement_id))
    return RetryResult(len(claimed), produced, len(claimed) - produced)


def may_download(identity: object, agreement: Agreement) -> bool:
    """Who may download ``agreement``: today only the cardholder whose account the plan
    is on. Staff roles are added here, and only here."""
    if isinstance(identity, CardholderIdentity):
        return identity.account.id == agreement.plan.account_id
    return False


def find_agreement(reference: str) -> Agreement | None:
    """The agreement with this canonical reference, in any state."""
    return db.session.execute(select(Agreement).where(Agreement.reference == reference)).scalar_one_or_none()


# --- verification --------------------------------------------------------------

GENUINE = "genuine"
ON_RECORD = "on_record"  # a reference alone: the bank signed such an agreement; no file was compared
MISMATCH = "mismatch"  # a genuine file, but not the agreement with the reference typed
MISTYPED = "mistyped"  # the check symbol caught a typing mistake
UNKNOWN = "unknown"  # a well-formed reference we never issued
PENDING = "pending"  # issued, not yet signed
NOT_PDF = "not_pdf"
NOT_GENUINE = "not_genuine"


@dataclass(frozen=True)
class Verdict:
    """The answer of a verification. ``detail`` is a short English reason (for the CLI
    and logs). Only ``reference``, ``plan_type``, ``signed_at`` and ``signer`` (masked)
    may be shown to the public."""

    outcome: str
    detail: str = ""
    reference: str | None = None
    plan_type: str | None = None
    signed_at: datetime | None = None
    time_zone: str | None = None
    signer: str | None = None

    @property
    def genuine(self) -> bool:
        return self.outcome == GENUINE


def _genuine(
    agreement: Agreement,
    outcome: str = GENUINE,
    detail: str = "signature valid, whole file covered, SHA-256 matches the stored agreement",
) -> Verdict:
    signature = agreement.plan.signature
    return Verdict(
        outcome,
        detail,
        reference=agreement.reference,
        plan_type=agreement.plan.plan_type,
        signed_at=agreement.signed_at,
        time_zone=signature.time_zone if signature else None,
        signer=mask_name(signature.typed_name) if signature else None,
    )


class DocumentUnavailableError(RuntimeError):
    """The signed PDF cannot be had now: the store did not return it. Not a verdict on it."""


class DocumentAlteredError(RuntimeError):
    """The stored bytes are not those the bank signed: their SHA-256 differs from the row's."""


def signed_pdf(agreement: Agreement) -> bytes:
    """The signed PDF of ``agreement``, from wherever it is kept, checked against the
    SHA-256 in its row. Raises DocumentAlteredError if the bytes changed (never served)
    and DocumentUnavailableError if the store cannot return them now."""
    # The key first: when the object store holds the bytes, the deferred column stays unread.
    stored = StoredDocument(key=agreement.pdf_key) if agreement.pdf_key else StoredDocument(inline=agreement.pdf)
    try:
        data = _stores().reader(stored).get(stored)
    except StorageError as problem:
        log.error("agreement %s: the stored document cannot be read: %s", agreement.id, problem)
        raise DocumentUnavailableError(str(problem)) from None
    if agreement.sha256 is None or signing.sha256_hex(data) != agreement.sha256:
        log.error("agreement %s: the stored document does not match its SHA-256", agreement.id)
        raise DocumentAlteredError("the stored document does not match its SHA-256")
    return data


def _stored_is_sound(agreement: Agreement) -> signing.SignatureCheck:
    try:
        pdf = signed_pdf(agreement)
    except DocumentAlteredError as altered:
        return signing.SignatureCheck(False, str(altered))
    return signing.check_signature(pdf)


def verify_reference(text: str) -> Verdict:
    """Check a typed reference: is there a signed agreement, and are its stored bytes
    still exactly what the bank signed? No document was compared, so the answer is at
    best ON_RECORD (what the bank knows of it), never GENUINE."""
    try:
        reference = parse_reference(text)
    except BadReferenceError as exc:
        return Verdict(MISTYPED, str(exc))
    agreement = find_agreement(reference)
    if agreement is None:
        return Verdict(UNKNOWN, "no agreement has this reference", reference=reference)
    if agreement.state != AgreementState.SIGNED:
        return Verdict(PENDING, "the agreement is not signed yet", reference=reference)
    check = _stored_is_sound(agreement)
    if not check.ok:
        log.error("agreement %s: stored document fails verification: %s", agreement.id, check.problem)
        return Verdict(NOT_GENUINE, check.problem or "", reference=reference)
    return _genuine(agreement, ON_RECORD, "the bank signed an agreement with this reference; no file was compared")


def verify_document(data: bytes) -> Verdict:
    """Check an uploaded PDF: the bank's signature is valid over the whole file AND the
    file's SHA-256 is that of an agreement the bank stored."""
    if not data.startswith(b"%PDF-"):
        return Verdict(NOT_PDF, "not a PDF file")
    check = signing.check_signature(data)
    digest = signing.sha256_hex(data)
    agreement = db.session.execute(
        select(Agreement).where(Agreement.sha256 == digest, Agreement.state == AgreementState.SIGNED)
    ).scalar_one_or_none()
    if not check.ok:
        return Verdict(NOT_GENUINE, check.problem or "the signature is not valid")
    if agreement is None:
        return Verdict(NOT_GENUINE, "the signature is valid, but its SHA-256 matches no agreement the bank issued")
    return _genuine(agreement)


def verify_document_with_reference(data: bytes, text: str) -> Verdict:
    """Check an uploaded PDF against the reference typed beside it: a genuine file whose
    reference is another is reported as a mismatch, not as genuine."""
    verdict = verify_document(data)
    if verdict.outcome != GENUINE or not text.strip():
        return verdict
    try:
        reference = parse_reference(text)
    except BadReferenceError as exc:
        return Verdict(MISTYPED, str(exc))
    if reference != verdict.reference:
        return Verdict(MISMATCH, "the file is a genuine agreement, but its reference is another", reference=reference)
    return verdict


def _bank_name() -> str:
    from flask import current_app

    return str(current_app.config["BANK_NAME"])
