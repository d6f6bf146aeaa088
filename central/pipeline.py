"""The publishing pipeline: validate, approve (four-eyes), pilot, watch, then promote or roll back.

A publication is one ``publish``: the content of every changed scope, checked with the device's own code
(``HeadOffice.plan_content``) and kept here, so that what is approved, piloted and promoted is what was checked
even if the files change meanwhile. The command line and the console both go through :func:`submit`.

Pilot: every scope that reaches only pilot stores (``store/<s>``, ``device/<d>``) is sent at once; a change to a
shared scope (``chain``, ``region/<r>``) reaches a pilot store inside its store bundle, its items laid under the
store's own (a store's item wins on the device anyway). Items a shared scope drops are dropped only at promote.
Promote sends the shared scopes and the pilot stores' bundles again without the overlay. Rollback sends each
scope's content from before the publication as a new, higher version: versions only move forward.

The content is the files with every ready draft laid over them (``central.drafts``); a publication records the drafts
it took, which are live once it reaches stores and go back to what was live before it when it is rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sync.protocol.content import SECTIONS

from . import audit, drafts, publishing
from .content_diff import Change, changes
from .content_files import Store
from .db import Database
from .headoffice import HeadOffice

AWAITING, PILOTING, PROMOTED, ROLLED_BACK = "awaiting approval", "piloting", "promoted", "rolled back"
NOT_SENT = "not sent"  # the broker failed while it went out; publish again
WATCHING, PASSED, FAILED = "watching", "passed", "failed"
PUB_COLUMNS = ("id, author, created_at, state, approved_by, approved_at, pilot_stores, pilot_started_at, watch_s,"
               " outcome, outcome_detail, rolls_back, ended_at")


class PipelineRefused(ValueError):
    """A step the publication's state or the rules do not allow; the message says what to do instead."""


@dataclass(frozen=True)
class Publication:
    id: int
    author: str
    created_at: float
    state: str
    approved_by: str | None
    approved_at: float | None
    pilot_stores: tuple[str, ...]
    pilot_started_at: float | None
    watch_s: float
    outcome: str | None
    outcome_detail: str | None
    rolls_back: int | None
    ended_at: float | None


@dataclass(frozen=True)
class ScopeRow:
    scope: str
    stage: str
    version: int | None
    sha256: str
    content: dict


@dataclass(frozen=True)
class Rejection:
    store: str
    device: str
    at: float
    scope: str
    version: int
    reasons: str


@dataclass(frozen=True)
class Outcome:
    state: str  # watching, passed, failed
    detail: str


def pilot_outcome(*, started_at: float, watch_s: float, now: float, devices: Iterable[tuple[str, str]],
                  rejections: Iterable[Rejection], health_at: Mapping[tuple[str, str], float | None]) -> Outcome:
    """The pilot's outcome from what its devices reported and the clock: a refusal fails it at once; when the
    watch is over, every pilot device must have reported its health during it."""
    first = min(rejections, key=lambda r: r.at, default=None)
    if first is not None:
        return Outcome(FAILED, f"{first.store}/{first.device} refused {first.scope} v{first.version}: {first.reasons}")
    if now < started_at + watch_s:
        return Outcome(WATCHING, f"{started_at + watch_s - now:.0f} s of the watch left")
    devices = sorted(devices)
    if not devices:
        return Outcome(FAILED, "no pilot device is known to head office")
    silent = [f"{s}/{d}" for s, d in devices if (health_at.get((s, d)) or 0.0) < started_at]
    if silent:
        return Outcome(FAILED, "no health report during the watch from " + ", ".join(silent))
    return Outcome(PASSED, f"{len(devices)} device(s) healthy, none refused it")


