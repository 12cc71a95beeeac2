"""The audit-action and case-event registries, and the one actor notation.

The code is read as source (AST): every ``Action.<Group>.<NAME>`` and
``CaseEventKind.<NAME>`` it names must be registered, every registered one must be named
somewhere or listed as reserved, and no ``record()`` or ``add_event()`` call may name its
action or kind as a string.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from portal.audit.actions import RESERVED, Action, AuditAction, registered
from portal.audit.actors import Actor, ActorType, actor_key, parse_actor_key
from portal.audit.service import SYSTEM, record
from portal.care.labels import EVENT_KINDS
from portal.cases.models import RESERVED_KINDS, CaseEventKind
from portal.cases.service import add_event

PORTAL = Path(__file__).resolve().parents[2] / "portal"
REGISTRY = PORTAL / "audit" / "actions.py"


@cache
def _trees() -> list[tuple[Path, ast.AST]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(PORTAL.rglob("*.py"))]


def _dotted(node: ast.AST) -> str:
    """``Action.Plan.ACCEPTED`` for that attribute chain; "" for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return ""


def _named(prefix: str, *skip: Path) -> set[str]:
    """Every ``<prefix>.…`` attribute chain named in portal/ (outside ``skip``)."""
    found = set()
    for path, tree in _trees():
        if path in skip:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):  # inner chains too: Action.Plan of Action.Plan.X
                name = _dotted(node)
                if name.startswith(prefix + "."):
                    found.add(name)
    return found


def _calls(function: str) -> list[tuple[Path, ast.Call]]:
    return [
        (path, node)
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == function or getattr(node.func, "attr", None) == function)
    ]


def _no_strings(node: ast.AST) -> bool:
    """No string literal or f-string in the expression (either branch of ``a if c else b``)."""
    if isinstance(node, ast.IfExp):
        return _no_strings(node.body) and _no_strings(node.orelse)
    return not any(
        isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
        for n in ast.walk(node)
    )


# --- audit actions ------------------------------------------------------------------


def test_every_action_used_is_registered_and_every_registered_one_is_used_or_reserved():
    members = {f"Action.{type(m).__name__}.{m.name}": m for m in registered()}
    used = {name for name in _named("Action", REGISTRY) if name.count(".") == 2}
    assert used - set(members) == set(), "named in code but not registered"
    unused = {members[name] for name in set(members) - used}
    assert unused == set(RESERVED), "registered but neither used nor reserved (say why in RESERVED)"
    assert all(reason.strip() for reason in RESERVED.values())


def test_no_record_call_names_its_action_as_a_string():
    calls = _calls("record")
    assert len(calls) >= 44  # the audit trail's writers, found (not an empty scan)
    for path, call in calls:
        action = call.args[1] if len(call.args) > 1 else next(k.value for k in call.keywords if k.arg == "action")
        assert _no_strings(action), f"{path}:{call.lineno} names its action as a string"


def test_actions_are_unique_and_each_group_shares_one_prefix():
    values = [m.value for m in registered()]
    assert len(values) == len(set(values)) >= 60
    for group in AuditAction.__subclasses__():
        if group.__module__ == "portal.audit.actions":
            prefixes = {m.value.split(".")[0] for m in group}
            assert len(prefixes) == 1, group.__name__
            assert all(m.value.count(".") == 1 and m.value == m.value.lower() for m in group)


def test_record_refuses_a_string_that_is_not_a_registered_action():
    with pytest.raises(TypeError, match="unregistered audit action"):
        record(SYSTEM, "plan.accepted", ("plan", 1))  # type: ignore[arg-type]


def test_a_registered_action_is_stored_as_the_same_string_as_before():
    assert Action.Plan.ACCEPTED == "plan.accepted" and str(Action.Staff.SIGNED_IN) == "staff.signed_in"


# --- case-event kinds ---------------------------------------------------------------


def test_every_case_event_kind_is_written_somewhere_or_reserved_and_has_a_label():
    # Where kinds are defined and labelled does not count: only where they are written or read.
    named = _named("CaseEventKind", PORTAL / "cases" / "models.py", PORTAL / "care" / "labels.py")
    used = {name.split(".")[1] for name in named}
    assert {k.name for k in CaseEventKind} - used == {k.name for k in RESERVED_KINDS}
    assert used <= {k.name for k in CaseEventKind}
    assert set(CaseEventKind) <= set(EVENT_KINDS), "a kind without a label on the case file"


def test_no_add_event_call_names_its_kind_as_a_string():
    calls = _calls("add_event")
    assert len(calls) >= 20
    for path, call in calls:
        assert _no_strings(call.args[1]), f"{path}:{call.lineno} names its kind as a string"


def test_add_event_refuses_a_string_kind():
    with pytest.raises(TypeError, match="unregistered case-event kind"):
        add_event(1, "note", SYSTEM)  # type: ignore[arg-type]


# --- actors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "key"),
    [
        (Actor.staff(12), "staff:12"),
        (Actor.cardholder(5, "10.0.0.1"), "cardholder:5"),
        (SYSTEM, "system"),
        (Actor(ActorType.SYSTEM, "cli"), "system:cli"),
        (Actor.anonymous("10.0.0.1"), "anonymous"),
    ],
)
def test_one_notation_made_and_read_by_one_pair_of_functions(actor, key):
    assert actor.key == key == actor_key(actor.type, actor.id)
    assert parse_actor_key(key) == (actor.type, actor.id)


@pytest.mark.parametrize("key", ["12", "s:12", "c:5", "staff", "staff:", "staff:abc", "cardholder:5x", "robot:1", ""])
def test_anything_else_is_not_an_actor_key(key):
    with pytest.raises(ValueError):
        parse_actor_key(key)


def test_an_actor_of_an_unknown_type_is_refused():
    with pytest.raises(ValueError):
        Actor("robot", "1")  # type: ignore[arg-type]
    assert Actor("staff", "1").type is ActorType.STAFF  # type: ignore[arg-type]
