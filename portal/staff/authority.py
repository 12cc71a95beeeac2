"""Which offers a member of staff may choose for a cardholder: one rule for every route.

The care page (which offers it lets staff pick) and the links service (which refuses the
pick when the link is issued) both ask ``offer_allowed``, so they cannot disagree.
"""

from __future__ import annotations

from portal.staff.models import Role


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