def submit(office: HeadOffice, plans: list[publishing.Planned], *, author: str, pilot: Iterable[str] | None = None,
           client: str = "") -> Publication | None:
    """Record a validated change and take it as far as the rules let it go now: sent to the pilot stores (or to
    every store without pilot), or waiting for approval. None when nothing changed."""
    changed = [p for p in plans if not p.unchanged]
    if not changed:
        return None
    if (pending := open_publication(office.db)) is not None:
        step = "approve" if pending.state == AWAITING else "promote"
        raise PipelineRefused(f"publication {pending.id} is still {pending.state}: {step} it or roll it back first"
                              " (publications list)")
    cfg = office.config.publishing
    pilots = tuple(sorted(set(cfg.pilot_stores if pilot is None else pilot)))
    stores = {s.store: s for s in office.load_content()[0]}
    unknown = [s for s in pilots if s not in stores]
    if unknown:
        raise PipelineRefused(f"pilot store(s) {', '.join(unknown)} not in stores.csv")
    db, now = office.db, office.clock.time()
    for p in changed:  # the files as checked now; what goes out later names only these
        publishing.place_media(p, Path(office.config.central.http_dir))
    by_scope = {p.scope: p for p in plans}
    with db.transaction():
        pub_id = int(db.scalar("INSERT INTO publications (author, created_at, state, pilot_stores, watch_s)"
                               " VALUES (?, ?, ?, ?, ?) RETURNING id",
                               (author, now, AWAITING, ",".join(pilots), cfg.watch_s)))
        kept = {p.scope: p for p in changed} | {f"store/{s}": by_scope[f"store/{s}"] for s in pilots
                                                if f"store/{s}" in by_scope}
        for p in kept.values():
            _add_row(db, pub_id, p.scope, "planned", None, p.sha256, p.content, None)
        drafts.take(db, pub_id, (p.scope for p in changed))
    audit.record(db, at=now, actor=author, action="publish.validate", scope=", ".join(sorted(p.scope for p in changed)),
                 detail=f"publication {pub_id}: checked with the device's own code", client=client)
    if cfg.approval:
        return get(db, pub_id)
    try:
        return _send(office, pub_id, actor=author, client=client)
    except Exception:
        db.execute("UPDATE publications SET state = ? WHERE id = ? AND state = ?", (NOT_SENT, pub_id, AWAITING))
        raise


def open_publication(db: Database) -> Publication | None:
    """The publication still on its way (awaiting approval or piloting): one at a time, so that a pilot's overlay
    and a later change never cross."""
    row = db.query_one(f"SELECT {PUB_COLUMNS} FROM publications WHERE state IN (?, ?) ORDER BY id LIMIT 1",
                       (AWAITING, PILOTING))
    return _publication(row) if row else None


def approve(office: HeadOffice, pub_id: int, *, by: str, client: str = "") -> Publication:
    pub = get(office.db, pub_id)
    if pub.state != AWAITING:
        raise PipelineRefused(f"publication {pub_id} is {pub.state}, not awaiting approval")
    if by == pub.author:
        raise PipelineRefused(f"{by} wrote publication {pub_id}: another person approves it")
    now = office.clock.time()
    # Two approvals at once: only the one that marks it sends it.
    if office.db.scalar("UPDATE publications SET approved_by = ?, approved_at = ? WHERE id = ? AND approved_by IS NULL"
                        " RETURNING id", (by, now, pub_id)) is None:
        raise PipelineRefused(f"publication {pub_id} is already approved")
    audit.record(office.db, at=now, actor=by, action="publish.approve", scope=f"publication/{pub_id}",
                 detail=f"written by {pub.author}", client=client)
    try:
        return _send(office, pub_id, actor=by, client=client)
    except Exception:
        # Not sent (the broker, say): it waits for approval again rather than stay approved and unsent.
        office.db.execute("UPDATE publications SET approved_by = NULL, approved_at = NULL WHERE id = ? AND state = ?",
                          (pub_id, AWAITING))
        raise


def watch(office: HeadOffice, pub_id: int) -> Outcome:
    """The pilot's outcome now (recorded on the publication); ``passed`` when there is no pilot."""
    pub = get(office.db, pub_id)
    if pub.state != PILOTING:
        return Outcome(pub.outcome or PASSED, pub.outcome_detail or "")
    db = office.db
    sent = {r.scope: r.version for r in rows(db, pub_id) if r.stage == "pilot"}
    marks = ",".join("?" * len(pub.pilot_stores))
    rejections = []
    for store, device, at, body in db.execute(
            f"SELECT store, device, wall_time, body FROM events WHERE type = 'content_rejected' AND wall_time >= ?"
            f" AND store IN ({marks}) ORDER BY wall_time", (pub.pilot_started_at, *pub.pilot_stores)):
        payload = json.loads(body).get("payload") or {}
        scope, version = payload.get("scope"), int(payload.get("version") or 0)
        if scope in sent and version >= sent[scope]:
            rejections.append(Rejection(store, device, at, scope, version, "; ".join(map(str, payload.get("reasons")
                                                                                        or ()))))
    known = db.execute(f"SELECT store, device, health_at FROM devices WHERE store IN ({marks})"
                       " AND last_seen IS NOT NULL", pub.pilot_stores)
    outcome = pilot_outcome(started_at=pub.pilot_started_at, watch_s=pub.watch_s, now=office.clock.time(),
                            devices=[(s, d) for s, d, _ in known], rejections=rejections,
                            health_at={(s, d): h for s, d, h in known})
    if (outcome.state, outcome.detail) != (pub.outcome, pub.outcome_detail) and outcome.state != WATCHING:
        audit.record(db, at=office.clock.time(), actor="pipeline", action=f"publish.pilot.{outcome.state}",
                     scope=f"publication/{pub_id}", detail=outcome.detail)
    db.execute("UPDATE publications SET outcome = ?, outcome_detail = ? WHERE id = ?",
               (outcome.state, outcome.detail, pub_id))
    return outcome


