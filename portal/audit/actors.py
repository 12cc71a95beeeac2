"""Who acts, and the one way an actor is written down.

An actor is a type and, for people, an id: the cardholder's account id or the staff
user's id. Stored data names an actor by its **key**:

* ``staff:12``, ``cardholder:5`` — a person;
* ``system`` (or ``system:cli`` for a command run by an operator) and ``anonymous``.

Single-column references (a policy version's author, submitter and approver, a plan's
``decided_by``, a link's ``created_by`` and ``revoked_by``) hold the key itself; the audit
trail and the case file keep its two parts in ``actor_type`` and ``actor_id`` (audit rows
are hash-chained and cannot be rewritten), and :attr:`Actor.key` joins them the same way.
:func:`actor_key` makes a key and :func:`parse_actor_key` reads one; nothing else splits
on ``:``. Older rows that held a bare staff id were rewritten by a migration, so the
parser accepts keys only.

Flask-Login ids (``s:12``, ``c:5``) are not actor keys: they live in signed session
cookies and in ``web_sessions.principal``, and changing them would sign everyone out at
deploy. They are made and read only in ``portal.auth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorType(StrEnum):
    CARDHOLDER = "cardholder"
    STAFF = "staff"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


# Types that name a person by a numeric id; the others may carry a free word (``system:cli``).
_PEOPLE = (ActorType.CARDHOLDER, ActorType.STAFF)


def actor_key(type_: ActorType | str, id_: str | int | None = None) -> str:
    """The stored name of an actor: ``staff:12``, ``cardholder:5``, ``system``, ``anonymous``."""
    kind = ActorType(type_)
    if id_ is None or id_ == "":
        return kind.value
    return f"{kind.value}:{id_}"


def parse_actor_key(key: str) -> tuple[ActorType, str | None]:
    """The type and id an actor key names; ``ValueError`` for anything else."""
    kind, sep, ident = key.partition(":")
    try:
        type_ = ActorType(kind)
    except ValueError:
        raise ValueError(f"not an actor key: {key!r}") from None
    if not sep:
        if type_ in _PEOPLE:
            raise ValueError(f"a {type_} key needs an id: {key!r}")
        return type_, None
    if not ident or (type_ in _PEOPLE and not ident.isdigit()):
        raise ValueError(f"not an actor key: {key!r}")
    return type_, ident


@dataclass(frozen=True)
class Actor:
    """Who acts: a cardholder (account id), a staff member, the system or anonymous."""

    type: ActorType
    id: str | None = None
    ip: str | None = None

    def __post_init__(self) -> None:
        # ``Actor("staff", "1")`` still works, but an unknown type is refused here.
        object.__setattr__(self, "type", ActorType(self.type))

    @classmethod
    def staff(cls, staff_id: int | str, ip: str | None = None) -> Actor:
        return cls(ActorType.STAFF, str(staff_id), ip)

    @classmethod
    def cardholder(cls, account_id: int | str, ip: str | None = None) -> Actor:
        return cls(ActorType.CARDHOLDER, str(account_id), ip)

    @classmethod
    def anonymous(cls, ip: str | None = None) -> Actor:
        return cls(ActorType.ANONYMOUS, None, ip)

    @property
    def key(self) -> str:
        return actor_key(self.type, self.id)


SYSTEM = Actor(ActorType.SYSTEM)
