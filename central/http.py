"""Serves bundle bodies and media files from ``http_dir`` over HTTP, with byte ranges for resumed downloads.

A small threaded stdlib server: enough for a chain whose devices fetch each file once (files are
named by sha256 and never change). Any static server or CDN over the same folder does as well.
"""

from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sync.clock import Clock

_RANGE_RE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, clock: Clock, **kwargs):
        self.clock = clock  # before the base class, which handles the request inside __init__
        super().__init__(*args, **kwargs)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, from the service's clock."""
        return super().date_time_string(self.clock.time() if timestamp is None else timestamp)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        match = _RANGE_RE.match(self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().do_GET()
        size = path.stat().st_size
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return
        with path.open("rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        pass


class FileServer:
    def __init__(self, folder: str | Path, host: str = "127.0.0.1", port: int = 0, *, clock: Clock):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Handler, directory=str(self.folder), clock=clock)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="central-http", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> FileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
