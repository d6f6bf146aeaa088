"""Head office's media library: the pictures and videos in ``content_dir/media/``, what each is (the devices' own
media check, ``sync.protocol.media_check``), where each is used, and taking in and removing files safely.

A content item's ``media`` or a product's ``image`` names a file here (or its sha256); an offer shows its product's
picture, so an offer, live or draft, uses the file its product names. A file is used while anything names it.

An upload is copied to a staging folder beside ``media/`` (``.media-uploads/``, never listed or published) with a
size limit, checked there, and renamed into ``media/`` only when a screen can show it. Its name is made safe (a
plain file name of letters, digits, ``.``, ``-`` and ``_``; a name that tries to reach another folder is refused),
its extension must say what the file is, and a file already there with other bytes is replaced only when asked
(a used one says where it is used). A used file cannot be deleted.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sync.protocol.content import SHA_FIELDS
from sync.protocol.media_check import MediaInfo, MediaRefused, check_media

from . import offer_drafts, signage_drafts
from .content_files import section_items
from .db import Database

EXTENSIONS = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), "image/webp": (".webp",),
              "video/mp4": (".mp4", ".m4v"), "video/webm": (".webm",)}
NOUNS = {"content_items": "content item", "products": "product"}
MAX_NAME = 100
CHUNK = 1 << 20
STAGING = ".media-uploads"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_lock = threading.Lock()


class UploadRefused(ValueError):
    """The upload is not taken, or the file not deleted; the message says why and what to do."""


class FileInUse(UploadRefused):
    """The file is used; ``uses`` says where."""

    def __init__(self, message: str, uses: list[Use]):
        super().__init__(message)
        self.uses = uses


@dataclass(frozen=True)
class Use:
    scope: str
    what: str  # content item, product, offer, offer draft
    id: str
    via: str = ""  # an offer's product

    def __str__(self) -> str:
        return f"{self.what} {self.id} ({self.scope}{f', picture of product {self.via}' if self.via else ''})"


@dataclass(frozen=True)
class Checked:
    info: MediaInfo | None
    refused: str  # why a screen cannot show it ("" when it can)
    poster: bytes  # a JPEG at most 320 px a side ("" when it could not be made)


@dataclass(frozen=True)
class MediaFile:
    name: str
    size: int
    sha256: str
    checked: Checked
    uses: list[Use] = field(default_factory=list)
    replaced: bool = False  # an upload's answer: it took the place of other bytes under the same name


class Checks:
    """The media check's answer per sha256, kept: a file's bytes never change under its sha256, so each is checked
    (in a child process) once per console."""

    def __init__(self, limit: int = 2000) -> None:
        self._by_sha: OrderedDict[str, Checked] = OrderedDict()
        self._sha_of: dict[tuple[str, int, int], str] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in self._sha_of:
            if len(self._sha_of) >= self._limit:
                self._sha_of.clear()  # files replaced many times over: hash again rather than grow
            self._sha_of[key] = file_sha256(path)
        return self._sha_of[key]

    def get(self, path: Path, sha256: str) -> Checked:
        with self._lock:
            if sha256 in self._by_sha:
                self._by_sha.move_to_end(sha256)
                return self._by_sha[sha256]
        checked = check(path)
        self.put(sha256, checked)
        return checked

    def put(self, sha256: str, checked: Checked) -> None:
        with self._lock:
            self._by_sha[sha256] = checked
            while len(self._by_sha) > self._limit:
                self._by_sha.popitem(last=False)


def check(path: Path) -> Checked:
    """The devices' media check on ``path``, with a poster."""
    with tempfile.TemporaryDirectory(prefix="media-poster-") as tmp:
        poster = Path(tmp) / "poster.jpg"
        try:
            info = check_media(path, poster=poster)
        except MediaRefused as exc:
            return Checked(None, str(exc), b"")
        return Checked(info, "", poster.read_bytes() if poster.is_file() else b"")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def media_dir(root: Path) -> Path:
    return root / "media"


def list_media(root: Path, db: Database, checks: Checks) -> list[MediaFile]:
    """Every file in ``media/`` by name, with its check and where it is used (ContentProblem when head office's
    files cannot be read)."""
    folder = media_dir(root)
    paths = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: (p.name.lower(), p.name)) \
        if folder.is_dir() else []
    uses = usage(root, db)
    out = []
    for path in paths:
        sha = checks.sha256(path)
        out.append(MediaFile(path.name, path.stat().st_size, sha, checks.get(path, sha),
                             uses.get(path.name, []) + uses.get(sha, [])))
    return out


