"""Bundles per scope from head office's files and the jobs' output: versioned, signed, sha256, retained QoS 1.

``plan`` builds every scope's content and says what would go out (the dry run prints it per
store); ``publish`` signs and sends it. A scope whose content bytes are unchanged since the last
publish is not sent again. Content above ``max_inline_bytes`` is written to
``http_dir/bundles/`` and the manifest carries its URL; media files are copied to
``http_dir/media/<sha256>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.protocol import bundle as wire
from sync.protocol import topics
from sync.protocol.content import SECTIONS, validate

from .content_files import ScopeContent, Store
from .db import Database
from .deltas import digest, next_version
from .erasure import erased_among
from .mqtt import BrokerLink

# Sections whose items name a customer by profile id.
PERSONAL_SECTIONS = ("profiles", "basket_lines")


@dataclass
class Planned:
    scope: str
    content: dict
    data: bytes
    sha256: str
    current: int  # the version published now (0: never)
    unchanged: bool
    media: dict[str, Path]

    @property
    def sections(self) -> dict[str, int]:
        return {name: len(items) for name, items in sorted(self.content.items())}


def job_sections(db: Database) -> dict[str, list]:
    """What the jobs add to the chain bundle: the co-purchase pairs."""
    rows = db.execute("SELECT a, b, score, n FROM co_purchase ORDER BY a, b")
    return {"co_purchase": [{"a": a, "b": b, "score": s, "count": n} for a, b, s, n in rows]} if rows else {}


def plan(db: Database, tree: dict[str, ScopeContent], *, scopes: Iterable[str] | None = None,
         force: bool = False, stores: Iterable[str] = (),
         store_profiles: Callable[[str], list[dict]] | None = None,
         identities: Mapping[str, dict | None] | None = None) -> list[Planned]:
    """What each scope's bundle holds now. ``store_profiles(store)``: the customers a store caches,
    sent as the store bundle's ``profiles`` section (a snapshot, so customers no longer chosen leave).
    ``identities``: each store's own item from stores.csv (``Store.identity``), its bundle's ``stores`` section."""
    wanted = set(scopes) if scopes is not None else set(tree) | {"chain"} | {f"store/{s}" for s in stores}
    out = []
    for scope in sorted(wanted):
        sc = tree.get(scope, ScopeContent(scope))
        content = dict(sc.content)
        if scope == "chain":
            for name, items in job_sections(db).items():
                content.setdefault(name, items)  # head office's own file wins over the job
        identity = (identities or {}).get(scope.removeprefix("store/")) if scope.startswith("store/") else None
        if identity:
            content.setdefault("stores", [identity])
        if scope.startswith("store/") and store_profiles and "profiles" not in content:
            chosen = store_profiles(scope.removeprefix("store/"))
            if chosen:
                content["profiles"] = chosen
        if content:
            out.append(planned(db, scope, content, force=force, media=dict(sc.media)))
    return out


def planned(db: Database, scope: str, content: dict, *, force: bool, media: dict[str, Path]) -> Planned:
    validate(content)
    data = wire.encode_content(content)
    sha = hashlib.sha256(data).hexdigest()
    row = db.query_one("SELECT version, sha256 FROM streams WHERE stream = ?", (f"bundle:{scope}",))
    current, last_sha = (row[0], row[1]) if row else (0, None)
    return Planned(scope, content, data, sha, current, unchanged=not force and last_sha == sha, media=media)


def publish(db: Database, link: BrokerLink, key: Ed25519PrivateKey, chain: str, plans: list[Planned], *,
            http_dir: Path, base_url: str, max_inline_bytes: int, now: float) -> list[dict]:
    """Sign and publish every changed plan; returns the manifests sent."""
    sent = []
    for p in plans:
        if p.unchanged:
            continue
        place_media(p, http_dir)
        version = next_version(db, f"bundle:{p.scope}", p.sha256)
        record_published(db, p.scope, version, p.sha256, p.content)
        url = None
        if len(p.data) > max_inline_bytes:
            name = f"bundles/{p.scope.replace('/', '-')}-{version}-{p.sha256[:16]}.json.gz"
            _write(http_dir / name, p.data)
            url = f"{base_url}/{name}"
        manifest, _ = wire.build_manifest(chain=chain, scope=p.scope, version=version, content=p.content, key=key,
                                          url=url)
        link.publish(topics.bundle_topic(chain, p.scope), json.dumps(manifest).encode(), retain=True)
        db.execute("INSERT INTO bundles (scope, version, sha256, size, url, published_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (p.scope, version, p.sha256, len(p.data), url, now))
        db.executemany("INSERT INTO offer_skus (offer, sku) VALUES (?, ?) ON CONFLICT (offer) DO UPDATE"
                       " SET sku = excluded.sku", [(o["id"], o.get("sku")) for o in p.content.get("offers", [])])
        if p.scope.startswith("store/") and "profiles" in p.content:
            _held_by_snapshot(db, p.scope.removeprefix("store/"), p.content["profiles"], now)
        sent.append(manifest)
    return sent


def place_media(p: Planned, http_dir: Path) -> None:
    """The plan's media files where devices fetch them (``http_dir/media/<sha256>``), before its bundle names them."""
    for sha, path in p.media.items():
        _place(path, http_dir / "media" / sha)


