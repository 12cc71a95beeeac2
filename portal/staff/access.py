"""Who may open a staff page: declared on the view with ``@staff_required(Role...)``.

Anonymous visitors are sent to the staff sign-in page; a cardholder session or a member
of staff without one of the roles gets a translated 403 page. The roles are kept on the
view (``view.allowed_roles``) so a test can walk every route and check them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user

from portal.audit.service import Actor
from portal.staff.models import Role


def current_staff() -> Any | None:
    """The signed-in ``StaffIdentity``, or None (anonymous or a cardholder)."""
    if current_user and current_user.is_authenticated and getattr(current_user, "kind", None) == "staff":
        return current_user._get_current_object()
    return None


def staff_actor() -> Actor:
    """The audit actor for the signed-in member of staff."""
    staff = current_staff()
    if staff is None:
        raise RuntimeError("staff_actor() outside a staff request")
    return Actor.staff(staff.id, request.remote_addr)


def forbidden() -> tuple[str, int]:
    return render_template("staff/forbidden.html"), 403


def staff_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only signed-in staff with one of ``roles`` (at least one role is required)."""
    if not roles or not all(isinstance(role, Role) for role in roles):
        raise TypeError("staff_required needs one or more Role values")
    allowed = frozenset(roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                path = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("staff.sign_in", next=path))
            staff = current_staff()
            if staff is None or staff.role not in allowed:
                return forbidden()
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorate


def can_open(endpoint: str) -> bool:
    """True when the signed-in member of staff may open ``endpoint`` (for navigation)."""
    staff = current_staff()
    view = current_app.view_functions.get(endpoint)
    roles = getattr(view, "allowed_roles", None)
    return bool(staff and roles and staff.role in roles)


def home_endpoint(role: Role) -> str:
    """Where a member of staff lands after sign-in."""
    if role is Role.STAFF_ADMIN:
        return "staff_admin.index"
    return "care.queue" if role in (Role.AGENT, Role.SUPERVISOR) else "staff.admin_home"