def usage(root: Path, db: Database) -> dict[str, list[Use]]:
    """What names each file (by its name or sha256): content items (live and draft) and products in every scope, and
    the offers, live and draft, that show a product's picture."""
    uses: dict[str, list[Use]] = {}
    pictures: dict[str, str] = {}  # sku -> the file its product names
    for section, fields in SHA_FIELDS.items():
        if section == "media" or not fields:
            continue
        for scope, items in section_items(root, section).items():
            for item, _, _ in items:
                for f in fields:
                    ref = item.get(f)
                    if isinstance(ref, str) and ref:
                        key = item.get("id") or item.get("sku") or "?"
                        uses.setdefault(ref, []).append(Use(scope, NOUNS.get(section, section), str(key)))
                        if section == "products":
                            pictures[str(item.get("sku"))] = ref
    for d in signage_drafts.drafts(db).values():  # a content item saved in the console names its file by name
        if d.section == "content_items" and isinstance(d.body.get("media"), str) and d.body["media"]:
            uses.setdefault(d.body["media"], []).append(Use(d.scope, "content item draft", d.item_id))
    offers = [(scope, item, "offer") for scope, items in section_items(root, "offers").items() for item, _, _ in items]
    offers += [(d.scope, d.body, "offer draft") for d in offer_drafts.drafts(db).values()]
    for scope, offer, what in offers:
        sku = str(offer.get("sku") or "")
        if sku in pictures:
            uses.setdefault(pictures[sku], []).append(Use(scope, what, str(offer.get("id", "?")), via=sku))
    return uses


def safe_name(filename: str) -> str:
    """The name the file is kept under; UploadRefused for a name that tries to reach another folder."""
    name = unicodedata.normalize("NFKC", filename or "").strip()
    if not name:
        raise UploadRefused("The file has no name. Choose a file to upload.")
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name or any(ord(c) < 32 for c in name):
        raise UploadRefused(f"The file name {filename[:80]!r} is not a plain file name (no folders, no '..', not"
                            " starting with '.'). Rename the file and upload it again.")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        raise UploadRefused(f"The file name {name[:80]!r} has no extension (like .jpg or .mp4).")
    stem = _SAFE.sub("-", stem).strip("-_.") or "file"
    ext = ext.lower()
    return f"{stem[:MAX_NAME - len(ext) - 1]}.{ext}"


def store_upload(root: Path, source: BinaryIO, filename: str, db: Database, checks: Checks, *, max_bytes: int,
                 replace: bool = False) -> MediaFile:
    """Take an upload into ``media/``: copied with the size limit, checked with the devices' own check, renamed into
    place. UploadRefused (or FileInUse when it would replace a used file without ``replace``) says why not."""
    name = safe_name(filename)
    staging = root / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=staging, prefix="upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size = hashlib.sha256(), 0
            for chunk in iter(lambda: source.read(CHUNK), b""):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(f"The file is bigger than {_megabytes(max_bytes)}, the most the library takes."
                                        " Make it smaller and upload it again.")
                digest.update(chunk)
                out.write(chunk)
        if not size:
            raise UploadRefused("The file is empty.")
        checked = check(tmp)
        if checked.info is None:
            raise UploadRefused(checked.refused)
        if not name.lower().endswith(EXTENSIONS[checked.info.mime]):
            raise UploadRefused(f"The file is a {checked.info.format} but its name ends in"
                                f" .{name.rpartition('.')[2]}; name it {name.rpartition('.')[0]}"
                                f"{EXTENSIONS[checked.info.mime][0]} and upload it again.")
        sha = digest.hexdigest()
        checks.put(sha, checked)
        with _lock:
            target = media_dir(root) / name
            replaced = target.exists() and file_sha256(target) != sha
            if replaced and not replace:
                uses = usage(root, db).get(name, [])
                where = f" It is used by {', '.join(map(str, uses))}." if uses else ""
                words = (f"There is already a different {name} in the library.{where} Tick 'Replace the file of the"
                         " same name' to put the new one in its place.")
                raise FileInUse(words, uses) if uses else UploadRefused(words)
            media_dir(root).mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        uses = usage(root, db)
        return MediaFile(name, size, sha, checked, uses.get(name, []) + uses.get(sha, []), replaced)
    finally:
        tmp.unlink(missing_ok=True)


def delete(root: Path, db: Database, name: str) -> None:
    """Remove an unused file; FileInUse says where a used one is used, UploadRefused names an unknown one."""
    target = media_dir(root) / name
    if name != Path(name).name or name.startswith(".") or not target.is_file():
        raise UploadRefused(f"There is no file {name[:80]!r} in the library.")
    with _lock:
        uses = usage(root, db)
        found = uses.get(name, []) + uses.get(file_sha256(target), [])
        if found:
            raise FileInUse(f"{name} is used by {', '.join(map(str, found))}; it stays. Take it out of those"
                            " first.", found)
        target.unlink()


def _megabytes(n: int) -> str:
    return f"{n / 1e6:g} MB"

