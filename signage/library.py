"""What the player can play: one immutable snapshot of the signage content in the cache.

A new snapshot is read after every applied bundle; the player swaps to it only when ``complete``
(every media file it names is on disk and its sha256 checked) and only at an item boundary. A
snapshot that cannot be read (a bad schedule, a bad layout) raises LibraryError and the player
keeps the last good one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sync.cache.read import CacheReader

from .layout import Layout, LayoutError, choose_layout
from .ordering import Slot
from .schedule import Schedule, ScheduleError

ITEM_KINDS = ("image", "video", "text", "menu_board", "offers", "product")
DEFAULT_DURATION_S = 8.0


class LibraryError(ValueError):
    """The cache's signage content cannot be played; the message says where."""


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    duration_s: float
    media: str | None = None  # sha256
    path: Path | None = None
    doc: Mapping = field(default_factory=dict, compare=False)
    valid_until: date | None = None

    @property
    def version(self) -> str:
        """Changes when the item's content changes: the blacklist forgives a new version."""
        return self.media or hashlib.sha256(repr(sorted(self.doc.items())).encode()).hexdigest()[:16]

    def valid_on(self, day: date) -> bool:
        return self.valid_until is None or day <= self.valid_until


@dataclass(frozen=True)
class Playlist:
    id: str
    order: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Library:
    layout: Layout
    items: Mapping[str, Item]
    playlists: Mapping[str, Playlist]
    templates: Mapping[str, Mapping]
    schedule: Schedule
    versions: Mapping[str, int]
    missing: tuple[str, ...] = ()  # item ids whose media is not (yet) on disk and verified

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def empty(self) -> bool:
        return not self.items

    @property
    def version_key(self) -> tuple:
        return tuple(sorted(self.versions.items()))


class FileChecks:
    """sha256 of media files, each read once per (size, mtime): a 200 MB video is not re-hashed per bundle."""

    def __init__(self) -> None:
        self._ok: dict[Path, tuple[int, float]] = {}

    def verified(self, path: Path | None, sha256: str) -> bool:
        if path is None:
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        stamp = (st.st_size, st.st_mtime)
        if self._ok.get(path) == stamp:
            return True
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            return False
        self._ok[path] = stamp
        return True


def item_from_doc(doc: Mapping, path: Path | None) -> Item:
    """One content item as the player reads it; raises LibraryError naming the item."""
    kind = doc["kind"]
    if kind not in ITEM_KINDS:
        raise LibraryError(f"content item {doc['id']!r}: kind {kind!r} is not one of {', '.join(ITEM_KINDS)}")
    sha = doc.get("media")
    if kind in ("image", "video") and not sha:
        raise LibraryError(f"content item {doc['id']!r}: a {kind} needs 'media' (the file's sha256)")
    if kind == "product" and not (isinstance(doc.get("sku"), str) and doc["sku"]):
        raise LibraryError(f"content item {doc['id']!r}: a product poster needs 'sku' (the product it shows)")
    try:
        until = date.fromisoformat(doc["valid_until"]) if doc.get("valid_until") else None
    except ValueError:
        raise LibraryError(f"content item {doc['id']!r}: valid_until {doc['valid_until']!r} is not a date") from None
    return Item(doc["id"], kind, float(doc.get("duration_s") or DEFAULT_DURATION_S), sha, path, doc, until)


def playlist_from_doc(doc: Mapping) -> Playlist:
    try:
        slots = tuple(Slot.from_doc(s) for s in doc["items"])
    except (ValueError, TypeError) as exc:
        raise LibraryError(f"playlist {doc['id']!r}: {exc}") from None
    return Playlist(doc["id"], doc.get("order") or "sequential", slots)


def load_library(reader: CacheReader, *, timezone: str, orientation: str, layout_id: str = "",
                 checks: FileChecks | None = None) -> Library:
    checks = checks or FileChecks()
    try:
        layout = choose_layout(reader.layouts(), orientation, layout_id)
        schedule = Schedule.from_docs(reader.schedules(), timezone)
    except (LayoutError, ScheduleError) as exc:
        raise LibraryError(str(exc)) from None
    items: dict[str, Item] = {}
    missing: list[str] = []
    for doc in reader.content_items():
        sha = doc.get("media")
        item = item_from_doc(doc, reader.media_path(sha) if sha else None)
        if sha and not checks.verified(item.path, sha):
            missing.append(doc["id"])
        items[doc["id"]] = item
    playlists = {doc["id"]: playlist_from_doc(doc) for doc in reader.playlists()}
    for entry in schedule.entries:
        if entry.playlist not in playlists:
            raise LibraryError(f"schedule {entry.id!r}: playlist {entry.playlist!r} is not in the cache")
    templates = {t["id"]: t for t in reader.text_templates()}
    versions = {stream: s["version"] for stream, s in reader.sync_state().items()}
    return Library(layout, items, playlists, templates, schedule, versions, tuple(missing))
