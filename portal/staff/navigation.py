"""The staff navigation: the areas the signed-in member of staff may open, with links.

Every staff page lists them, and they change only with the role, the language and where
the portal is mounted, so each app builds the list once per such key instead of asking,
on every page, each area's roles, its URL and its translated name.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.staff.access import current_staff

AREAS = (
    ("care.queue", _l("Work queues")),
    ("care.search", _l("Find an account")),
    ("care.approvals", _l("Approvals")),
    ("care_messages.index", _l("Message delivery")),
    ("core_banking.dead_letter_list", _l("Core system deliveries")),
    ("care_payments.index", _l("Unmatched payments")),
    ("reports.funnel", _l("Results")),
    ("staff.admin_home", _l("Administration")),
    ("staff_admin.index", _l("Staff")),
)
_KEPT = 64  # keys per app: roles × languages × mount points


class NavItem(NamedTuple):
    endpoint: str
    href: str
    label: str


def staff_nav() -> list[NavItem]:
    """The areas the signed-in member of staff may open (none for anyone else), in order."""
    staff = current_staff()
    if staff is None:
        return []
    key = (staff.role, str(get_locale()), request.script_root)
    built: dict[tuple[str, str, str], list[NavItem]] = current_app.extensions.setdefault("portal.staff_nav", {})
    found = built.get(key)
    if found is None:
        views = current_app.view_functions
        found = [
            NavItem(endpoint, url_for(endpoint), str(label))
            for endpoint, label in AREAS
            if staff.role in getattr(views.get(endpoint), "allowed_roles", ())
        ]
        if len(built) < _KEPT:
            built[key] = found
    return found
