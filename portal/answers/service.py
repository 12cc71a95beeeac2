"""What happens when a question is asked on the page: it is answered, kept, and, when a
rule says so, handed to a person.

:func:`answer_question` answers with :func:`portal.answers.ask.ask`, keeps the question
without account data (:class:`AskedQuestion`), and for a signed-in cardholder whose
question a rule routed to a person opens a question task on their case for care staff
(``portal.cases.tasks``), once per reason while one is open; a dispute also sets the
dispute flag through the care desk's own service (``portal.care.service.add_flag``),
which pauses collection messages, offers and signing, with the same case-file entry and
audit record as when an agent sets it. It flushes; the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select

from portal.answers.ask import Answer, ask, normalised_question
from portal.answers.models import AskedQuestion
from portal.answers.rules import Escalation
from portal.audit.service import Actor
from portal.care.service import add_flag
from portal.cases.models import CaseTask, TaskKind
from portal.cases.tasks import open_task
from portal.domain.scrub import scrub_identifiers
from portal.extensions import db


@dataclass(frozen=True)
class Reply:
    answer: Answer
    task_opened: bool = False  # a new task for care staff (False: none needed, or one was open)
    disputed: bool = False  # the dispute pause was set by this question


def answer_question(
    question: str, locale: str, *, account_id: int | None, actor: Actor, currency: str | None = None
) -> Reply:
    """Answer, keep and, if a rule says so, route ``question`` (already checked non-empty)."""
    kept = scrub_identifiers(question.strip())
    answer = ask(kept, locale, currency=currency)
    db.session.add(
        AskedQuestion(
            locale=locale,
            question=answer.question,
            grouped=normalised_question(answer.question),
            topic=answer.topic,
            score=Decimal(str(round(answer.score, 3))),
            confident=answer.confident,
            escalate=answer.escalate.value if answer.escalate else None,
        )
    )
    db.session.flush()
    if answer.escalate is None or account_id is None:
        return Reply(answer)
    return Reply(answer, *_hand_over(account_id, answer.escalate, answer.question, actor))


def _hand_over(account_id: int, reason: Escalation, question: str, actor: Actor) -> tuple[bool, bool]:
    disputed = reason is Escalation.DISPUTE and add_flag(account_id, "dispute", actor, note=question)
    waiting = db.session.execute(
        select(CaseTask.id).where(
            CaseTask.account_id == account_id,
            CaseTask.kind == TaskKind.QUESTION.value,
            CaseTask.reason == reason.value,
            CaseTask.done_at.is_(None),
        )
    ).first()
    if waiting is not None:
        return False, disputed
    open_task(account_id, TaskKind.QUESTION, actor, reason=reason.value, note=question)
    return True, disputed


@dataclass(frozen=True)
class Unanswered:
    grouped: str
    locale: str
    count: int
    last_asked: datetime
    example: str  # the most recent wording, as kept
    topic: str | None  # the guide the weak match pointed at, if any


def unanswered(since: datetime, locale: str | None = None, limit: int = 200) -> list[Unanswered]:
    """Questions with no confident answer and no hand-over since ``since``, counted by
    their normalised wording, the most recently asked first."""
    where = [AskedQuestion.asked_at >= since, AskedQuestion.confident.is_(False), AskedQuestion.escalate.is_(None)]
    if locale:
        where.append(AskedQuestion.locale == locale)
    groups = (
        select(
            AskedQuestion.grouped,
            AskedQuestion.locale,
            func.count().label("count"),
            func.max(AskedQuestion.id).label("last_id"),
        )
        .where(*where)
        .group_by(AskedQuestion.grouped, AskedQuestion.locale)
        .subquery()
    )
    rows = db.session.execute(
        select(groups.c.grouped, groups.c.locale, groups.c["count"], AskedQuestion)
        .join(AskedQuestion, AskedQuestion.id == groups.c.last_id)
        .order_by(AskedQuestion.asked_at.desc(), AskedQuestion.id.desc())
        .limit(limit)
    ).all()
    return [Unanswered(g, loc, n, q.asked_at, q.question, q.topic) for g, loc, n, q in rows]


def prune(before: datetime) -> int:
    """Delete questions asked before ``before``; how many went."""
    result = db.session.execute(delete(AskedQuestion).where(AskedQuestion.asked_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
