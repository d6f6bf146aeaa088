"""The staff roles the devices know: the id in the staff bundle and the English name a screen shows.

Head office accepts only these (``central.stores``); the staff tablet shows the name in the screen's
language (each name is a msgid of the kiosk's catalogues). ``manager`` and ``technician`` may open the
kiosk's maintenance screen (``kiosk.maintenance``).
"""

from __future__ import annotations

STAFF_ROLES = {"manager": "Store manager", "technician": "Technician", "sales": "Sales assistant",
               "barista": "Barista", "cashier": "Cashier"}


def role_name(role: str) -> str:
    """The English name of a role id (an unknown id as it is)."""
    return STAFF_ROLES.get(role, role)
