"""The signing keys' rotation (admin): the active key id, every key id head office holds, and which of them each
device accepts (from its health report). Only key ids are shown: no key, private or public, leaves this page."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from central.content_files import ContentProblem
from central.fleet import fleet
from central.keys import Keyring, NoSigningKey, device_trust

from .. import session
from ..render import KEYS_ROLES, page

GUARDS = [session.allow(*KEYS_ROLES)]


@get("/keys", sync_to_thread=True, guards=GUARDS)
def keys_page(request: Request) -> Template:
    c = session.console(request)
    central = c.central.central
    problem = ""
    try:
        ring = Keyring(central.keys_dir)
        active, problem = ring.status()
        held = sorted(ring.keys)
    except (NoSigningKey, OSError, ValueError) as exc:  # an unsafe or unreadable key file: say which, show the rest
        active, held, problem = None, [], str(exc)
    try:
        known = c.stores()
    except ContentProblem:
        known = []
    devices = device_trust(fleet(c.db, now=c.clock.time(), stale_after_s=central.stale_after_s, stores=known))
    behind = [d for d in devices if d.trusts(active) is False]
    return page(request, "keys.html", active=active, held=held, problem=problem, devices=devices, behind=behind,
                folder=central.keys_dir)


ROUTES = [keys_page]
