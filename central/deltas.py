"""Profile deltas to a store: signed ``delta`` bundles on ``profiles/store/{s}``, QoS 1, not retained.

The store's agent has a persistent session, so a delta sent while it is offline waits at the
broker and arrives when it reconnects. Each delta carries the next version of the store's
``profiles:store/{s}`` sequence (``streams`` table). ``store_cache`` records what each store was
sent, so a later change or erasure reaches exactly the stores that hold the profile.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.protocol import bundle as wire
from sync.protocol import topics
from sync.protocol.content import validate

from .db import Database
from .mqtt import BrokerLink

PROFILES_PER_DELTA = 500  # keeps each delta well inside the inline limit


def next_version(db: Database, stream: str, sha256: str | None = None) -> int:
    """The next version of a sequence (a bundle scope, or ``profiles:store/<s>``), taken atomically."""
    return int(db.scalar(
        "INSERT INTO streams (stream, version, sha256) VALUES (?, 1, ?) ON CONFLICT (stream)"
        " DO UPDATE SET version = streams.version + 1, sha256 = excluded.sha256 RETURNING version",
        (stream, sha256)))


def digest(profile: dict) -> str:
    return hashlib.sha256(json.dumps(profile, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def send_delta(db: Database, link: BrokerLink, key: Ed25519PrivateKey, chain: str, store: str, *,
               upsert: list[dict] = (), delete: list[str] = (), now: float) -> list[dict]:
    """Send profile upserts and deletions to one store; returns the manifests sent."""
    upsert, delete = list(upsert), list(delete)
    manifests = []
    while upsert or delete:
        content: dict = {}
        if upsert:
            content["profiles"], upsert = upsert[:PROFILES_PER_DELTA], upsert[PROFILES_PER_DELTA:]
        elif delete:
            content["delete"], delete = {"profiles": delete[:PROFILES_PER_DELTA * 4]}, delete[PROFILES_PER_DELTA * 4:]
        validate(content, delta=True)
        version = next_version(db, f"profiles:store/{store}")
        manifest, _ = wire.build_manifest(chain=chain, scope=f"store/{store}", version=version, content=content,
                                          key=key, mode="delta")
        link.publish(topics.profiles_topic(chain, store), json.dumps(manifest).encode(), retain=False)
        with db.transaction():
            db.executemany("INSERT INTO store_cache (store, profile_id, digest, sent_at) VALUES (?, ?, ?, ?)"
                           " ON CONFLICT (store, profile_id) DO UPDATE SET digest = excluded.digest,"
                           " sent_at = excluded.sent_at",
                           [(store, p["profile_id"], digest(p), now) for p in content.get("profiles", [])])
            db.executemany("DELETE FROM store_cache WHERE store = ? AND profile_id = ?",
                           [(store, pid) for pid in content.get("delete", {}).get("profiles", [])])
        manifests.append(manifest)
    return manifests
