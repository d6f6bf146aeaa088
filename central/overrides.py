"""Emergency overrides at head office: what may be sent where and for how long, which are on now, when each
ends in its stores' local time, and how many screens show it.

The command line and the console both call these (and ``HeadOffice.start_override`` / ``end_override``, which
sign, publish and audit). A screen is a device ``stores.csv`` names whose kind shows overrides (a signage
device: ``central.fleet.device_kind``, by its id): the signage player puts an override on the screen and says
so with an ``override_shown`` event when it does and when it takes it off (``central.ingest`` keeps the newest
per override and device).
The kiosk and the staff tablet do not show overrides, so they are not counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sync.protocol.overrides import MAX_DURATION_S, STYLES

from .content_files import Store
from .db import Database
from .fleet import device_kind

SCREEN_KINDS = ("signage",)
SCOPE_KINDS = ("chain", "region", "store", "device")
MAX_TITLE, MAX_BODY = 40, 120  # what the signage message slide shows without clipping or overlap (tests/ui)
EXPIRY_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
_EXPIRY_RE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class OverrideError(ValueError):
    """An override that cannot be sent or ended as asked; the message says why and what would do."""


def expiry_seconds(text: str) -> float:
    """``30m``, ``2h``, ``1d``; a bare number is minutes. More than 0 and at most 7 days."""
    match = _EXPIRY_RE.fullmatch(str(text).lower())
    unit = match and (match.group(2) or "m")
    if not match or unit not in EXPIRY_UNITS:
        raise OverrideError(f"expiry {text!r} is not a duration like 30m, 2h or 1d (a bare number is minutes)")
    seconds = float(match.group(1)) * EXPIRY_UNITS[unit]
    if seconds <= 0:
        raise OverrideError("an override needs an expiry after now: give at least 1 minute")
    if seconds > MAX_DURATION_S:
        raise OverrideError(f"expiry {text} is not within 7 days: an override lasts at most 7d (168h)")
    return seconds


def _listing(names: Iterable[str]) -> str:
    names = sorted(set(names))
    return ", ".join(names) if names else "none"


def scope_for(stores: Sequence[Store], kind: str, name: str = "") -> str:
    """The scope of a target (``region``, ``north``), refused with the valid names when it is not in stores.csv."""
    if kind == "chain":
        return "chain"
    if kind == "region" and name not in {s.region for s in stores}:
        raise OverrideError(f"no region {name!r}; regions: {_listing(s.region for s in stores)}")
    if kind == "store" and name not in {s.store for s in stores}:
        raise OverrideError(f"no store {name!r}; stores: {_listing(s.store for s in stores)}")
    if kind == "device":
        screens = [d for _, d in screens_in(stores, "chain")]
        owner = store_of(stores, name)
        if owner is None:
            raise OverrideError(f"no device {name!r}; screens: {_listing(screens)}")
        if device_kind(name) not in SCREEN_KINDS:
            raise OverrideError(f"{name} is a {device_kind(name)}, which does not show overrides; screens:"
                                f" {_listing(screens)}")
    if kind not in SCOPE_KINDS:
        raise OverrideError(f"scope {kind!r} is not one of {', '.join(SCOPE_KINDS)}")
    return f"{kind}/{name}"


def parse_scope(stores: Sequence[Store], scope: str) -> str:
    """``region/north`` and the like, checked as :func:`scope_for` checks it."""
    kind, _, name = scope.partition("/")
    if (kind == "chain") != (not name):
        raise OverrideError(f"scope {scope!r} is not chain, region/<r>, store/<s> or device/<d>")
    return scope_for(stores, kind, name)


def store_of(stores: Sequence[Store], device: str) -> Store | None:
    return next((s for s in stores if device in s.devices), None)


def stores_in(stores: Sequence[Store], scope: str) -> list[Store]:
    kind, _, name = scope.partition("/")
    return [s for s in stores if kind == "chain" or (kind == "region" and s.region == name)
            or (kind == "store" and s.store == name) or (kind == "device" and name in s.devices)]


def screens_in(stores: Sequence[Store], scope: str) -> list[tuple[str, str]]:
    """(store, device) of every screen the scope reaches."""
    kind, _, name = scope.partition("/")
    return [(s.store, d) for s in stores_in(stores, scope) for d in s.devices
            if device_kind(d) in SCREEN_KINDS and (kind != "device" or d == name)]


def zones_of(stores: Sequence[Store], scope: str) -> list[str]:
    return sorted({s.timezone or "UTC" for s in stores_in(stores, scope)}) or ["UTC"]


def local_time(at: float, zones: Sequence[str]) -> str:
    """``Mon 23 Nov 2026 10:30 EET (Europe/Sofia)`` for one zone; UTC and each zone's time for several."""
    utc = datetime.fromtimestamp(at, UTC)
    if len(zones) == 1:
        local = utc.astimezone(ZoneInfo(zones[0]))
        name = "" if zones[0] == "UTC" else f" ({zones[0]})"
        return f"{local:%a %d %b %Y %H:%M} {local.tzname()}{name}"
    parts = []
    for zone in zones:
        local = utc.astimezone(ZoneInfo(zone))
        day = "" if local.date() == utc.date() else f"{local:%a} "
        parts.append(f"{day}{local:%H:%M} {zone}")
    return f"{utc:%a %d %b %Y %H:%M} UTC ({', '.join(parts)})"


def in_words(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} hours"


