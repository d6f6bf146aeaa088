"""Pages: the template, the navigation a role sees, the one-time message after a change, and times in words."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request
from litestar.response import Redirect, Template

from central.users import ROLE_NAMES

# (path, label, roles that see it): the navigation, and the guards use the same role lists.
FLEET_ROLES = ("admin", "technician", "store_manager")
USERS_ROLES = ("admin",)
AUDIT_ROLES = ("admin", "privacy_officer")
STORES_ROLES = ("admin", "technician", "store_manager")  # a store manager: their own stores only
STORE_EDIT_ROLES = ("admin",)
STAFF_EDIT_ROLES = ("admin", "store_manager")
KEYS_ROLES = ("admin",)
PRIVACY_ROLES = ("privacy_officer",)
REPORTS_ROLES = ("admin", "marketer", "store_manager", "technician")  # which reports: console/pages/reports.py
OVERRIDE_ROLES = ("admin", "technician", "store_manager")
OFFERS_ROLES = ("admin", "marketer")  # the offer playbook: read and edit alike
SIGNAGE_ROLES = ("admin", "marketer")  # playlists, layouts and schedules: read and edit alike
CATALOG_ROLES = SIGNAGE_ROLES  # products, prices and menus: the signage page's handlers save them
BRAND_ROLES = SIGNAGE_ROLES  # the brand: the signage page's handlers save it
PUBLISHING_ROLES = ("admin", "marketer")  # publish; approve another person's publication
MEDIA_ROLES = ("admin", "marketer")  # the media library: upload, replace, delete
PREVIEW_ROLES = ("admin", "marketer", "store_manager")  # a store manager: their own stores only
DRAFT_ROLES = OFFERS_ROLES  # who may preview with the offer drafts
NAV = (("/offers", "Offers", OFFERS_ROLES), ("/media", "Media", MEDIA_ROLES), ("/signage", "Signage", SIGNAGE_ROLES),
       ("/catalog", "Products & prices", CATALOG_ROLES), ("/brand", "Brand", BRAND_ROLES),
       ("/preview", "Preview", PREVIEW_ROLES), ("/publishing", "Publishing", PUBLISHING_ROLES),
       ("/fleet", "Fleet", FLEET_ROLES),
       ("/overrides", "Overrides", OVERRIDE_ROLES), ("/stores", "Stores", STORES_ROLES),
       ("/reports", "Reports", REPORTS_ROLES), ("/users", "People", USERS_ROLES),
       ("/privacy", "Privacy desk", PRIVACY_ROLES), ("/audit", "Audit log", AUDIT_ROLES), ("/keys", "Keys", KEYS_ROLES))


def page(request: Request, name: str, *, status: int = 200, **context: object) -> Template:
    user = getattr(request.state, "user", None)
    session = request.scope.get("session")
    # A part of a page (htmx: a form's check as you type) leaves the notice to the page the person is going to.
    partial = bool(request.headers.get("HX-Request"))
    notice = session.pop("notice", None) if isinstance(session, dict) and not partial else None
    if notice:
        request.set_session(session)
    nav = [(path, label) for path, label, roles in NAV if user and user.role in roles]
    return Template(template_name=name, status_code=status,
                    context={"user": user, "role_name": ROLE_NAMES.get(user.role, "") if user else "", "nav": nav,
                             "notice": notice, "path": request.url.path, **context})


def done(request: Request, to: str, notice: str) -> Redirect:
    """After a change: back to a page (303, so a reload does not repeat it) with a one-time notice."""
    session = request.scope.get("session")
    request.set_session({**(session if isinstance(session, dict) else {}), "notice": notice})
    return Redirect(to, status_code=303)


def when(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "never"


def ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, int(seconds))} s ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"
