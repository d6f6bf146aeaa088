"""Media downloads against a real local HTTP server: verify, rename into place, resume, retry, collect."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from sync.media import FileRefused, MediaError, MediaFetcher


@dataclass
class Served:
    body: bytes
    fail_first: int = 0          # answer HTTP 500 to this many requests first
    status: int | None = None    # always answer with this status
    ignore_range: bool = False   # answer 200 with the whole body even when asked for a range


@dataclass
class FileServer:
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[str | None]:
        return [rng for p, rng in self.requests if p == path]


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            served = state.files.get(self.path)
            if served is None:
                return self._send(404, b"not found")
            if served.status is not None:
                return self._send(served.status, b"no")
            if served.fail_first > 0:
                served.fail_first -= 1
                return self._send(500, b"try again")
            body = served.body
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
            if m and not served.ignore_range:
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(body) - 1
                if start >= len(body):
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return self._send(206, body[start:end + 1], {"Content-Range": f"bytes {start}-{end}/{len(body)}"})
            self._send(200, body)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[FileServer]:
    state = FileServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def fetcher(tmp_path: Path) -> MediaFetcher:
    return MediaFetcher(tmp_path / "media", retries=3, backoff_s=0.001, timeout_s=5)


def blob(n: int = 300_000) -> tuple[bytes, str]:
    """``n`` bytes a screen shows: a one-pixel PNG, and noise after its end (which decoders ignore) to the size."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 120, 40)).save(out, "PNG")
    data = out.getvalue() + os.urandom(n - len(out.getvalue()))
    return data, hashlib.sha256(data).hexdigest()


def test_ensure_downloads_verifies_and_lands_in_place(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob()
    server.files["/m/a.jpg"] = Served(data)
    path = fetcher.ensure(sha, server.url("/m/a.jpg"), len(data))
    assert path == fetcher.dir / sha == fetcher.path(sha)
    assert path.read_bytes() == data
    assert not (fetcher.partial / sha).exists()
    assert server.hits("/m/a.jpg") == [None]  # one whole-file request, no range
    # already here: no second download
    assert fetcher.ensure(sha, server.url("/m/a.jpg"), len(data)) == path
    assert len(server.hits("/m/a.jpg")) == 1
    assert fetcher.disk_bytes() == len(data)


def test_sha_mismatch_never_lands_and_gives_up(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob(50_000)
    server.files["/bad"] = Served(b"X" + data[1:])  # same size, different bytes
    with pytest.raises(MediaError) as info:
        fetcher.ensure(sha, server.url("/bad"), len(data))
    assert "gave up after 3 attempts" in str(info.value)
    assert "size or sha256 does not match" in str(info.value)
    assert len(server.hits("/bad")) == 3
    assert not fetcher.path(sha).exists()
    assert not (fetcher.partial / sha).exists()
    assert [p.name for p in fetcher.dir.iterdir()] == [".partial"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(2000), "This file is a HEIC photo"),
    (b"<?php system($_GET['c']); ?>" * 100, "The file is not a picture or a video: it could not be decoded."),
    (b"\xff\xd8\xff\xe0" + bytes(3000), "The picture is damaged or cut short")])
def test_a_file_head_office_signed_but_no_screen_can_show_never_lands(server: FileServer, fetcher: MediaFetcher,
                                                                     data: bytes, reason: str):
    """Its sha256 matches the manifest (head office sent exactly these bytes), yet the device's own media check
    refuses it: it does not land, the reason is given, and it is not downloaded again."""
    sha = hashlib.sha256(data).hexdigest()
    server.files["/odd"] = Served(data)
    for _ in range(2):
        with pytest.raises(FileRefused, match=f"a screen cannot show it: {re.escape(reason)}"):
            fetcher.ensure(sha, server.url("/odd"), len(data))
    assert len(server.hits("/odd")) == 1
    assert [p.name for p in fetcher.dir.iterdir()] == [".partial"] and not (fetcher.partial / sha).exists()


