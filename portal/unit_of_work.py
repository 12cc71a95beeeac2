"""One unit of work per request and per batch chunk, committed in one place.

Services add, change and flush; they never commit. The request's session is committed
once, after the view returned a response (Indico's ``RH.process()`` is the model), by the
``after_request`` hook installed here; CLI commands and batch jobs use
:func:`unit_of_work` (a context manager) around a command or around each chunk.

What a request's status decides:

- 2xx and 3xx: commit, if anything was written (a plain read commits nothing: its
  transaction is rolled back, which for a read is the same and costs no COMMIT).
- 4xx: roll back — a refused request changes nothing — unless a service said that what
  it wrote must outlive the refusal, with :func:`keep_on_refusal`: a failed sign-in
  attempt, a lockout, a used-up code, a contact attempt the rules blocked. That is a
  decision made where the state is written, never an accident of when a commit ran.
- 5xx or an exception: roll back everything, audit events included.

Work that must happen only once the data is safely stored (rendering and signing an
agreement, sending) is queued with :func:`after_commit`: it runs after a successful
COMMIT, in order, each callable in its own unit of work, and is dropped on rollback. A
failing callable is logged and does not turn a committed request into an error page:
what it would have done stays recorded as pending for its retry job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from portal.extensions import db

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_WROTE = "uow_wrote"
_KEEP = "uow_keep_on_refusal"
_AFTER = "uow_after_commit"
_OPEN = "uow_open"
_REFUSED = "uow_on_refusal"


# --- what the session wrote -----------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    # Only fires when a flush had changes to write.
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    # A bulk UPDATE / DELETE / INSERT statement writes without a flush.
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info[_WROTE] = True


# Both events also fire when a savepoint (``begin_nested``) is released or rolled back;
# only the end of the outermost transaction ends what the unit wrote and asked for.
@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the unit goes on
    session.info.pop(_WROTE, None)
    session.info.pop(_KEEP, None)
    session.info.pop(_REFUSED, None)  # committed: what was asked for a refusal is in


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: Any) -> None:
    if previous.parent is not None:
        return  # back to a savepoint: the unit goes on
    session.info.pop(_WROTE, None)
    session.info.pop(_KEEP, None)
    session.info.pop(_AFTER, None)  # work queued for a success that will not come


def mark_written() -> None:
    """Tell the unit of work that this transaction writes, where no ORM event can see it
    (a COPY through the driver's own cursor), before it does: the transaction is then
    open on the server too (``portal.connections.begin_now``), so the write is part of it."""
    from portal.connections import begin_now

    db.session().info[_WROTE] = True
    begin_now(db.session.connection())


def wrote(session: Session | None = None) -> bool:
    """Whether the current transaction has written anything."""
    return bool((session or db.session()).info.get(_WROTE))


# --- what services may ask of it --------------------------------------------------------


def keep_on_refusal() -> None:
    """Keep what this transaction wrote even if the request ends refused (4xx).

    For state that must persist exactly because a request was refused: attempt
    counters, lockouts, a used code, a blocked contact attempt."""
    db.session().info[_KEEP] = True


def on_refusal(work: Callable[[], object]) -> None:
    """If this request ends refused (4xx) and is rolled back, run ``work()`` afterwards in a
    unit of its own. For one small fact that stands whatever the page answers, without
    keeping the rest of what the request wrote: the session's last-seen time."""
    db.session().info.setdefault(_REFUSED, []).append(work)


def after_commit(work: Callable[[], object]) -> None:
    """Run ``work()`` after this unit of work commits; forget it if it rolls back."""
    db.session().info.setdefault(_AFTER, []).append(work)


def discard_after_commit() -> int:
    """Forget the work queued for this unit's commit; return how much. For batch jobs that
    leave it to its retry job on purpose (the simulator leaves agreements pending)."""
    return len(_take_after_commit())


def _take_after_commit() -> list[Callable[[], object]]:
    return list(db.session().info.pop(_AFTER, []))


def _run_after_commit(queued: list[Callable[[], object]]) -> None:
    # Each piece runs outside the committed unit; what it writes it commits itself
    # (through unit_of_work) or is committed here, one piece at a time.
    for work in queued:
        try:
            work()
            commit()
        except Exception:
            rollback()
            log.exception("after-commit work %r failed; it is left for its retry job", work)


def rollback() -> None:
    """Roll back the current unit of work and drop its after-commit work."""
    _take_after_commit()
    db.session.rollback()


def commit(*, last: bool = False) -> None:
    """Commit the current unit of work if it wrote anything (else end its read), then
    run its after-commit work (a read that ended well runs it too). The one place a
    request or a chunk commits.

    ``last``: nothing reads the unit's objects afterwards (the end of a request, whose
    session Flask-SQLAlchemy discards with the request's app context; only code that
    serves requests inside an app context of its own keeps the session, and then finds
    the objects detached rather than expired). A read is then ended by closing the
    session, not by rolling it back: the same for the database (the connection goes back
    to the pool, which ends any transaction), without first expiring every object the
    page loaded. A chunk of a batch job ends with a rollback: the job may read its
    objects again."""
    queued = _take_after_commit()
    db.session.flush()  # a change not flushed yet is a write too, not a read to end
    if wrote():
        db.session.commit()
    elif last:
        db.session().info.pop(_KEEP, None)  # as a rollback forgets it (_rolled_back)
        db.session.close()  # a read, at its end: ending it costs no COMMIT
    else:
        db.session.rollback()  # a read: ending it costs no COMMIT
    _run_after_commit(queued)


def _keep_refused() -> None:
    """Commit what a refused unit was asked to keep; the work queued for its success
    (an agreement to produce, a message to send) is dropped, as on a rollback."""
    _take_after_commit()
    db.session.commit()


class NestedUnitOfWorkError(RuntimeError):
    """A unit of work was opened inside another: its commit would end the outer one."""


@contextmanager
def unit_of_work() -> Iterator[None]:
    """A CLI command, a batch chunk or a test step: commit once at the end (if anything
    was written), roll back on an exception (unless :func:`keep_on_refusal` was asked).
    Units do not nest: a job made of chunks opens one per chunk and none around them."""
    session = db.session()
    if session.info.get(_OPEN):
        raise NestedUnitOfWorkError("a unit of work is already open")
    session.info[_OPEN] = True
    try:
        yield
    except BaseException:
        session.info.pop(_OPEN, None)
        # A refusal raised by a service that asked to keep what it wrote (a counted
        # attempt, a blocked contact) still keeps it, as a refused request does.
        if session.info.get(_KEEP):
            _keep_refused()
        else:
            rollback()
        raise
    session.info.pop(_OPEN, None)
    commit()


def one_unit_of_work(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a CLI command: all it writes is committed once, when it returns."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return command(*args, **kwargs)

    return run


# --- the request --------------------------------------------------------------------------


def finish_request(response: Response) -> Response:
    """Commit or roll back the request's unit of work according to its status."""
    if not db.session.registry.has():
        return response  # the request never opened a session: nothing to end (a guide, a form)
    status = response.status_code
    if status < 400:
        commit(last=True)
    elif status < 500 and db.session().info.get(_KEEP):
        _keep_refused()
    else:
        redo = db.session().info.pop(_REFUSED, []) if status < 500 else []
        rollback()
        for work in redo:
            try:
                with unit_of_work():
                    work()
            except Exception:
                log.exception("work kept for a refused request failed: %r", work)
    return response


def init_app(app: Flask) -> None:
    """Install the request-end commit. Registered first, so that it runs last of the
    ``after_request`` hooks: nothing that follows it can still write."""
    app.after_request(finish_request)
