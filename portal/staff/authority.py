"""Which offers a member of staff may choose for a cardholder: one rule for every route.

The care page (which offers it lets staff pick) and the links service (which refuses the
pick when the link is issued) both ask ``offer_allowed``, so they cannot disagree.
"""

from __future__ import annotations

from portal.staff.models import Role

# Who decides the requests that need approval (the approvals page, and the navigation's
# count of what waits there).
APPROVERS: tuple[Role, ...] = (Role.SUPERVISOR,)


def offer_allowed(role: Role | None, agent_may_offer: bool, needs_approval: bool) -> bool:
    """Whether staff with ``role`` may pre-select this offer in a plan link.

    An agent only within the policy's agent authority (which never includes an offer that
    needs approval). A supervisor any offer: one that needs approval is not granted by the
    link, the cardholder requests it and the request reaches the approval queue like any
    other. Other roles, and staff whose role is unknown, none.
    """
    if role is Role.SUPERVISOR:
        return True
    return role is Role.AGENT and agent_may_offer and not needs_approval


# --- who may manage whose staff account ----------------------------------------------

# Roles that open the staff pages, and the roles each may give, take away or act on: a
# supervisor runs the agents of the desk; a staff admin everyone. Policy admins and
# auditors manage nobody (a policy admin who could make a second policy admin could
# approve their own draft; an auditor only reads).
MANAGERS: dict[Role, frozenset[Role]] = {
    Role.SUPERVISOR: frozenset({Role.AGENT}),
    Role.STAFF_ADMIN: frozenset(Role),
}


def manageable_roles(manager: Role | None) -> frozenset[Role]:
    """The roles whose accounts ``manager`` may create and change (and may give)."""
    return MANAGERS.get(manager, frozenset()) if manager is not None else frozenset()


def may_manage(manager: Role | None, target: Role, new_role: Role | None = None) -> bool:
    """Whether staff with role ``manager`` may act on an account with role ``target``
    (and, when changing its role, give it ``new_role``). Acting on one's own account and
    leaving no active staff admin are refused by the service, whatever the role."""
    allowed = manageable_roles(manager)
    return target in allowed and (new_role is None or new_role in allowed)