@dataclass(frozen=True)
class Draft:
    """An override checked against stores.csv and the rules, ready to sign and publish."""

    override_id: str
    scope: str
    expires_in_s: float
    message: dict | None = None
    playlist: list | None = None


def draft(db: Database, stores: Sequence[Store], *, scope: str, expires_in: str, title: str = "", body: str = "",
          style: str = "alert", playlist: list | None = None, override_id: str = "", now: float) -> Draft:
    """Check everything a person gave; raise OverrideError naming the first thing that is wrong."""
    scope = parse_scope(stores, scope)
    seconds = expiry_seconds(expires_in)
    override_id = override_id or new_id(db, now)
    if not _ID_RE.fullmatch(override_id):
        raise OverrideError(f"id {override_id!r}: use letters, digits, '-', '_' or '.' (at most 64)")
    if find(db, override_id) is not None:
        raise OverrideError(f"an override {override_id} was sent before; give another id")
    if playlist is not None:
        if not playlist or not isinstance(playlist, list):
            raise OverrideError("a playlist override needs a list of content items")
        return Draft(override_id, scope, seconds, playlist=playlist)
    title, body = title.strip(), body.strip()
    if not title:
        raise OverrideError("a message override needs a title")
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise OverrideError(f"the title has at most {MAX_TITLE} characters and the message {MAX_BODY},"
                            " so that screens show all of it")
    if style not in STYLES:
        raise OverrideError(f"no style {style!r}; styles: {', '.join(STYLES)}")
    return Draft(override_id, scope, seconds, message={"title": title, "body": body, "style": style})


def new_id(db: Database, now: float) -> str:
    """``ov-20261123-063000``, with ``-2``, ``-3`` ... when that one was taken in the same second."""
    base = f"ov-{datetime.fromtimestamp(now, UTC):%Y%m%d-%H%M%S}"
    n, candidate = 1, base
    while find(db, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@dataclass(frozen=True)
class Sent:
    """An override head office sent, and its end if it had one."""

    override_id: str
    scope: str
    issued_at: float
    expires_at: float
    message: dict | None
    playlist: list | None
    ended_at: float | None

    def active_at(self, now: float) -> bool:
        return self.ended_at is None and self.issued_at <= now < self.expires_at

    @property
    def title(self) -> str:
        return str((self.message or {}).get("title") or f"playlist of {len(self.playlist or [])} item(s)")

    @property
    def style(self) -> str:
        return str((self.message or {}).get("style") or "playlist")


def _sent(rows: list[tuple]) -> list[Sent]:
    out = []
    for oid, scope, issued, expires, body, ended in rows:
        doc = json.loads(body)
        out.append(Sent(oid, scope, issued, expires, doc.get("message"), doc.get("playlist"), ended))
    return out


_SELECT = ("SELECT s.override_id, s.scope, s.issued_at, s.expires_at, s.body, e.issued_at FROM overrides s"
           " LEFT JOIN overrides e ON e.override_id = s.override_id AND e.scope = s.scope AND e.action = 'end'"
           " WHERE s.action = 'start'")


def find(db: Database, override_id: str) -> Sent | None:
    rows = _sent(db.execute(_SELECT + " AND s.override_id = ?", (override_id,)))
    if rows:
        return rows[0]
    ended = db.query_one("SELECT scope FROM overrides WHERE override_id = ?", (override_id,))
    # An end published by hand (or by an older release) without its start here still takes the id.
    return Sent(override_id, ended[0], 0.0, 0.0, None, None, 0.0) if ended else None


def active(db: Database, now: float) -> list[Sent]:
    """Overrides on now, the soonest to end first."""
    rows = _sent(db.execute(_SELECT + " AND s.expires_at > ? AND s.issued_at <= ? ORDER BY s.expires_at",
                            (now, now)))
    return [o for o in rows if o.active_at(now)]


def end_check(db: Database, override_id: str, now: float) -> Sent:
    """The override ``override_id`` names, if it is on and so may be ended; OverrideError otherwise."""
    found = find(db, override_id)
    if found is None:
        on = [o.override_id for o in active(db, now)]
        raise OverrideError(f"no override {override_id!r}; on now: {_listing(on)}")
    if found.ended_at is not None:
        raise OverrideError(f"override {override_id} has already been ended")
    if found.expires_at <= now:
        raise OverrideError(f"override {override_id} is already over: it expired")
    return found


@dataclass(frozen=True)
class ScreenCount:
    showing: tuple[tuple[str, str], ...]  # (store, device) whose screen shows it now
    screens: tuple[tuple[str, str], ...]  # every screen the override reaches

    def __str__(self) -> str:
        n = len(self.screens)
        return f"{len(self.showing)} of {n} screen{'' if n == 1 else 's'}"


def screen_count(db: Database, stores: Sequence[Store], sent: Sent) -> ScreenCount:
    """How many of the screens the override reaches say it is on them now. A device that went offline no
    longer counts; a device stores.csv gives no kind counts once it says it shows the override."""
    reached = {(s.store, d) for s in stores_in(stores, sent.scope) for d in s.devices}
    rows = db.execute("SELECT o.store, o.device FROM override_screens o LEFT JOIN devices d"
                      " ON d.store = o.store AND d.device = o.device WHERE o.override_id = ? AND o.on_screen = 1"
                      " AND coalesce(d.state, '') <> 'offline'", (sent.override_id,))
    showing = {(s, d) for s, d in rows if (s, d) in reached or sent.scope == "chain"}
    screens = set(screens_in(stores, sent.scope)) | showing
    return ScreenCount(tuple(sorted(showing)), tuple(sorted(screens)))