def test_oversized_download_never_lands(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob(50_000)
    server.files["/long"] = Served(data + os.urandom(600_000))
    with pytest.raises(MediaError):
        fetcher.ensure(sha, server.url("/long"), len(data))
    assert not fetcher.path(sha).exists()
    assert not (fetcher.partial / sha).exists()


def test_http_errors_are_retried_then_reported(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob(1000)
    with pytest.raises(MediaError, match=r"HTTP 404"):
        fetcher.ensure(sha, server.url("/missing"), len(data))
    assert len(server.hits("/missing")) == 3
    assert not fetcher.path(sha).exists()


def test_server_errors_twice_then_succeeds(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob()
    server.files["/flaky"] = Served(data, fail_first=2)
    path = fetcher.ensure(sha, server.url("/flaky"), len(data))
    assert path.read_bytes() == data
    assert len(server.hits("/flaky")) == 3


def test_resume_asks_for_the_rest_and_renames_the_partial(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob()
    half = len(data) // 2
    part = fetcher.partial / sha
    part.write_bytes(data[:half])
    inode = part.stat().st_ino
    server.files["/big"] = Served(data)

    path = fetcher.ensure(sha, server.url("/big"), len(data))
    assert server.hits("/big") == [f"bytes={half}-"]
    assert path.read_bytes() == data
    assert not part.exists()
    assert path.stat().st_ino == inode  # the partial file itself was renamed into place


def test_server_ignoring_range_restarts_from_zero(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob()
    (fetcher.partial / sha).write_bytes(data[:1000])
    server.files["/norange"] = Served(data, ignore_range=True)
    path = fetcher.ensure(sha, server.url("/norange"), len(data))
    assert server.hits("/norange") == ["bytes=1000-"]
    assert path.read_bytes() == data


def test_corrupt_partial_is_discarded_and_refetched(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob()
    (fetcher.partial / sha).write_bytes(b"\0" * 1000)  # not the first bytes of the file
    server.files["/c"] = Served(data)
    path = fetcher.ensure(sha, server.url("/c"), len(data))
    assert server.hits("/c") == ["bytes=1000-", None]
    assert path.read_bytes() == data


def test_complete_partial_needs_no_request(server: FileServer, fetcher: MediaFetcher):
    data, sha = blob(10_000)
    (fetcher.partial / sha).write_bytes(data)
    path = fetcher.ensure(sha, server.url("/unused"), len(data))
    assert path.read_bytes() == data
    assert server.requests == []


def _make(fetcher: MediaFetcher, *names: str) -> None:
    for name in names:
        (fetcher.dir / name).write_bytes(name.encode())


def test_collect_removes_unreferenced_files(fetcher: MediaFetcher):
    a, b, c, d = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
    _make(fetcher, a, b, c, d)
    removed = fetcher.collect({a, b}, grace_s=0)
    assert sorted(removed) == [c, d]
    assert sorted(p.name for p in fetcher.dir.iterdir()) == [".partial", a, b]
    assert fetcher.collect({a, b}, grace_s=0) == []


def test_collect_keeps_an_orphan_through_its_grace(fetcher: MediaFetcher):
    a, c = "a" * 64, "c" * 64
    _make(fetcher, a, c)
    assert fetcher.collect({a}, grace_s=10, now=100.0) == []   # orphaned from now on
    assert fetcher.collect({a}, grace_s=10, now=109.9) == []
    assert fetcher.path(c).exists()
    # referenced again: the clock starts over when it is next orphaned
    assert fetcher.collect({a, c}, grace_s=10, now=109.95) == []
    assert fetcher.collect({a}, grace_s=10, now=115.0) == []
    assert fetcher.collect({a}, grace_s=10, now=124.0) == []
    assert fetcher.collect({a}, grace_s=10, now=125.0) == [c]
    assert not fetcher.path(c).exists() and fetcher.path(a).exists()


def test_collect_drops_partial_downloads_nothing_wants(tmp_path):
    fetcher = MediaFetcher(tmp_path / "media")
    wanted, abandoned = "a" * 64, "b" * 64
    (fetcher.partial / wanted).write_bytes(b"half")
    (fetcher.partial / abandoned).write_bytes(b"half")
    fetcher.collect({wanted}, grace_s=0)
    assert (fetcher.partial / wanted).exists()
    assert not (fetcher.partial / abandoned).exists()


def _aged(fetcher: MediaFetcher, name: str, size: int, last_use: float) -> None:
    fetcher.path(name).write_bytes(b"x" * size)
    os.utime(fetcher.path(name), (last_use, last_use))


def test_over_budget_the_least_recently_used_orphans_go_first(tmp_path):
    fetcher = MediaFetcher(tmp_path / "media", budget_bytes=10_000)
    on_screen, in_cache, old, older, newest = ("a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64)
    _aged(fetcher, in_cache, 4000, 100)   # the oldest of all, but the cache's content refers to it
    _aged(fetcher, on_screen, 3000, 150)  # an orphan the screen is still showing
    _aged(fetcher, older, 3000, 200)
    _aged(fetcher, old, 3000, 300)
    _aged(fetcher, newest, 3000, 400)
    fetcher.showing({on_screen})
    # 16,000 bytes on disk; within their grace period, but the budget says 10,000.
    removed = fetcher.collect({in_cache}, grace_s=3600)
    assert removed == [older, old]  # least recently used first, and only as many as needed
    assert sorted(p.name for p in fetcher.dir.iterdir() if p.is_file()) == sorted([in_cache, on_screen, newest])
    assert fetcher.disk_bytes() <= 10_000


def test_a_download_that_cannot_fit_is_refused_and_nothing_in_use_is_lost(server: FileServer, tmp_path):
    fetcher = MediaFetcher(tmp_path / "media", retries=1, backoff_s=0.001, budget_bytes=500_000)
    kept, kept_sha = blob(300_000)
    server.files["/kept"] = Served(kept)
    fetcher.referenced = {kept_sha}
    fetcher.ensure(kept_sha, server.url("/kept"), len(kept))
    big, big_sha = blob(300_000)
    server.files["/big"] = Served(big)
    fetcher.referenced = {kept_sha, big_sha}
    with pytest.raises(MediaError, match="media budget full: 300000 of 500000 bytes"):
        fetcher.ensure(big_sha, server.url("/big"), len(big))
    assert server.hits("/big") == []  # refused before a byte was fetched
    assert fetcher.path(kept_sha).read_bytes() == kept
    # Once the old content is dropped, it is collected to make room for the new.
    fetcher.referenced = {big_sha}
    assert fetcher.ensure(big_sha, server.url("/big"), len(big)).read_bytes() == big
    assert not fetcher.path(kept_sha).exists()


FULL_DISK = """
import resource, sys
from sync.media import FileRefused, MediaError, MediaFetcher
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # a disk with 200 kB left for one file
fetcher = MediaFetcher(sys.argv[1], retries=2, backoff_s=0.001)
try:
    fetcher.ensure(sys.argv[2], sys.argv[3], int(sys.argv[4]))
except MediaError as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_full_disk_fails_the_download_and_keeps_every_earlier_file(server: FileServer, fetcher: MediaFetcher):
    earlier, earlier_sha = blob(100_000)
    server.files["/earlier"] = Served(earlier)
    fetcher.ensure(earlier_sha, server.url("/earlier"), len(earlier))
    big, big_sha = blob(300_000)
    server.files["/big"] = Served(big)
    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(fetcher.dir), big_sha, server.url("/big"),
                             str(len(big))], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "gave up after 2 attempts" in result.stdout and "File too large" in result.stdout
    assert not fetcher.path(big_sha).exists()
    assert fetcher.path(earlier_sha).read_bytes() == earlier
    # With room again, the download resumes from what the full disk let it write.
    assert fetcher.ensure(big_sha, server.url("/big"), len(big)).read_bytes() == big
    assert server.hits("/big")[-1] == "bytes=200000-"
