"""Content-addressed media: download with resume, retries and backoff; verify; atomic rename; collect.

Files live in ``media_dir/<sha256>``. A download grows in ``media_dir/.partial/<sha256>`` and
is renamed into place only after its size and sha256 match the manifest, so a reader never
sees half a file and a killed download resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import requests

log = logging.getLogger("store_edge.media")
CHUNK = 256 * 1024


class MediaError(RuntimeError):
    pass


class MediaFetcher:
    def __init__(self, media_dir: str | Path, *, retries: int = 5, backoff_s: float = 0.5,
                 timeout_s: float = 15.0, session: requests.Session | None = None):
        self.dir = Path(media_dir)
        self.partial = self.dir / ".partial"
        self.partial.mkdir(parents=True, exist_ok=True)
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        self._orphaned_since: dict[str, float] = {}

    def path(self, sha256: str) -> Path:
        return self.dir / sha256

    def ensure(self, sha256: str, url: str, size: int) -> Path:
        """Return the verified local file, downloading it first if needed. Raises MediaError."""
        final = self.path(sha256)
        if final.is_file():
            return final
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self._download(sha256, url, size)
                return final
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
        os.replace(part, self.path(sha256))
        _fsync_dir(self.dir)

    def collect(self, wanted: set[str], *, grace_s: float = 3600.0, now: float | None = None) -> list[str]:
        """Delete files no content has referenced for ``grace_s``; the screen may still show one briefly."""
        now = time.monotonic() if now is None else now
        removed = []
        for entry in self.partial.iterdir():
            if entry.name not in wanted:
                entry.unlink(missing_ok=True)  # a download nothing wants any more
        for entry in self.dir.iterdir():
            if not entry.is_file() or entry.name in wanted:
                self._orphaned_since.pop(entry.name, None)
                continue
            since = self._orphaned_since.setdefault(entry.name, now)
            if now - since >= grace_s:
                entry.unlink(missing_ok=True)
                self._orphaned_since.pop(entry.name, None)
                removed.append(entry.name)
        return removed

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