def record_published(db: Database, scope: str, version: int, sha256: str, content: dict) -> None:
    """``version`` of ``scope`` is the retained one now (an older version changes nothing). Its content is
    kept while it holds customers, so that an erasure can republish it without them (``republish_erased``)."""
    kept = json.dumps(content, ensure_ascii=False) if people(content) else None
    db.execute("INSERT INTO streams (stream, version, sha256, content) VALUES (?, ?, ?, ?) ON CONFLICT (stream)"
               " DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, content = excluded.content"
               " WHERE streams.version <= excluded.version", (f"bundle:{scope}", version, sha256, kept))


def people(content: dict) -> set[str]:
    """The customers a bundle's content names (its personal sections)."""
    return {item["profile_id"] for name in PERSONAL_SECTIONS for item in content.get(name, ())
            if item.get("profile_id")}


def without_people(content: dict, profile_ids: set[str]) -> dict:
    """The content without these customers: their profiles dropped, their basket lines kept without them
    (as head office keeps them). An emptied ``profiles`` section stays, so that the snapshot empties the scope's."""
    out = dict(content)
    if "profiles" in out:
        out["profiles"] = [p for p in out["profiles"] if p["profile_id"] not in profile_ids]
    if "basket_lines" in out:
        out["basket_lines"] = [{k: v for k, v in line.items() if k != "profile_id"}
                               if line.get("profile_id") in profile_ids else line for line in out["basket_lines"]]
    return out


def republish_erased(db: Database, link: BrokerLink, key: Ed25519PrivateKey, chain: str, *, http_dir: Path,
                     base_url: str, max_inline_bytes: int, now: float) -> tuple[list[dict], list[Path]]:
    """Every retained bundle that still holds an erased customer, published again without them as its scope's
    next version; then every bundle file in ``http_dir/bundles`` that holds one (earlier versions) removed.

    It looks for anyone in ``erased_subjects``, not one customer, so running it again finishes an erasure that
    stopped half way (the broker was down). Returns the manifests sent and the files removed."""
    plans = []
    for stream, text in db.execute("SELECT stream, content FROM streams WHERE content IS NOT NULL ORDER BY stream"):
        content = json.loads(text)
        if erased := erased_among(db, people(content)):
            plans.append(planned(db, stream.removeprefix("bundle:"), without_people(content, erased), force=True,
                                  media={}))
    sent = publish(db, link, key, chain, plans, http_dir=http_dir, base_url=base_url,
                   max_inline_bytes=max_inline_bytes, now=now)
    removed = []
    for path in sorted((http_dir / "bundles").glob("*.json.gz")):
        try:
            content = wire.decode_content(path.read_bytes())
        except wire.BundleRejected:
            continue  # not a bundle body of ours
        if isinstance(content, dict) and erased_among(db, people(content)):
            path.unlink()
            removed.append(path)
    return sent, removed


def _held_by_snapshot(db: Database, store: str, profiles: list[dict], now: float) -> None:
    """After a store snapshot the store holds exactly these (besides what it looked up itself)."""
    with db.transaction():
        db.execute("DELETE FROM store_cache WHERE store = ? AND sent_at > 0", (store,))
        db.executemany("INSERT INTO store_cache (store, profile_id, digest, sent_at) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT (store, profile_id) DO UPDATE SET digest = excluded.digest,"
                       " sent_at = excluded.sent_at", [(store, p["profile_id"], digest(p), now) for p in profiles])


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _place(source: Path, target: Path) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def dry_run(stores: list[Store], plans: list[Planned], max_inline_bytes: int) -> str:
    """What each store would get: per scope the version, size and sections, then the effective item counts."""
    by_scope = {p.scope: p for p in plans}
    lines = []
    for store in stores:
        lines.append(f"store {store.store} (region {store.region}, devices {', '.join(store.devices) or 'none'}):")
        effective: dict[str, set] = {}
        for scope in store.scopes():
            p = by_scope.get(scope)
            if p is None:
                continue
            how = "url" if len(p.data) > max_inline_bytes else "inline"
            state = f"unchanged at v{p.current}" if p.unchanged else f"v{p.current + 1}"
            sections = ", ".join(f"{n} {c}" for n, c in p.sections.items())
            lines.append(f"  {scope:<20} {state:<16} {len(p.data):>9} B {how:<6} {sections}")
            for name, items in p.content.items():
                key = SECTIONS[name].key
                effective.setdefault(name, set()).update(tuple(i[k] for k in key) for i in items)
        if effective:
            lines.append("  effective: " + ", ".join(f"{n} {len(k)}" for n, k in sorted(effective.items())))
    return "\n".join(lines)
