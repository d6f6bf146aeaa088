"""Erasure (right to be forgotten) and export (right of access) for one customer.

Erasure removes the golden profile and its tombstones, their identifiers, consent ledger, QR
tokens and store visits; it keeps that customer's events and basket lines for the chain's
numbers but without the person (``profile_id`` cleared, in the row and in the event body). What
remains is a row in ``erasures`` (when, how many profiles, events and stores: no personal data),
the stores told (``erasure_stores``) and, per erased id, its sha256 in ``erased_subjects``, so that
an event a device sends later (it was offline) is anonymised as it arrives and each store's
confirmation finds its erasure (``central.privacy_requests``). The caller sends the erase delta to ``stores`` and
republishes the retained bundles that held the customer (``central.publishing.republish_erased``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sync.protocol.erasure import subject_hash

from .consents import history
from .db import Database
from .keys import Keyring
from .profiles import COLUMNS, resolve, row_dict
from .qr_cards import check_card


@dataclass(frozen=True)
class Erasure:
    profile_ids: tuple[str, ...]  # the ids the devices may know: the golden id and merged-away ones
    stores: tuple[str, ...]
    events_anonymised: int
    republished: tuple[tuple[str, int], ...] = ()  # (topic, new version) of each retained bundle that held them
    files_removed: tuple[str, ...] = ()  # bundle files in http_dir that held them
    erasure_id: int = 0  # its row in ``erasures``: the receipt (central.privacy_requests)


def erased_among(db: Database, profile_ids: Iterable[str]) -> set[str]:
    """Those of ``profile_ids`` that were erased (their hash is in ``erased_subjects``)."""
    hashes = {subject_hash(p): p for p in profile_ids}
    if not hashes:
        return set()
    among, keys = db.any_of(sorted(hashes))
    return {hashes[r[0]] for r in db.execute(f"SELECT subject_hash FROM erased_subjects WHERE subject_hash {among}",
                                             (keys,))}


def _family(db: Database, golden: str) -> list[str]:
    return [golden] + [r[0] for r in db.execute("SELECT profile_id FROM profiles WHERE merged_into = ?"
                                               " ORDER BY profile_id", (golden,))]


def erasure_targets(db: Database, profile_id: str) -> tuple[list[str], list[str]] | None:
    """The ids of the customer ``profile_id`` names (the golden one and those merged into it) and the
    stores that hold or saw them; None if nobody by that id."""
    golden = resolve(db, "profile_id", profile_id)
    if golden is None:
        return None
    ids = _family(db, golden)
    marks = ", ".join("?" for _ in ids)
    stores = sorted({r[0] for r in db.execute(
        f"SELECT store FROM store_cache WHERE profile_id IN ({marks})"
        f" UNION SELECT store FROM profile_stores WHERE profile_id IN ({marks})", (*ids, *ids))})
    return ids, stores


def erase_profile(db: Database, profile_id: str, *, requested_by: str, now: float,
                  told: Iterable[str] = ()) -> Erasure | None:
    """Erase the customer ``profile_id`` names (any of their ids); None if nobody by that id. ``told``: the
    stores already sent the erase delta, counted among ``stores`` with those that hold them now."""
    with db.transaction():
        targets = erasure_targets(db, profile_id)
        if targets is None:
            return None
        ids, holding = targets
        stores = sorted(set(holding) | set(told))
        marks = ", ".join("?" for _ in ids)
        anonymised = anonymise_events(db, ids)
        db.execute(f"UPDATE basket_lines SET profile_id = NULL WHERE profile_id IN ({marks})", ids)
        for table in ("consents", "aliases", "qr_tokens", "profile_stores", "store_cache", "profiles"):
            db.execute(f"DELETE FROM {table} WHERE profile_id IN ({marks})", ids)
        db.execute(f"UPDATE privacy_requests SET profile_id = NULL WHERE profile_id IN ({marks})", ids)
        erasure_id = db.scalar("INSERT INTO erasures (erased_at, profiles, events_anonymised, stores_notified,"
                               " requested_by) VALUES (?, ?, ?, ?, ?) RETURNING id",
                               (now, len(ids), anonymised, len(stores), requested_by))
        db.executemany("INSERT INTO erased_subjects (subject_hash, erased_at, erasure_id) VALUES (?, ?, ?)"
                       " ON CONFLICT DO NOTHING", [(subject_hash(i), now, erasure_id) for i in ids])
        db.executemany("INSERT INTO erasure_stores (erasure_id, store) VALUES (?, ?)",
                       [(erasure_id, s) for s in stores])
    return Erasure(tuple(ids), tuple(stores), anonymised, erasure_id=erasure_id)


def device_erasure_refusal(db: Database, keys: Keyring, profile_id: str, proof: tuple[str, str] | None, *,
                           at: float, now: float) -> str | None:
    """Why an erasure asked for at a device is not carried out, or None if it may be.

    A device's word is not enough: the request carries the proof the shopper gave there, their phone
    hash or a QR token valid now or when they asked (``at``), and it must name the same customer as
    ``profile_id``."""
    golden = resolve(db, "profile_id", profile_id)
    if golden is None:
        return None  # nobody to erase
    if proof is None:
        return "it carries no proof of the shopper (phone hash or QR token)"
    key, value = proof
    if key == "qr_token":
        # A device that was offline reports late: the token counts if it was valid when asked, or is now.
        card = check_card(keys, value, now=now)
        if not card.ok and at < now:
            card = check_card(keys, value, now=at)
        if not card.ok:
            return f"its QR token was refused ({card.reason})"
        named = resolve(db, "profile_id", card.profile_id)
    else:
        named = resolve(db, "phone_hash", value)
    return None if named == golden else "its proof names another customer"


def anonymise_events(db: Database, ids: list[str]) -> int:
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(f"SELECT id, body FROM events WHERE profile_id IN ({marks})", ids)
    db.executemany("UPDATE events SET profile_id = NULL, body = ? WHERE id = ?",
                   [(json.dumps(strip_person(json.loads(body))), eid) for eid, body in rows])
    return len(rows)


def strip_person(event: dict) -> dict:
    """The event without the person: its profile id cleared (payloads carry no other personal field)."""
    payload = event.get("payload")
    if isinstance(payload, dict) and "profile_id" in payload:
        event = {**event, "payload": {**payload, "profile_id": None}}
    return event


def export_profile(db: Database, profile_id: str) -> dict | None:
    """Everything held about one customer: profile, merged-away profiles, identifiers, consent history,
    QR tokens, store visits, purchases and events. None if nobody by that id."""
    golden = resolve(db, "profile_id", profile_id)
    if golden is None:
        return None
    ids = _family(db, golden)
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(f"SELECT {', '.join(COLUMNS)}, merged_into, merged_snapshot FROM profiles"
                      f" WHERE profile_id IN ({marks})", ids)
    profiles = []
    for r in rows:
        doc = row_dict(r[:len(COLUMNS)])
        doc["merged_into"] = r[len(COLUMNS)]
        doc["merged_snapshot"] = json.loads(r[-1]) if r[-1] else None
        profiles.append(doc)
    profiles.sort(key=lambda d: (d["merged_into"] is not None, d["profile_id"]))

    def table(sql: str, cols: tuple[str, ...]) -> list[dict]:
        return [dict(zip(cols, r, strict=True)) for r in db.execute(sql, ids)]

    return {
        "profile_id": golden,
        "profiles": profiles,
        "identifiers": table(f"SELECT kind, value FROM aliases WHERE profile_id IN ({marks}) ORDER BY kind, value",
                             ("kind", "value")),
        "consents": [row for pid in ids for row in history(db, pid)],
        "qr_tokens": table(f"SELECT token_id, key_id, issued_at, expires_at FROM qr_tokens"
                           f" WHERE profile_id IN ({marks}) ORDER BY issued_at",
                           ("token_id", "key_id", "issued_at", "expires_at")),
        "stores": table(f"SELECT store, first_seen, last_seen, visits FROM profile_stores"
                        f" WHERE profile_id IN ({marks}) ORDER BY store",
                        ("store", "first_seen", "last_seen", "visits")),
        "purchases": table(f"SELECT basket_id, sku, qty, amount_cents, at, store FROM basket_lines"
                           f" WHERE profile_id IN ({marks}) ORDER BY at, line_id",
                           ("basket_id", "sku", "qty", "amount_cents", "at", "store")),
        "events": [json.loads(r[0]) for r in db.execute(
            f"SELECT body FROM events WHERE profile_id IN ({marks}) ORDER BY wall_time, id", ids)],
    }
