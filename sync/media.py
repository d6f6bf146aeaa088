"""Content-addressed media: download with resume, retries and backoff; verify; atomic rename; collect.

Files live in ``media_dir/<sha256>``. A download grows in ``media_dir/.partial/<sha256>`` and
is renamed into place only after its size and sha256 match the manifest and the media check both ends run
(``sync.protocol.media_check``: the screens' own decoders) says a screen can show it, so a reader never sees half
a file or one it cannot decode, and a killed download resumes where it stopped. A file the check refuses is not
downloaded again (its sha256 names the same bytes for ever); the log says why.

With a budget (``[cache] media_budget_bytes``) the folder never grows past it: files no content
refers to any more are collected least recently used first (a file's mtime is its last use: the
last time content referred to it), before their grace period ends if room is needed. A file the
cache's content refers to, or one the screen says it is showing (``showing()``), is never
collected; when they alone fill the budget a new download is refused, and every file already
here stays.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

import requests

from .protocol.media_check import MediaRefused, check_media

log = logging.getLogger("store_edge.media")
CHUNK = 256 * 1024


class MediaError(RuntimeError):
    pass


class FileRefused(MediaError):
    """The file arrived whole, but a screen cannot show it; the message says why."""


class MediaFetcher:
    def __init__(self, media_dir: str | Path, *, retries: int = 5, backoff_s: float = 0.5,
                 timeout_s: float = 15.0, session: requests.Session | None = None, budget_bytes: int = 0):
        self.dir = Path(media_dir)
        self.partial = self.dir / ".partial"
        self.partial.mkdir(parents=True, exist_ok=True)
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        self._orphaned_since: dict[str, float] = {}
        self.budget_bytes = budget_bytes
        self.referenced: set[str] = set()  # what the cache's content refers to; set before ensure()
        self._on_screen: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self.refused: dict[str, str] = {}  # sha256 -> why a screen cannot show it

    def showing(self, sha256s: set[str]) -> None:
        """The screen's files right now (any thread): never collected, even past their grace period."""
        self._on_screen = frozenset(sha256s)

    def path(self, sha256: str) -> Path:
        return self.dir / sha256

    def ensure(self, sha256: str, url: str, size: int) -> Path:
        """Return the verified local file, downloading it first if needed. Raises MediaError."""
        final = self.path(sha256)
        if final.is_file():
            os.utime(final)  # in use again: the last to be collected
            return final
        if sha256 in self.refused:
            raise FileRefused(self.refused[sha256])
        self._make_room(size, keep=sha256)
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self._download(sha256, url, size)
                return final
            except FileRefused as exc:
                self.refused[sha256] = str(exc)
                raise
            except (requests.RequestException, OSError, MediaError) as exc:
                last = exc
                delay = self.backoff_s * (2**attempt)
                log.warning("media %s: attempt %d failed (%s); retrying in %.1fs", sha256[:12], attempt + 1, exc, delay)
                time.sleep(delay)
        raise MediaError(f"media {sha256[:12]} from {url}: gave up after {self.retries} attempts ({last})")

    def _download(self, sha256: str, url: str, size: int) -> None:
        part = self.partial / sha256
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        if have < size:
            headers = {"Range": f"bytes={have}-"} if have else {}
            with self.session.get(url, headers=headers, stream=True, timeout=self.timeout_s) as resp:
                if resp.status_code == 200 and have:
                    have = 0  # the server ignored the range; start over
                elif resp.status_code not in (200, 206):
                    raise MediaError(f"HTTP {resp.status_code}")
                with open(part, "ab" if have else "wb") as out:
                    for chunk in resp.iter_content(CHUNK):
                        out.write(chunk)
                        if out.tell() > size:
                            break
                    out.flush()
                    os.fsync(out.fileno())
        digest = hashlib.sha256()
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                digest.update(chunk)
        if part.stat().st_size != size or digest.hexdigest() != sha256:
            part.unlink()
            raise MediaError("size or sha256 does not match the manifest")
        try:
            check_media(part)
        except MediaRefused as exc:
            part.unlink()
            raise FileRefused(f"media {sha256[:12]} from {url}: a screen cannot show it: {exc}") from None
        os.replace(part, self.path(sha256))
        _fsync_dir(self.dir)

    def collect(self, wanted: set[str], *, grace_s: float = 3600.0, now: float | None = None) -> list[str]:
        """Delete files no content has referenced for ``grace_s``; the screen may still show one briefly.

        Over the budget, orphans in their grace period go too, least recently used first. ``now`` is
        ``time.monotonic()`` seconds: the grace period is an interval, never a date.
        """
        now = time.monotonic() if now is None else now
        self.referenced = set(wanted)
        removed = []
        for entry in self.partial.iterdir():
            if entry.name not in wanted:
                entry.unlink(missing_ok=True)  # a download nothing wants any more
        for entry in self.dir.iterdir():
            if not entry.is_file() or entry.name in wanted:
                self._orphaned_since.pop(entry.name, None)
                continue
            since = self._orphaned_since.setdefault(entry.name, now)
            if now - since >= grace_s and entry.name not in self._on_screen:
                entry.unlink(missing_ok=True)
                self._orphaned_since.pop(entry.name, None)
                removed.append(entry.name)
        try:
            removed += self._make_room(0)
        except MediaError as exc:  # the budget was lowered under content still in use: keep it all
            log.warning("%s", exc)
        return removed

    def _make_room(self, size: int, keep: str = "") -> list[str]:
        """Collect orphans, least recently used first, until ``size`` more bytes fit the budget.

        Raises MediaError, having deleted nothing it must keep, when they cannot.
        """
        if not self.budget_bytes:
            return []
        with self._lock:
            used = self.disk_bytes() - self._partial_bytes(keep)
            if used + size <= self.budget_bytes:
                return []
            protected = self.referenced | self._on_screen | {keep}
            orphans = sorted((e.stat().st_mtime, e.name, e.stat().st_size) for e in self.dir.iterdir()
                             if e.is_file() and e.name not in protected)
            removed = []
            for _, name, file_size in orphans:
                if used + size <= self.budget_bytes:
                    break
                self.path(name).unlink(missing_ok=True)
                self._orphaned_since.pop(name, None)
                used -= file_size
                removed.append(name)
            if removed:
                log.info("media budget: collected %d least recently used files no content uses", len(removed))
            if used + size > self.budget_bytes:
                raise MediaError(f"media budget full: {used} of {self.budget_bytes} bytes are in use by content; "
                                 f"{size} more do not fit")
            return removed

    def _partial_bytes(self, sha256: str) -> int:
        part = self.partial / sha256
        return part.stat().st_size if sha256 and part.is_file() else 0

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
