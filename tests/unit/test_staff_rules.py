"""Staff rules that need no app: roles, passwords, offer authority, search parsing, access declaration."""

from __future__ import annotations

import pytest

from portal.care.queries import search_kind
from portal.staff.access import staff_required
from portal.staff.authority import may_manage, offer_allowed
from portal.staff.models import Role
from portal.staff.service import normalise_email, password_problem, token_hash


def test_roles_are_the_five_strings():
    assert [r.value for r in Role] == ["agent", "supervisor", "policy_admin", "auditor", "staff_admin"]
    assert Role("supervisor") is Role.SUPERVISOR and Role.AGENT == "agent"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "password_too_short"),
        ("elevenchars", "password_too_short"),
        ("twelve chars", None),
        ("ada@bank.example", "password_is_email"),
        ("ADA@BANK.EXAMPLE", "password_is_email"),
        ("ada.lovelace", None),
        ("x" * 257, "password_too_long"),
    ],
)
def test_password_rules(password, problem):
    assert password_problem(password, "ada@bank.example") == problem


def test_password_that_is_the_mailbox_name_is_refused():
    assert password_problem("adalovelace1", "adalovelace1@bank.example") == "password_is_email"


def test_emails_are_lowercased_and_tokens_hashed():
    assert normalise_email("  Ada@Bank.Example ") == "ada@bank.example"
    assert len(token_hash("abc")) == 64 and token_hash("abc") != "abc"


@pytest.mark.parametrize(
    ("role", "agent_may", "needs_approval", "allowed"),
    [
        (Role.AGENT, True, False, True),
        (Role.AGENT, False, False, False),
        (Role.AGENT, False, True, False),
        (Role.SUPERVISOR, False, False, True),
        (Role.SUPERVISOR, True, False, True),
        (Role.SUPERVISOR, False, True, True),  # the cardholder's request then reaches approval
        (Role.POLICY_ADMIN, True, False, False),
        (Role.AUDITOR, True, False, False),
        (None, True, False, False),
    ],
)
def test_offer_authority(role, agent_may, needs_approval, allowed):
    assert offer_allowed(role, agent_may, needs_approval) is allowed


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("0017", "last4"),
        ("００１７", "last4"),
        ("+86 138 1234 5678", "phone"),
        ("13812345678", "phone"),
        ("Wang", "name_or_reference"),
        ("DEMO0004", "name_or_reference"),
        ("王小明", "name_or_reference"),
        ("00 17", "last4"),
        ("A123", "name_or_reference"),
        ("6222 0000 0000 0017", "card"),
        ("6222-0000-0000-0017", "card"),
        ("6222000000000018", "phone"),  # fails the Luhn check: not a card number
        ("li.na@Example.com", "email"),
        ("45678", "phone"),
        ("(0852) 5000.0001", "phone"),
        ("DEMO 0017", "name_or_reference"),
    ],
)
def test_search_kind(text, kind):
    assert search_kind(text) == kind


def test_staff_required_declares_its_roles_and_needs_one():
    @staff_required(Role.AGENT, Role.SUPERVISOR)
    def view():
        return "ok"

    assert view.allowed_roles == frozenset({Role.AGENT, Role.SUPERVISOR})
    assert view.__name__ == "view"
    with pytest.raises(TypeError):
        staff_required()
    with pytest.raises(TypeError):
        staff_required("agent")


@pytest.mark.parametrize("target", list(Role))
@pytest.mark.parametrize("manager", [None, *Role])
def test_who_may_manage_whom(manager, target):
    """A supervisor manages agents (and gives no other role); a staff admin everyone;
    nobody else anyone."""
    expected = manager is Role.STAFF_ADMIN or (manager is Role.SUPERVISOR and target is Role.AGENT)
    assert may_manage(manager, target) is expected
    for new_role in Role:
        gives = manager is Role.STAFF_ADMIN or (manager is Role.SUPERVISOR and new_role is Role.AGENT)
        assert may_manage(manager, target, new_role) is (expected and gives)