def promote(office: HeadOffice, pub_id: int, *, by: str, client: str = "") -> Publication:
    pub = get(office.db, pub_id)
    if pub.state != PILOTING:
        raise PipelineRefused(f"publication {pub_id} is {pub.state}: only a piloting one is promoted")
    outcome = watch(office, pub_id)
    if outcome.state != PASSED:
        raise PipelineRefused(f"publication {pub_id}'s pilot has {outcome.state}: {outcome.detail}"
                              + (f"; roll it back: publications rollback {pub_id}" if outcome.state == FAILED else ""))
    planned = {r.scope: r.content for r in rows(office.db, pub_id) if r.stage == "planned"}
    pilot_sent = {r.scope: r.content for r in rows(office.db, pub_id) if r.stage == "pilot"}
    # A pilot store's bundle goes again without the overlay; scopes sent whole at pilot stay as they are.
    rest = {s: c for s, c in planned.items() if s not in pilot_sent}
    rest |= {s: _replacing(pilot_sent[s], planned.get(s, {})) for s in (f"store/{p}" for p in pub.pilot_stores)
             if s in pilot_sent}
    _publish(office, pub_id, "promote", rest)
    now = office.clock.time()
    office.db.execute("UPDATE publications SET state = ?, ended_at = ? WHERE id = ?", (PROMOTED, now, pub_id))
    audit.record(office.db, at=now, actor=by, action="publish.promote", scope=", ".join(sorted(rest)),
                 detail=f"publication {pub_id} to every store", client=client)
    return get(office.db, pub_id)


def rollback(office: HeadOffice, pub_id: int, *, by: str, client: str = "") -> Publication:
    """Each scope the publication sent goes back to its content from before it, as a new, higher version;
    recorded as a publication of its own (``rolls_back``)."""
    pub = get(office.db, pub_id)
    if pub.state not in (PILOTING, PROMOTED):
        raise PipelineRefused(f"publication {pub_id} is {pub.state}: nothing of it reached the stores")
    db, now = office.db, office.clock.time()
    first_sent: dict[str, int] = {}
    sent: dict[str, dict] = {}
    for r in rows(db, pub_id):
        if r.stage != "planned":
            first_sent.setdefault(r.scope, r.version)
            sent[r.scope] = sent.get(r.scope, {}) | r.content
    earlier = {}
    for scope, version in sorted(first_sent.items()):
        content = live_content(db, scope, before=pub_id)
        if content is None and version > 1:
            raise PipelineRefused(f"no earlier content of {scope} is kept: publish the files as they were instead")
        earlier[scope] = _replacing(sent[scope], content or {})  # its first version: before it, the scope held nothing
    new_id = int(db.scalar("INSERT INTO publications (author, created_at, state, pilot_stores, watch_s, rolls_back,"
                           " ended_at, approved_by, outcome) VALUES (?, ?, ?, '', 0, ?, ?, ?, ?) RETURNING id",
                           (by, now, PROMOTED, pub_id, now, by, PASSED)))
    _publish(office, new_id, "rollback", earlier)
    db.execute("UPDATE publications SET state = ?, ended_at = ? WHERE id = ?", (ROLLED_BACK, now, pub_id))
    drafts.rolled_back(db, pub_id)
    audit.record(db, at=now, actor=by, action="publish.rollback", scope=", ".join(sorted(earlier)),
                 detail=f"publication {pub_id} rolled back by publication {new_id}", client=client)
    return get(db, new_id)


def get(db: Database, pub_id: int) -> Publication:
    row = db.query_one(f"SELECT {PUB_COLUMNS} FROM publications WHERE id = ?", (pub_id,))
    if row is None:
        raise PipelineRefused(f"no publication {pub_id}")
    return _publication(row)


def history(db: Database, *, limit: int = 50) -> list[Publication]:
    """Newest first."""
    return [_publication(r) for r in db.execute(f"SELECT {PUB_COLUMNS} FROM publications ORDER BY id DESC LIMIT ?",
                                                (limit,))]


def rows(db: Database, pub_id: int) -> list[ScopeRow]:
    return [ScopeRow(s, st, v, sha, json.loads(c)) for s, st, v, sha, c in db.execute(
        "SELECT scope, stage, version, sha256, content FROM publication_scopes WHERE publication = ? ORDER BY id",
        (pub_id,))]


def live_content(db: Database, scope: str, *, before: int | None = None) -> dict | None:
    """What the pipeline last sent on ``scope`` (before publication ``before``); None when it has sent nothing."""
    row = db.query_one("SELECT content FROM publication_scopes WHERE scope = ? AND stage != 'planned'"
                       " AND publication < ? ORDER BY id DESC LIMIT 1", (scope, before or 2**62))
    return json.loads(row[0]) if row else None


def pending(office: HeadOffice, plans: list[publishing.Planned]) -> list[tuple[str, list[Change]]]:
    """(scope, its changes against what the pipeline last sent on it) for every scope ``plans`` would send."""
    return [(p.scope, changes(live_content(office.db, p.scope) or {}, p.content)) for p in plans if not p.unchanged]


def pending_text(pending_changes: list[tuple[str, list[Change]]]) -> str:
    """The changes as the command line prints them: a scope, then one line per section."""
    lines = []
    for scope, diff in pending_changes:
        lines.append(f"{scope}:")
        lines += [f"  {d.text}" for d in diff] or ["  sent again as it is live"]
    return "\n".join(lines)


def overlay(store: Store, contents: Mapping[str, dict]) -> dict:
    """What a pilot store's bundle carries: the changed shared scopes' items (least specific first), then the
    store's own, each replacing an item of the same key."""
    merged: dict[str, dict[tuple, dict]] = {}
    for scope in [s for s in store.scopes() if not s.startswith("device/")]:
        for name, items in contents.get(scope, {}).items():
            key = SECTIONS[name].key
            section = merged.setdefault(name, {})
            for item in items:
                section[tuple(item.get(k) for k in key)] = item
    return {name: list(items.values()) for name, items in sorted(merged.items())}


def _send(office: HeadOffice, pub_id: int, *, actor: str, client: str) -> Publication:
    pub = get(office.db, pub_id)
    planned = {r.scope: r.content for r in rows(office.db, pub_id) if r.stage == "planned"}
    now = office.clock.time()
    if not pub.pilot_stores:
        _publish(office, pub_id, "promote", planned)
        office.db.execute("UPDATE publications SET state = ?, outcome = ?, ended_at = ? WHERE id = ?",
                          (PROMOTED, None, now, pub_id))
        drafts.sent(office.db, pub_id)
        audit.record(office.db, at=now, actor=actor, action="publish.promote", scope=", ".join(sorted(planned)),
                     detail=f"publication {pub_id} to every store (no pilot)", client=client)
        return get(office.db, pub_id)
    stores = [s for s in office.load_content()[0] if s.store in pub.pilot_stores]
    pilot: dict[str, dict] = {}
    for store in stores:
        own = f"store/{store.store}"
        shared = {s: planned[s] for s in store.scopes() if s in planned and s != own and not s.startswith("device/")}
        pilot[own] = overlay(store, {**shared, own: planned.get(own, {})})
        pilot |= {s: planned[s] for s in store.scopes() if s.startswith("device/") and s in planned}
    _publish(office, pub_id, "pilot", pilot)
    office.db.execute("UPDATE publications SET state = ?, pilot_started_at = ?, outcome = ? WHERE id = ?",
                      (PILOTING, now, WATCHING, pub_id))
    drafts.sent(office.db, pub_id)
    audit.record(office.db, at=now, actor=actor, action="publish.pilot", scope=", ".join(sorted(pilot)),
                 detail=f"publication {pub_id} to pilot store(s) {', '.join(pub.pilot_stores)}", client=client)
    return get(office.db, pub_id)


def _publish(office: HeadOffice, pub_id: int, stage: str, contents: Mapping[str, dict]) -> None:
    plans = [publishing.planned(office.db, scope, content, force=True, media={})
             for scope, content in sorted(contents.items())]
    sent = office.publish_plans(plans)
    now = office.clock.time()
    by_scope = {p.scope: p for p in plans}
    for m in sent:
        p = by_scope[m["scope"]]
        _add_row(office.db, pub_id, p.scope, stage, m["version"], p.sha256, p.content, now)


def _replacing(sent: Mapping[str, list], content: dict) -> dict:
    """``content`` as a bundle that replaces ``sent`` on the devices: a section a bundle leaves out is kept there,
    so every section ``sent`` had is in it, emptied when ``content`` has none."""
    return {name: [] for name in sent} | content


def _add_row(db: Database, pub_id: int, scope: str, stage: str, version: int | None, sha256: str, content: dict,
             sent_at: float | None) -> None:
    db.execute("INSERT INTO publication_scopes (publication, scope, stage, version, sha256, content, sent_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               (pub_id, scope, stage, version, sha256, json.dumps(content, ensure_ascii=False), sent_at))


def _publication(row: tuple) -> Publication:
    values = list(row)
    values[6] = tuple(s for s in (values[6] or "").split(",") if s)
    return Publication(*values)
